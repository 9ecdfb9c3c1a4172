"""Checking recorded decisions against the ledger: replay one, or all under
another policy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentAccount, LedgerDep, MayLag
from api.errors import documented
from api.routes.inbound import MessageId
from api.schemas import Replay, WhatIf, WhatIfRequest

router = APIRouter(prefix="/v1", tags=["auditing"])


@router.post(
    "/routing-decisions/what-if",
    response_model=WhatIf,
    responses=documented(400, 401, 413, 422),
)
def what_if(body: WhatIfRequest, ctx: CurrentAccount, reads: MayLag) -> Any:
    """Replay the account's recorded decisions under another routing policy and
    list those that would have gone to someone else. Nothing is changed: run it
    before switching `routing_policy`. It reads the whole ledger, so it takes
    time on a long history."""
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
    responses=documented(401, 404, 422),
)
def replay_decision(
    message_id: MessageId, ctx: CurrentAccount, ledger: LedgerDep
) -> dict[str, Any]:
    """Recompute a recorded decision from the ledger as it stood at the
    decision's position, and say whether the two agree."""
    return ledger.replay_decision(ctx, message_id)
