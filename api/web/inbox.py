"""The inbox: the texts that reached the signed-in user, one conversation,
handing a text to a colleague, and replying to it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from smsledger.api.web import words
from smsledger.api.web.pages import (
    Form,
    InboxUser,
    Member,
    WebRoute,
    check_csrf,
    ledger_of,
    render,
    see_other,
)
from smsledger.api.web.words import segment
from smsledger.domain.errors import InvalidInput
from smsledger.ledger import browse
from smsledger.ledger.application import Ledger

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = 50
# A hand-off note and a reply are short texts; a reply longer than this would
# be several SMS, which Twilio bills separately.
NOTE_MAX = 500
REPLY_MAX = 1600


@router.get("/inbox")
def inbox(request: Request, who: InboxUser) -> HTMLResponse:
    ledger = ledger_of(request)
    raw = request.query_params.get("before", "")
    before = int(raw) if raw.isdigit() else None
    head = ledger.head()
    page = ledger.inbox(who.ctx, who.user_id, before=before, limit=PAGE)
    return render(
        request,
        "inbox.html",
        who,
        title="Inbox",
        items=page.items,
        unread=page.unread,
        next_before=page.next_before,
        first_page=before is None,
        **_live(who, head),
    )


@router.get("/inbox/{message_id}")
def conversation(message_id: str, request: Request, who: InboxUser) -> HTMLResponse:
    return _conversation_page(request, who, message_id)


@router.get("/inbox/{message_id}/hand-off")
def hand_off_page(message_id: str, request: Request, who: InboxUser) -> HTMLResponse:
    """The hand-off dialog as a page of its own: what the button opens when
    the page's script does not run."""
    return _conversation_page(request, who, message_id, hand_off=True)


@router.post("/inbox/{message_id}/hand-off")
async def hand_off(
    message_id: str, request: Request, form: Form, who: InboxUser
) -> Response:
    check_csrf(who, form)
    to_user_id = form.get("to_user_id", "").strip()
    note = form.get("note", "").strip()
    if not to_user_id:
        raise InvalidInput("to_user_id", "choose the colleague to hand it to")
    if len(note) > NOTE_MAX:
        raise InvalidInput("note", f"must be at most {NOTE_MAX} characters")
    await run_in_threadpool(
        ledger_of(request).hand_off,
        who.ctx,
        message_id,
        to_user_id=to_user_id,
        by_user_id=who.user_id,
        note=note or None,
        handoff_id=form.get("handoff_id") or None,
        as_user=who.user_id,
    )
    return see_other(f"/inbox/{segment(message_id)}?handed={segment(to_user_id)}")


@router.post("/inbox/{message_id}/replies")
async def reply(
    message_id: str, request: Request, form: Form, who: InboxUser
) -> Response:
    check_csrf(who, form)
    body = form.get("body", "").strip()
    if not body:
        raise InvalidInput("body", "write the text to send")
    if len(body) > REPLY_MAX:
        raise InvalidInput("body", f"must be at most {REPLY_MAX} characters")
    await run_in_threadpool(
        ledger_of(request).reply,
        who.ctx,
        message_id,
        user_id=who.user_id,
        body=body,
        reply_id=form.get("reply_id") or None,
        as_user=who.user_id,
    )
    return see_other(f"/inbox/{segment(message_id)}#replies")


def _conversation_page(
    request: Request, who: Member, message_id: str, hand_off: bool = False
) -> HTMLResponse:
    ledger = ledger_of(request)
    head = ledger.head()
    found = ledger.conversation(who.ctx, who.user_id, message_id)
    ledger.mark_read(who.ctx, who.user_id, message_id)
    d = found.decision
    names = _names(ledger, who, found)
    colleagues = (
        ledger.colleagues(who.ctx, who.user_id, limit=1000)
        if found.holder_user_id == who.user_id
        else []
    )
    handed = request.query_params.get("handed")
    return render(
        request,
        "conversation.html",
        who,
        title=f"Text from {_sender(found)}",
        c=found,
        d=d,
        sender=_sender(found),
        users=names,
        why=words.why_mine(d, who.user_id, names, _contact_names(found)),
        holder_name=names.get(found.holder_user_id or "", found.holder_user_id),
        colleagues=colleagues,
        handed_to=names.get(handed or "", handed) if handed else None,
        hand_off=hand_off,
        handoff_id=uuid.uuid4().hex,
        reply_id=uuid.uuid4().hex,
        unread=ledger.unread_count(who.ctx, who.user_id),
        note_max=NOTE_MAX,
        reply_max=REPLY_MAX,
        **_live(who, head),
    )


def _live(who: Member, head: int) -> dict[str, Any]:
    """Where the page's script listens for pops: only with enhanced inbound,
    from the ledger's head as the page was read, so nothing is missed."""
    if not who.ctx.enhanced_inbound:
        return {"alerts_url": None}
    return {"alerts_url": f"/inbox/alerts?after={head}"}


def _names(ledger: Ledger, who: Member, found: Any) -> dict[str, str]:
    """The names of the users the conversation mentions."""
    d = found.decision
    ids = {
        (d.get("recipient") or {}).get("user_id"),
        (d.get("evidence") or {}).get("user_id"),
        (d.get("evidence") or {}).get("handed_off_by"),
        found.holder_user_id,
        *(e.user_id for e in found.thread),
        *(e.by_user_id for e in found.thread),
        *(c.owner_user_id for c in found.contacts),
    }
    for h in d.get("handoffs") or []:
        ids.update((h.get("to_user_id"), h.get("by_user_id")))
    users, _ = browse.names(ledger, who.ctx, {i for i in ids if i}, set())
    return users


def _contact_names(found: Any) -> dict[str, str]:
    return {c.contact_id: c.name or c.contact_id for c in found.contacts}


def _sender(found: Any) -> str:
    named = [c.name or c.contact_id for c in found.contacts]
    return " / ".join(named) if named else words.phone(found.decision.get("from"))
