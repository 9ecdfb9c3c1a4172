from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import CurrentAccount, LedgerDep
from api.errors import documented
from api.routes import answer
from api.schemas import CallNote, CampaignSmsNote, Interaction, SmsNote

router = APIRouter(prefix="/v1/interactions", tags=["interactions"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Interaction, "description": "Already recorded with this content"},
    **documented(400, 401, 409, 413, 422),
}


@router.post("/sms", status_code=201, response_model=Interaction, responses=RESPONSES)
def record_sms(
    body: SmsNote, ctx: CurrentAccount, ledger: LedgerDep, response: Response
) -> dict[str, Any]:
    """Record that a user sent an SMS to a contact."""
    saved = ledger.record_interaction(
        ctx,
        "sms",
        contact_id=body.contact_id,
        to=body.to,
        from_number=body.sent_from,
        user_id=body.user_id,
        interaction_id=body.interaction_id,
        occurred_at=body.occurred_at,
        body=body.body,
    )
    return answer(saved, response)


@router.post(
    "/campaign-sms", status_code=201, response_model=Interaction, responses=RESPONSES
)
def record_campaign_sms(
    body: CampaignSmsNote, ctx: CurrentAccount, ledger: LedgerDep, response: Response
) -> dict[str, Any]:
    """Record that a campaign sent an SMS to a contact; replies go to `reply`."""
    saved = ledger.record_interaction(
        ctx,
        "campaign_sms",
        contact_id=body.contact_id,
        to=body.to,
        from_number=body.sent_from,
        reply=body.reply,
        interaction_id=body.interaction_id,
        occurred_at=body.occurred_at,
        body=body.body,
    )
    return answer(saved, response)


@router.post("/calls", status_code=201, response_model=Interaction, responses=RESPONSES)
def record_call(
    body: CallNote, ctx: CurrentAccount, ledger: LedgerDep, response: Response
) -> dict[str, Any]:
    """Record that a user called a contact."""
    saved = ledger.record_interaction(
        ctx,
        "call",
        contact_id=body.contact_id,
        to=body.to,
        from_number=body.sent_from,
        user_id=body.user_id,
        interaction_id=body.interaction_id,
        occurred_at=body.occurred_at,
    )
    return answer(saved, response)
