"""Checking recorded decisions against the ledger: replay one, or all under
another policy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from smsledger.api.deps import CurrentAccount, LedgerDep, MayLag
from smsledger.api.errors import documented
from smsledger.api.idempotency import KeyHeader
from smsledger.api.ratelimit import Expensive
from smsledger.api.routes.inbound import MessageId
from smsledger.api.schemas.audit import Replay, WhatIf, WhatIfRequest

router = APIRouter(prefix="/v1", tags=["auditing"])


@router.post(
    "/routing-decisions/what-if",
    response_model=WhatIf,
    responses=documented(400, 401, 413, 422, 429),
    dependencies=[Expensive],
)
def what_if(
    body: WhatIfRequest,
    ctx: CurrentAccount,
    reads: MayLag,
    # Taken as on every POST; this one changes nothing, so a retry is safe
    # with or without it and nothing is remembered.
    key: KeyHeader = None,
) -> Any:
    """Replay the account's recorded decisions under another routing policy and
    list those that would have gone to someone else. Nothing is changed: run it
    before switching `routing_policy`, and send it again as often as needed.
    It reads the account's own history, so it takes time on a long one: an
    expensive request (429 beyond its limit)."""
    report = reads(lambda ledger: ledger.what_if(ctx, body.policy, body.since))
    return {
        "policy": report.policy,
        "checked": report.checked,
        "changed": len(report.changed),
        "changes": dict(sorted(report.changes.items())),
        "items": report.changed[: body.limit],
    }


@router.post(
    "/routing-decisions/{message_id}/replay",
    response_model=Replay,
    responses=documented(401, 404, 422, 429),
    dependencies=[Expensive],
)
def replay_decision(
    message_id: MessageId,
    ctx: CurrentAccount,
    ledger: LedgerDep,
    key: KeyHeader = None,  # as for what-if: nothing changes, nothing to remember
) -> dict[str, Any]:
    """Recompute a recorded decision from the ledger as it stood at the
    decision's position, and say whether the two agree. Nothing is changed."""
    return ledger.replay_decision(ctx, message_id)
