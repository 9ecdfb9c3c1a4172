"""Hand-offs and replies of a routed message (ROUTING.md, "not mine")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from smsledger.api.deps import CurrentAccount, LedgerDep
from smsledger.api.errors import documented
from smsledger.api.routes import answer
from smsledger.api.schemas.decisions import Decision
from smsledger.api.schemas.fields import Id
from smsledger.api.schemas.inbox import HandoffRequest, Reply, ReplyList, ReplyRequest

router = APIRouter(prefix="/v1/routing-decisions", tags=["hand-offs and replies"])
MessageId = Annotated[Id, Path(openapi_examples={"twilio": {"value": "SM0001"}})]


@router.post(
    "/{message_id}/handoffs",
    status_code=201,
    response_model=Decision,
    responses={
        200: {"model": Decision, "description": "A repeated `handoff_id`"},
        **documented(400, 401, 404, 409, 413, 422),
    },
)
def hand_off(
    message_id: MessageId,
    body: HandoffRequest,
    ctx: CurrentAccount,
    ledger: LedgerDep,
    response: Response,
) -> dict[str, Any]:
    """Hand a routed message to another active user: the decision gains the
    hand-off, the contacts a hand-off note, and the user a mail (and an alert
    with enhanced inbound). 409 for a held message or the user who holds it."""
    saved = ledger.hand_off(
        ctx,
        message_id,
        to_user_id=body.to_user_id,
        by_user_id=body.by_user_id,
        note=body.note,
        handoff_id=body.handoff_id,
    )
    return answer(saved, response)


@router.post(
    "/{message_id}/replies",
    status_code=202,
    response_model=Reply,
    responses={
        200: {"model": Reply, "description": "A repeated `reply_id`"},
        **documented(400, 401, 404, 409, 413, 422),
    },
)
def reply(
    message_id: MessageId,
    body: ReplyRequest,
    ctx: CurrentAccount,
    ledger: LedgerDep,
    response: Response,
) -> dict[str, Any]:
    """Queue a reply to the sender, from the number the message came to; the
    delivery workers send it through Twilio. 409 unless `user_id` holds the
    message; 422 if the account has no Twilio account SID and auth token."""
    saved = ledger.reply(
        ctx, message_id, user_id=body.user_id, body=body.body, reply_id=body.reply_id
    )
    response.status_code = 202 if saved.created else 200
    return saved.value


@router.get(
    "/{message_id}/replies",
    response_model=ReplyList,
    responses=documented(401, 404, 422),
)
def list_replies(
    message_id: MessageId, ctx: CurrentAccount, ledger: LedgerDep
) -> dict[str, Any]:
    """The message's replies, oldest first, each with where it stands."""
    return {"items": ledger.replies(ctx, message_id)}
