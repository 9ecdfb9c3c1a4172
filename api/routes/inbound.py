from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from smsledger.api import cursor, idempotency
from smsledger.api.deps import Caller, CurrentAccount, KnownCaller, LedgerDep, MayLag
from smsledger.api.errors import documented
from smsledger.api.idempotency import KeyHeader
from smsledger.api.ratelimit import LongListing
from smsledger.api.routes import PageCursor, PageLimit, answer, check_not_future
from smsledger.api.schemas.decisions import Decision, DecisionPage, InboundSms
from smsledger.api.schemas.fields import Email, Id, Text
from smsledger.domain.vocabulary import Rule
from smsledger.ledger import browse
from smsledger.ledger.application import Saved

router = APIRouter(prefix="/v1", tags=["inbound SMS and routing decisions"])
PATH = "/v1/inbound-sms"
MessageId = Annotated[Id, Path(openapi_examples={"twilio": {"value": "SM0001"}})]


@router.post(
    PATH.removeprefix("/v1"),
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
    key: KeyHeader = None,
) -> dict[str, Any]:
    """Route an inbound SMS and record the decision. A repeated `message_id`
    answers 200 with the first decision, or 409 if its content differs."""
    return answer(await route(caller, body, key), response)


async def route(caller: Caller, body: InboundSms, key: str | None = None) -> Saved:
    """Decide who gets an inbound SMS, and record the decision.

    With an Idempotency-Key, the decision is kept with its key, and a message
    that names no id gets one derived from the key (`smsledger.api.idempotency`)."""
    check_not_future(body.received_at, "received_at", caller.settings)
    used = idempotency.use(caller.ctx.account_id, PATH, key, body)
    prepare = caller.ledger.prepare_route
    message_id = body.message_id
    if used is not None:
        message_id = message_id or used.derived_id()
        prepare = idempotency.remembering(prepare, used, message_id, caller.ledger)
    command = (prepare, caller.ctx, body.sender, body.to, body.body)
    if used is None:
        return await caller.batcher.carry_out(*command, message_id, body.received_at)
    with caller.in_flight.claim(used):
        return await caller.batcher.carry_out(*command, message_id, body.received_at)


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
    responses=documented(401, 422, 429),
    dependencies=[LongListing],
)
def list_decisions(
    ctx: CurrentAccount,
    reads: MayLag,
    rule: Rule | None = None,
    recipient: Annotated[
        Email | None, Query(description="An email address, in any case.")
    ] = None,
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
    limit: PageLimit = 50,
    cursor_: PageCursor = None,
) -> dict[str, Any]:
    """Decisions, newest first, a page at a time. Times are compared to the
    second. A `limit` over the server's `LONG_LISTING` (100 unless set) makes it
    an expensive request (429 beyond its limit)."""
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
    items = reads(
        lambda ledger: browse.list_decisions(ledger, ctx, only, before, limit)
    )
    last = items[-1] if len(items) == limit else None
    return {
        "items": items,
        "next_cursor": cursor.encode(last["position"], last["message_id"])
        if last
        else None,
    }
