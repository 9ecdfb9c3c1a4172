from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from smsledger.api import cursor
from smsledger.api.deps import CurrentAccount, LedgerDep, MayLag
from smsledger.api.errors import documented
from smsledger.api.ratelimit import Expensive
from smsledger.api.routes import PageCursor, PageLimit, answer
from smsledger.api.schemas.directory import (
    Contact,
    ContactPage,
    ContactPut,
    HistoryEvent,
)
from smsledger.api.schemas.fields import Id, Text
from smsledger.ledger import browse

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
ContactId = Annotated[Id, Path(openapi_examples={"jane": {"value": "c-42"}})]


@router.get("", response_model=ContactPage, responses=documented(401, 422))
def list_contacts(
    ctx: CurrentAccount,
    ledger: LedgerDep,
    phone: Annotated[
        Text | None,
        Query(description="Only contacts with this phone, in any format."),
    ] = None,
    q: Annotated[
        Text | None,
        Query(description="Only contacts whose name starts with this (any case)."),
    ] = None,
    owner_user_id: Annotated[Id | None, Query(description="Only this user's.")] = None,
    limit: PageLimit = 50,
    cursor_: PageCursor = None,
) -> dict[str, Any]:
    """The account's contacts, by `contact_id`, a page at a time; phones are
    listed in number order."""
    after = cursor.decode_key(cursor_) if cursor_ is not None else None
    items = browse.list_contacts(
        ledger,
        ctx,
        phone=phone,
        name_prefix=q,
        owner_user_id=owner_user_id,
        after=after,
        limit=limit,
    )
    last = items[-1]["contact_id"] if len(items) == limit else None
    return {"items": items, "next_cursor": cursor.encode_key(last) if last else None}


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
    """The events recorded about the contact, oldest first: its own, the notes
    of texts and calls to it, and each inbound message from it with the
    decision routing it."""
    return reads(lambda ledger: ledger.contact_history(ctx, contact_id))
