from __future__ import annotations

from fastapi import APIRouter

from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def health() -> dict[str, str]:
    """Whether the service answers; no key needed."""
    return {"status": "ok"}
