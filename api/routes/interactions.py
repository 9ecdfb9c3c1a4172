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
    saved = await _record(caller, "sms", body, user_id=body.user_id, body=body.body)
    return answer(saved, response)


@router.post(
    "/campaign-sms", status_code=201, response_model=Interaction, responses=RESPONSES
)
async def record_campaign_sms(
    body: CampaignSmsNote,
    caller: KnownCaller,
    response: Response,
) -> dict[str, Any]:
    """Record that a campaign sent an SMS to a contact; replies go to `reply`."""
    saved = await _record(
        caller, "campaign_sms", body, reply=body.reply, body=body.body
    )
    return answer(saved, response)


@router.post("/calls", status_code=201, response_model=Interaction, responses=RESPONSES)
async def record_call(
    body: CallNote,
    caller: KnownCaller,
    response: Response,
) -> dict[str, Any]:
    """Record that a user called a contact."""
    saved = await _record(caller, "call", body, user_id=body.user_id)
    return answer(saved, response)


async def _record(
    caller: Caller,
    kind: str,
    note: SmsNote | CampaignSmsNote | CallNote,
    **own: Any,
) -> Saved:
    """The fields every kind of note shares, and those of its kind (`own`)."""
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
