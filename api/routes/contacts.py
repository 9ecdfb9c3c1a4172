from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from api.deps import CurrentAccount, LedgerDep, MayLag
from api.errors import documented
from api.ratelimit import Expensive
from api.routes import answer
from api.schemas import Contact, ContactPut, HistoryEvent, Id

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
ContactId = Annotated[Id, Path(openapi_examples={"jane": {"value": "c-42"}})]


@router.put(
    "/{contact_id}",
    response_model=Contact,
    response_description="Updated",
    responses={
        201: {"model": Contact, "description": "Created"},
        **documented(400, 401, 413, 422),
    },
)
def put_contact(
    contact_id: ContactId,
    body: ContactPut,
    ctx: CurrentAccount,
    ledger: LedgerDep,
    response: Response,
) -> dict[str, Any]:
    """Register a contact (201) or replace its name, phones and owner (200)."""
    saved = ledger.put_contact(
        ctx, contact_id, body.phones, body.name, body.owner_user_id
    )
    return answer(saved, response)


@router.get(
    "/{contact_id}", response_model=Contact, responses=documented(401, 404, 422)
)
def get_contact(
    contact_id: ContactId, ctx: CurrentAccount, ledger: LedgerDep
) -> dict[str, Any]:
    """A contact of the account."""
    return ledger.get_contact(ctx, contact_id)


@router.get(
    "/{contact_id}/history",
    response_model=list[HistoryEvent],
    responses=documented(401, 404, 422, 429),
    dependencies=[Expensive],
)
def contact_history(
    contact_id: ContactId, ctx: CurrentAccount, reads: MayLag
) -> list[dict[str, Any]]:
    """The events recorded about the contact, oldest first."""
    return reads(lambda ledger: ledger.contact_history(ctx, contact_id))
