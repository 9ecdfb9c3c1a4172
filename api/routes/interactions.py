from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import CurrentAccount, LedgerDep
from api.errors import documented
from api.routes import answer
from api.schemas import CallNote, CampaignSmsNote, Interaction, SmsNote
from ledger.application import AccountContext, Ledger, Saved

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
    saved = _record(ledger, ctx, "sms", body, user_id=body.user_id, body=body.body)
    return answer(saved, response)


@router.post(
    "/campaign-sms", status_code=201, response_model=Interaction, responses=RESPONSES
)
def record_campaign_sms(
    body: CampaignSmsNote, ctx: CurrentAccount, ledger: LedgerDep, response: Response
) -> dict[str, Any]:
    """Record that a campaign sent an SMS to a contact; replies go to `reply`."""
    saved = _record(ledger, ctx, "campaign_sms", body, reply=body.reply, body=body.body)
    return answer(saved, response)


@router.post("/calls", status_code=201, response_model=Interaction, responses=RESPONSES)
def record_call(
    body: CallNote, ctx: CurrentAccount, ledger: LedgerDep, response: Response
) -> dict[str, Any]:
    """Record that a user called a contact."""
    saved = _record(ledger, ctx, "call", body, user_id=body.user_id)
    return answer(saved, response)


def _record(
    ledger: Ledger,
    ctx: AccountContext,
    kind: str,
    note: SmsNote | CampaignSmsNote | CallNote,
    **own: Any,
) -> Saved:
    """The fields every kind of note shares, and those of its kind (`own`)."""
    return ledger.record_interaction(
        ctx,
        kind,
        contact_id=note.contact_id,
        to=note.to,
        from_number=note.sent_from,
        interaction_id=note.interaction_id,
        occurred_at=note.occurred_at,
        **own,
    )
