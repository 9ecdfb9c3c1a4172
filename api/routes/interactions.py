from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from smsledger.api import idempotency
from smsledger.api.deps import Caller, KnownCaller
from smsledger.api.errors import documented
from smsledger.api.idempotency import KeyHeader
from smsledger.api.routes import answer, check_not_future
from smsledger.api.schemas.interactions import (
    CallNote,
    CampaignSmsNote,
    Interaction,
    SmsNote,
)
from smsledger.ledger.application import Saved

router = APIRouter(prefix="/v1/interactions", tags=["interactions"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Interaction, "description": "Already recorded with this content"},
    **documented(400, 401, 409, 413, 422),
}
Note = SmsNote | CampaignSmsNote | CallNote
PATHS: dict[type[Note], str] = {
    SmsNote: "/v1/interactions/sms",
    CampaignSmsNote: "/v1/interactions/campaign-sms",
    CallNote: "/v1/interactions/calls",
}


@router.post("/sms", status_code=201, response_model=Interaction, responses=RESPONSES)
async def record_sms(
    body: SmsNote,
    caller: KnownCaller,
    response: Response,
    key: KeyHeader = None,
) -> dict[str, Any]:
    """Record that a user sent an SMS to a contact."""
    return answer(await record(caller, body, key), response)


@router.post(
    "/campaign-sms", status_code=201, response_model=Interaction, responses=RESPONSES
)
async def record_campaign_sms(
    body: CampaignSmsNote,
    caller: KnownCaller,
    response: Response,
    key: KeyHeader = None,
) -> dict[str, Any]:
    """Record that a campaign sent an SMS to a contact; replies go to `reply`."""
    return answer(await record(caller, body, key), response)


@router.post("/calls", status_code=201, response_model=Interaction, responses=RESPONSES)
async def record_call(
    body: CallNote,
    caller: KnownCaller,
    response: Response,
    key: KeyHeader = None,
) -> dict[str, Any]:
    """Record that a user called a contact."""
    return answer(await record(caller, body, key), response)


async def record(caller: Caller, note: Note, key: str | None = None) -> Saved:
    """Record a note of any kind: the fields all share, and those of its kind.

    With an Idempotency-Key, the note is kept with its key, and a note that
    names no id gets one derived from the key (`smsledger.api.idempotency`)."""
    check_not_future(note.occurred_at, "occurred_at", caller.settings)
    own: dict[str, Any]
    if isinstance(note, SmsNote):
        kind, own = "sms", {"user_id": note.user_id, "body": note.body}
    elif isinstance(note, CampaignSmsNote):
        kind, own = "campaign_sms", {"reply": note.reply, "body": note.body}
    else:
        kind, own = "call", {"user_id": note.user_id}
    used = idempotency.use(caller.ctx.account_id, PATHS[type(note)], key, note)
    prepare = caller.ledger.prepare_note
    interaction_id = note.interaction_id
    if used is not None:
        interaction_id = interaction_id or used.derived_id()
        prepare = idempotency.remembering(prepare, used, interaction_id, caller.ledger)
    command = (prepare, caller.ctx, kind)
    fields = {
        "contact_id": note.contact_id,
        "to": note.to,
        "from_number": note.sent_from,
        "interaction_id": interaction_id,
        "occurred_at": note.occurred_at,
        **own,
    }
    if used is None:
        return await caller.batcher.carry_out(*command, **fields)
    with caller.in_flight.claim(used):
        return await caller.batcher.carry_out(*command, **fields)
