from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from api import cursor
from api.deps import Caller, CurrentAccount, KnownCaller, LedgerDep
from api.errors import documented
from api.routes import answer
from api.schemas import Decision, DecisionPage, Id, InboundSms, Rule, Text
from ledger import browse
from ledger.application import Saved

router = APIRouter(prefix="/v1", tags=["inbound SMS and routing decisions"])
MessageId = Annotated[Id, Path(openapi_examples={"twilio": {"value": "SM0001"}})]


@router.post(
    "/inbound-sms",
    status_code=201,
    response_model=Decision,
    responses={
        200: {"model": Decision, "description": "The first decision for a repeat"},
        **documented(400, 401, 409, 413, 422),
    },
)
async def route_inbound_sms(
    body: InboundSms,
    caller: KnownCaller,
    response: Response,
) -> dict[str, Any]:
    """Route an inbound SMS and record the decision. A repeated `message_id`
    answers 200 with the first decision, or 409 if its content differs."""
    return answer(await route(caller, body), response)


async def route(caller: Caller, body: InboundSms) -> Saved:
    """Decide who gets an inbound SMS, and record the decision."""
    return await caller.batcher.carry_out(
        caller.ledger.prepare_route,
        caller.ctx,
        *(body.sender, body.to, body.body, body.message_id, body.received_at),
    )


@router.get(
    "/routing-decisions/{message_id}",
    response_model=Decision,
    responses=documented(401, 404, 422),
)
def get_decision(
    message_id: MessageId, ctx: CurrentAccount, ledger: LedgerDep
) -> dict[str, Any]:
    """The decision recorded for a message."""
    return ledger.get_decision(ctx, message_id)


@router.get(
    "/routing-decisions",
    response_model=DecisionPage,
    responses=documented(401, 422),
)
def list_decisions(
    ctx: CurrentAccount,
    ledger: LedgerDep,
    rule: Rule | None = None,
    recipient: Annotated[Text | None, Query(description="An email address.")] = None,
    status: Annotated[
        Literal["routed", "held"] | None, Query(description="Routed or held.")
    ] = None,
    delivery: Annotated[
        Literal["pending", "sent", "failed"] | None,
        Query(description="The state of the decision's mail."),
    ] = None,
    sender: Annotated[
        Text | None, Query(description="The sender's phone, in any format.")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Received at or after this time.")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Received before this time.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor_: Annotated[
        Text | None, Query(alias="cursor", description="`next_cursor` of a page.")
    ] = None,
) -> dict[str, Any]:
    """Decisions, newest first, a page at a time. Times are compared to the
    second."""
    before = cursor.decode(cursor_) if cursor_ is not None else None
    only = browse.decision_filter(
        ctx,
        rule=rule,
        recipient=recipient,
        status=status,
        delivery=delivery,
        sender=sender,
        since=since,
        until=until,
    )
    items = browse.list_decisions(ledger, ctx, only, before, limit)
    last = items[-1] if len(items) == limit else None
    return {
        "items": items,
        "next_cursor": cursor.encode(last["position"], last["message_id"])
        if last
        else None,
    }
