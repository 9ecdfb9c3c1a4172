"""The inbox's pops: the signed-in user's alerts as server-sent events.

The same alerts as `GET /v1/users/{id}/alerts` (enhanced inbound), read with
the web session instead of an API key, and said as the page shows them: who
texted, what, and who handed it over. Each event's `id` is the alert's ledger
position, so the browser's own reconnect (it sends `Last-Event-ID`) is sent
every alert it missed; a page that opens the stream says with `after` where
it was rendered, so nothing routed while it loaded is lost either.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse

from smsledger.api.metrics import ALERT_STREAMS
from smsledger.api.ratelimit import get_limits
from smsledger.api.routes.alerts import KEEPALIVE_SECONDS, PAGE, POLL_SECONDS, Stream
from smsledger.api.web import words
from smsledger.api.web.pages import InboxUser, Member, WebRoute, ledger_of, render
from smsledger.api.web.words import segment
from smsledger.ledger import browse
from smsledger.ledger.application import Ledger

router = APIRouter(route_class=WebRoute, include_in_schema=False)
POSITION_MAX = 2**63 - 1


@router.get("/inbox/alerts", response_model=None)
def alerts(request: Request, who: InboxUser) -> StreamingResponse | HTMLResponse:
    if not who.ctx.enhanced_inbound:
        return render(
            request,
            "error.html",
            who,
            409,
            title="No live inbox",
            detail="Your team has not turned on enhanced inbound: texts come by mail.",
        )
    ledger = ledger_of(request)
    after = _position(request.headers.get("Last-Event-ID"))
    if after is None:
        after = _position(request.query_params.get("after"))
    if after is None:
        after = ledger.head()
    # Counted with the API's streams of this user: one cap for both.
    close = get_limits(request).open_stream(
        f"session:{who.ctx.account_id}", (who.ctx.account_id, who.user_id)
    )
    return Stream(
        _events(ledger, who, after),
        on_close=close,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _position(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit():
        return None
    found = int(raw)
    return found if found <= POSITION_MAX else None


async def _events(ledger: Ledger, who: Member, after: int) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def routed() -> None:
        with suppress(RuntimeError):  # the stream's loop may have closed
            loop.call_soon_threadsafe(wake.set)

    ledger.on_routed.append(routed)
    ALERT_STREAMS.inc()
    quiet_since = loop.time()
    try:
        # Tells the browser how soon to come back after a dropped connection.
        yield "retry: 1000\n\n"
        while True:
            wake.clear()
            found = await run_in_threadpool(
                ledger.alerts, who.ctx, who.user_id, after, PAGE
            )
            if found:
                pops = await run_in_threadpool(_pops, ledger, who, found)
                for position, pop in pops:
                    yield f"id: {position}\nevent: pop\ndata: {json.dumps(pop)}\n\n"
                    after = position
                quiet_since = loop.time()
                if len(found) == PAGE:
                    continue
            elif loop.time() - quiet_since >= KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                quiet_since = loop.time()
            with suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), POLL_SECONDS)
    finally:
        ALERT_STREAMS.dec()
        ledger.on_routed.remove(routed)


def _pops(
    ledger: Ledger, who: Member, found: list[tuple[int, dict[str, Any]]]
) -> list[tuple[int, dict[str, Any]]]:
    """Each alert as the page pops it: names, not ids."""
    user_ids = {h.get("by_user_id") or "" for _, d in found for h in _handoffs(d)}
    contact_ids = {c for _, d in found for c in d.get("contact_ids") or []}
    users, contacts = browse.names(ledger, who.ctx, user_ids - {""}, contact_ids)
    pops = []
    for position, d in found:
        ids = d.get("contact_ids") or []
        handoff = _handoff_of(d, position, who.user_id)
        by = (handoff or {}).get("by_user_id")
        pops.append(
            (
                position,
                {
                    "message_id": d["message_id"],
                    "url": "/inbox/" + segment(d["message_id"]),
                    "sender": " / ".join(contacts.get(c, c) for c in ids)
                    or words.phone(d.get("from")),
                    "body": words.snippet(d.get("body"), 140),
                    "received_at": d.get("received_at"),
                    "handed_by": users.get(by, by) if by else None,
                    "note": (handoff or {}).get("note") or None,
                },
            )
        )
    return pops


def _handoffs(decision: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = decision.get("handoffs") or []
    return found


def _handoff_of(
    decision: dict[str, Any], position: int, user_id: str
) -> dict[str, Any] | None:
    """The hand-off that made this alert: the one recorded at its position,
    else the last one, if it was to this user; None for a routed message."""
    handoffs = _handoffs(decision)
    for handoff in handoffs:
        if handoff.get("position") == position:
            return handoff
    if handoffs and handoffs[-1].get("to_user_id") == user_id:
        return handoffs[-1]
    return None
