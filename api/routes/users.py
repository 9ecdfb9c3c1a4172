from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from api.deps import CurrentAccount, LedgerDep
from api.errors import documented
from api.routes import answer
from api.schemas import Id, User, UserPut

router = APIRouter(prefix="/v1/users", tags=["users"])
UserId = Annotated[Id, Path(openapi_examples={"ann": {"value": "u-ann"}})]


@router.put(
    "/{user_id}",
    response_model=User,
    response_description="Updated",
    responses={
        201: {"model": User, "description": "Created"},
        **documented(400, 401, 413, 422),
    },
)
def put_user(
    user_id: UserId,
    body: UserPut,
    ctx: CurrentAccount,
    ledger: LedgerDep,
    response: Response,
) -> dict[str, Any]:
    """Register a user (201) or update it (200)."""
    saved = ledger.put_user(ctx, user_id, body.email, body.name, body.active)
    return answer(saved, response)


@router.get("/{user_id}", response_model=User, responses=documented(401, 404, 422))
def get_user(user_id: UserId, ctx: CurrentAccount, ledger: LedgerDep) -> dict[str, Any]:
    """A user of the account."""
    return ledger.get_user(ctx, user_id)
