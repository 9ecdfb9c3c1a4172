"""The console's messages: the list of decisions with its filters, one
decision with its evidence and mail, and its replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from smsledger.api import cursor
from smsledger.api.web import words
from smsledger.api.web.pages import (
    SignedIn,
    Visitor,
    WebRoute,
    day_start,
    ledger_of,
    render,
)
from smsledger.ledger import browse
from smsledger.ledger.application import Ledger

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = 50
FILTERS = ("rule", "recipient", "status", "delivery", "sender", "since", "until")


@router.get("/decisions")
def decisions(request: Request, who: SignedIn) -> HTMLResponse:
    ledger = ledger_of(request)
    f = {key: request.query_params.get(key, "").strip() for key in (*FILTERS, "tz")}
    raw_cursor = request.query_params.get("cursor") or None
    before = cursor.decode(raw_cursor) if raw_cursor else None
    only = browse.decision_filter(
        who.ctx,
        **{k: f[k] or None for k in ("rule", "recipient", "status", "delivery")},
        sender=f["sender"] or None,
        since=day_start(f["since"], f["tz"], "since"),
        until=day_start(f["until"], f["tz"], "until", next_day=True),
    )
    page = browse.messages_page(ledger, who.ctx, only, before, PAGE)
    items, team, numbers = page.decisions, page.users, page.numbers
    last = items[-1] if len(items) == PAGE else None
    users, contacts = _names(ledger, who, items)
    setup = {"numbers": bool(numbers), "users": bool(team)}
    public = request.app.state.settings.public_base_url
    base = (public or str(request.base_url)).rstrip("/")
    return render(
        request,
        "decisions.html",
        who,
        title="Messages",
        items=items,
        users=users,
        contacts=contacts,
        f=f,
        params={k: v for k, v in f.items() if v},
        filtered=sum(1 for k in FILTERS if f[k]),
        cursor=raw_cursor,
        next_cursor=cursor.encode(last["position"], last["message_id"])
        if last
        else None,
        recipients=_recipients(team, numbers),
        failed_mails=page.failed_mails,
        held=sum(1 for d in items if d["status"] == "held"),
        setup=setup,
        webhook_url=f"{base}/v1/webhooks/twilio/sms",
        **_namers(users, contacts),
    )


@router.get("/decisions/{message_id}")
def decision(message_id: str, request: Request, who: SignedIn) -> HTMLResponse:
    return _decision_page(request, who, message_id, replay=False)


@router.get("/decisions/{message_id}/replay")
def replay(message_id: str, request: Request, who: SignedIn) -> HTMLResponse:
    """Replay changes nothing, so it is a plain link: no form token needed."""
    return _decision_page(request, who, message_id, replay=True)


def _decision_page(
    request: Request, who: Visitor, message_id: str, replay: bool
) -> HTMLResponse:
    ledger = ledger_of(request)
    d = ledger.get_decision(who.ctx, message_id)
    result = ledger.replay_decision(who.ctx, message_id) if replay else None
    shown = [d, result["replayed"]] if result else [d]
    users, contacts = _names(ledger, who, shown)
    return render(
        request,
        "decision.html",
        who,
        title=f"Message {message_id}",
        d=d,
        users=users,
        contacts=contacts,
        tries=browse.delivery_history(ledger, who.ctx, message_id),
        replay=_compared(result, users, contacts) if result else None,
        **_namers(users, contacts),
    )


COMPARED = (
    ("status", "Status"),
    ("rule", "Reason"),
    ("recipient", "Went to"),
    ("contact_ids", "Contacts"),
    ("evidence", "Evidence"),
    ("skipped", "Passed over"),
    ("policy", "Policy"),
)


def _compared(
    result: dict[str, Any], users: dict[str, str], contacts: dict[str, str]
) -> dict[str, Any]:
    recorded, replayed = result["recorded"], result["replayed"]
    rows = []
    for key, label in COMPARED:
        a, b = recorded.get(key), replayed.get(key)
        rows.append(
            {
                "label": label,
                "recorded": _shown(a),
                "replayed": _shown(b),
                "differs": a != b,
            }
        )
    return {
        "consistent": result["consistent"],
        "rows": rows,
        "explained": (
            words.explain(recorded, users, contacts),
            words.explain(replayed, users, contacts),
        ),
    }


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _names(
    ledger: Ledger, who: Visitor, decisions: list[dict[str, Any]]
) -> tuple[dict[str, str], dict[str, str]]:
    """Names of the users and contacts these decisions mention."""
    user_ids: set[str] = set()
    contact_ids: set[str] = set()
    for d in decisions:
        user_ids.update(
            u
            for u in (
                (d.get("recipient") or {}).get("user_id"),
                (d.get("evidence") or {}).get("user_id"),
                (d.get("evidence") or {}).get("owner_user_id"),
                (d.get("evidence") or {}).get("handed_off_by"),
            )
            if u
        )
        user_ids.update(s["user_id"] for s in d.get("skipped") or [])
        for h in d.get("handoffs") or []:
            user_ids.update(u for u in (h.get("to_user_id"), h.get("by_user_id")) if u)
        contact_ids.update(d.get("contact_ids") or [])
    return browse.names(ledger, who.ctx, user_ids, contact_ids)


def _recipients(
    team: list[dict[str, Any]], numbers: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Whom a message can go to: the team, then the numbers' backup emails."""
    found = [
        {"email": u["email"], "label": f"{u['name'] or u['user_id']} ({u['email']})"}
        for u in team
    ]
    for email in sorted({n["backup_email"] for n in numbers}):
        found.append({"email": email, "label": f"{email} (backup email)"})
    return found


def _namers(
    users: dict[str, str], contacts: dict[str, str]
) -> dict[str, Callable[[dict[str, Any]], str]]:
    def sender_name(d: dict[str, Any]) -> str:
        ids = d.get("contact_ids") or []
        if ids:
            return " / ".join(contacts.get(c, c) for c in ids)
        return words.phone(d.get("from"))

    def recipient_name(d: dict[str, Any]) -> str:
        recipient = d.get("recipient")
        if not recipient:
            return "Nobody yet (held)"
        user_id = recipient.get("user_id")
        return users.get(user_id, user_id) if user_id else str(recipient["email"])

    return {"sender_name": sender_name, "recipient_name": recipient_name}
