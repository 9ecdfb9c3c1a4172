from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import Admin, CurrentAccount, LedgerDep
from api.errors import documented
from api.schemas import Account, AccountCreate, AccountCreated, AccountPatch

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountCreated,
    dependencies=[Admin],
    responses=documented(400, 401, 413, 422),
)
def create_account(body: AccountCreate, ledger: LedgerDep) -> dict[str, Any]:
    """Open an account (admin token only); its API key is shown here, once."""
    settings, api_key = ledger.open_account(
        body.name, body.default_region, body.routing_policy, body.enhanced_inbound
    )
    return {**settings, "api_key": api_key}


@router.get("/account", response_model=Account, responses=documented(401))
def get_account(ctx: CurrentAccount, ledger: LedgerDep) -> dict[str, Any]:
    """The settings of the key's account (never the key)."""
    return ledger.account_settings(ctx.account_id)


@router.patch(
    "/account", response_model=Account, responses=documented(400, 401, 413, 422)
)
def change_account(
    body: AccountPatch, ctx: CurrentAccount, ledger: LedgerDep
) -> dict[str, Any]:
    """Change the settings sent; the others stay as they are."""
    return ledger.change_account(ctx.account_id, **body.model_dump(exclude_unset=True))
