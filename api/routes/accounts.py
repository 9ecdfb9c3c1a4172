from __future__ import annotations

from typing import Any

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Response

from smsledger.api import idempotency
from smsledger.api.deps import Admin, CurrentAccount, InFlightDep, LedgerDep
from smsledger.api.errors import documented
from smsledger.api.idempotency import ADMIN_SCOPE, KeyHeader
from smsledger.api.schemas.accounts import (
    Account,
    AccountCreate,
    AccountCreated,
    AccountPatch,
)

router = APIRouter(prefix="/v1", tags=["accounts"])
PATH = "/v1/accounts"


@router.post(
    PATH.removeprefix("/v1"),
    status_code=201,
    response_model=AccountCreated,
    dependencies=[Admin],
    responses={
        200: {
            "model": AccountCreated,
            "description": "Opened before for this Idempotency-Key and body: "
            "the account, with `api_key` null (a key is shown once)",
        },
        **documented(400, 401, 409, 413, 422),
    },
)
def create_account(
    body: AccountCreate,
    ledger: LedgerDep,
    in_flight: InFlightDep,
    response: Response,
    key: KeyHeader = None,
) -> dict[str, Any]:
    """Open an account (admin token only); its API key is shown here, once.
    Sent again with the same Idempotency-Key and body, it opens no other
    account: the answer is the first one's, without its key."""
    used = idempotency.use(ADMIN_SCOPE, PATH, key, body)
    opening = (body.name, body.default_region, body.routing_policy)
    if used is None:
        settings, api_key = ledger.open_account(*opening, body.enhanced_inbound)
        return {**settings, "api_key": api_key}
    with in_flight.claim(used):
        try:
            settings, api_key = ledger.open_account(
                *opening, body.enhanced_inbound, remember=used.remember
            )
        except IntegrityError:
            first = idempotency.first_use(ledger, used)
            if first is None:
                raise
            response.status_code = 200
            return {**ledger.account_settings(first.record), "api_key": None}
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
