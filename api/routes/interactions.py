from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import Caller, KnownCaller
from api.errors import documented
from api.routes import answer
from api.schemas import CallNote, CampaignSmsNote, Interaction, SmsNote
from ledger.application import Saved

router = APIRouter(prefix="/v1/interactions", tags=["interactions"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Interaction, "description": "Already recorded with this content"},
    **documented(400, 401, 409, 413, 422),
}


@router.post("/sms", status_code=201, response_model=Interaction, responses=RESPONSES)
async def record_sms(
    body: SmsNote,
    caller: KnownCaller,
    response: Response,
) -> dict[str, Any]:
    """Record that a user sent an SMS to a contact."""
    return answer(await record(caller, body), response)


@router.post(
    "/campaign-sms", status_code=201, response_model=Interaction, responses=RESPONSES
)
async def record_campaign_sms(
    body: CampaignSmsNote,
    caller: KnownCaller,
    response: Response,
) -> dict[str, Any]:
    """Record that a campaign sent an SMS to a contact; replies go to `reply`."""
    return answer(await record(caller, body), response)


@router.post("/calls", status_code=201, response_model=Interaction, responses=RESPONSES)
async def record_call(
    body: CallNote,
    caller: KnownCaller,
    response: Response,
) -> dict[str, Any]:
    """Record that a user called a contact."""
    return answer(await record(caller, body), response)


async def record(caller: Caller, note: SmsNote | CampaignSmsNote | CallNote) -> Saved:
    """Record a note of any kind: the fields all share, and those of its kind."""
    own: dict[str, Any]
    if isinstance(note, SmsNote):
        kind, own = "sms", {"user_id": note.user_id, "body": note.body}
    elif isinstance(note, CampaignSmsNote):
        kind, own = "campaign_sms", {"reply": note.reply, "body": note.body}
    else:
        kind, own = "call", {"user_id": note.user_id}
    return await caller.batcher.carry_out(
        caller.ledger.prepare_note,
        caller.ctx,
        kind,
        contact_id=note.contact_id,
        to=note.to,
        from_number=note.sent_from,
        interaction_id=note.interaction_id,
        occurred_at=note.occurred_at,
        **own,
    )
