from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from smsledger.api.deps import LedgerDep
from smsledger.api.errors import RETRY_AFTER_SECONDS, documented, problem
from smsledger.api.schemas.service import Health, Ready

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def health() -> dict[str, str]:
    """Whether the service answers; no key needed."""
    return {"status": "ok"}


@router.head("/healthz", include_in_schema=False)
async def health_head() -> Response:
    """As GET, without a body: what many load balancers send."""
    return Response(status_code=200)


@router.get("/readyz", response_model=Ready, responses=documented(503))
def ready(ledger: LedgerDep) -> Any:
    """Whether the service can route: the database answers and the live routing
    view has its tables. A rebuild in progress is no obstacle. No key needed."""
    problems = ledger.readiness()
    if problems:
        return problem(
            503,
            f"Not ready: {'; '.join(problems)}.",
            slug="not-ready",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return {"status": "ready"}
