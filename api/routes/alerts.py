"""Alerts: a live stream of the decisions routed to one user (enhanced inbound).

Each alert is a server-sent event whose `id` is the ledger position at which
the decision was recorded, so a client that reconnects with `Last-Event-ID` is
sent, from the ledger, every alert it missed. It is not the decision's own
`position`, the one it was decided at: decisions decided together share that
one, and one decided earlier may be recorded later, so as a place in the
stream it would skip alerts.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from smsledger.api.deps import Credentials, CurrentAccount, LedgerDep, bearer
from smsledger.api.errors import documented
from smsledger.api.metrics import ALERT_STREAMS
from smsledger.api.ratelimit import get_limits
from smsledger.api.schemas.decisions import Decision
from smsledger.api.schemas.fields import Id
from smsledger.domain.errors import Conflict
from smsledger.ledger.application import AccountContext, Ledger

router = APIRouter(prefix="/v1/users", tags=["alerts"])
UserId = Annotated[Id, Path(openapi_examples={"ann": {"value": "u-ann"}})]

PAGE = 100
# Positions are 64-bit on every backend; a larger one is no position at all.
POSITION_MAX = 2**63 - 1
# Alerts routed by this process wake the stream at once; those routed by
# another process are found by looking again this often.
POLL_SECONDS = 1.0
# A comment line now and then keeps proxies from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0

STREAM_DOC = {
    "description": (
        "Server-sent events: each alert is `event: alert`, `id:` the ledger "
        "position at which the decision was recorded (later than its `position`, "
        "the one it was decided at), `data:` the decision as JSON."
    ),
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


@router.get(
    "/{user_id}/alerts",
    response_class=StreamingResponse,
    responses={200: STREAM_DOC, **documented(401, 404, 409, 422, 429)},
)
def stream_alerts(
    user_id: UserId,
    ctx: CurrentAccount,
    ledger: LedgerDep,
    request: Request,
    credentials: Annotated[Credentials, Depends(bearer)],
    last_event_id: Annotated[
        int | None,
        Header(
            alias="Last-Event-ID",
            ge=0,
            le=POSITION_MAX,
            description="Resume after this alert: the ones missed are sent first.",
        ),
    ] = None,
    max_events: Annotated[
        int | None, Query(ge=1, description="End the stream after this many alerts.")
    ] = None,
    timeout: Annotated[
        float | None,
        Query(gt=0, le=86400, description="End the stream after this many seconds."),
    ] = None,
) -> StreamingResponse:
    """Stream the decisions routed to this user, as server-sent events.
    Needs enhanced inbound on the account (409 otherwise). The streams open
    at once are capped per API key and per user (429 beyond)."""
    ledger.get_user(ctx, user_id)
    if not ctx.enhanced_inbound:
        raise Conflict(
            "Alerts need enhanced inbound: enable it with PATCH /v1/account."
        )
    # Fixed before the response starts: once a client has the headers, no
    # alert routed afterwards can be missed.
    after = ledger.head() if last_event_id is None else last_event_id
    assert credentials is not None  # CurrentAccount has checked the key
    close = get_limits(request).open_stream(
        credentials.credentials, (ctx.account_id, user_id)
    )
    events = alert_events(ledger, ctx, user_id, after, max_events, timeout)
    return Stream(
        events,
        on_close=close,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class Stream(StreamingResponse):
    """A stream that says when it ends, however it ends (even before it began)."""

    def __init__(
        self, content: Any, on_close: Callable[[], None], **kwargs: Any
    ) -> None:
        super().__init__(content, **kwargs)
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


async def alert_events(
    ledger: Ledger,
    ctx: AccountContext,
    user_id: str,
    after: int,
    max_events: int | None,
    timeout: float | None,
    render: Callable[[int, dict[str, Any]], str] | None = None,
) -> AsyncIterator[str]:
    """A user's alerts after `after`, as server-sent events, woken at once by
    a decision or hand-off made in this process; `render` makes each event
    (the inbox's pages render their own)."""
    render = render or _event
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def routed() -> None:
        with suppress(RuntimeError):  # the stream's loop may have closed
            loop.call_soon_threadsafe(wake.set)

    ledger.on_routed.append(routed)
    ALERT_STREAMS.inc()
    ends = loop.time() + timeout if timeout else math.inf
    quiet_since = loop.time()
    sent = 0
    try:
        yield f": alerts for {user_id} after {after}\n\n"
        while True:
            wake.clear()
            found = await run_in_threadpool(ledger.alerts, ctx, user_id, after, PAGE)
            for position, decision in found:
                yield render(position, decision)
                after, sent = position, sent + 1
                if max_events is not None and sent >= max_events:
                    return
            now = loop.time()
            if found:
                quiet_since = now
                if len(found) == PAGE:
                    continue
            if now >= ends:
                return
            if now - quiet_since >= KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                quiet_since = now
            with suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(POLL_SECONDS, ends - now))
    finally:
        ALERT_STREAMS.dec()
        ledger.on_routed.remove(routed)


def _event(position: int, document: dict[str, Any]) -> str:
    decision = Decision.model_validate(document).model_dump(mode="json", by_alias=True)
    return f"id: {position}\nevent: alert\ndata: {json.dumps(decision)}\n\n"
