"""API keys: an account's named keys, and the admin's way back in for an
account that lost them all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from smsledger.api.deps import Admin, CurrentAccount, LedgerDep
from smsledger.api.errors import documented
from smsledger.api.schemas.accounts import ApiKeyCreate, ApiKeyCreated, ApiKeys
from smsledger.api.schemas.fields import Id

router = APIRouter(prefix="/v1", tags=["api keys"])
KeyId = Annotated[Id, Path(openapi_examples={"key": {"value": "key_5f2c9a1e0b7d4c3a"}})]
AccountId = Annotated[
    Id,
    Path(
        openapi_examples={"account": {"value": "0b6f9a4e-3c1d-4a5e-9f7b-2d8c6e1a4b3f"}}
    ),
]


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=documented(400, 401, 409, 413, 422),
)
def create_api_key(
    body: ApiKeyCreate, ctx: CurrentAccount, ledger: LedgerDep
) -> dict[str, Any]:
    """Create a named key for the account; the key is shown here, once."""
    return ledger.create_api_key(ctx.account_id, body.name)


@router.get("/api-keys", response_model=ApiKeys, responses=documented(401))
def list_api_keys(ctx: CurrentAccount, ledger: LedgerDep) -> dict[str, Any]:
    """The account's live keys, oldest first: never the keys themselves."""
    return {"items": ledger.api_keys(ctx.account_id)}


@router.delete(
    "/api-keys/{key_id}", status_code=204, responses=documented(401, 404, 422)
)
def revoke_api_key(key_id: KeyId, ctx: CurrentAccount, ledger: LedgerDep) -> None:
    """Revoke a key: from now on it is refused (401) by every server process."""
    ledger.revoke_api_key(ctx.account_id, key_id)


@router.post(
    "/accounts/{account_id}/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    dependencies=[Admin],
    responses=documented(400, 401, 404, 409, 413, 422),
)
def issue_api_key(
    account_id: AccountId, body: ApiKeyCreate, ledger: LedgerDep
) -> dict[str, Any]:
    """Issue a key to any account (admin token only), such as one that lost
    its keys; the key is shown here, once."""
    return ledger.create_api_key(account_id, body.name, issued_by="admin")
