from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from smsledger.api import cursor
from smsledger.api.deps import CurrentAccount, LedgerDep, SettingsDep
from smsledger.api.errors import documented
from smsledger.api.routes import PageCursor, PageLimit, answer
from smsledger.api.schemas.directory import User, UserPage, UserPut
from smsledger.api.schemas.fields import Id
from smsledger.api.schemas.inbox import SignInLink, SignInLinkRequest
from smsledger.ledger import browse

router = APIRouter(prefix="/v1/users", tags=["users"])
NO_OPTIONS = SignInLinkRequest()  # a request without a body asks for a link only
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


@router.get("", response_model=UserPage, responses=documented(401, 422))
def list_users(
    ctx: CurrentAccount,
    ledger: LedgerDep,
    active: Annotated[
        bool | None, Query(description="Only active (true) or inactive (false) users.")
    ] = None,
    limit: PageLimit = 50,
    cursor_: PageCursor = None,
) -> dict[str, Any]:
    """The account's users, by `user_id`, a page at a time."""
    after = cursor.decode_key(cursor_) if cursor_ is not None else None
    items = browse.list_users(ledger, ctx, active, after, limit)
    last = items[-1]["user_id"] if len(items) == limit else None
    return {"items": items, "next_cursor": cursor.encode_key(last) if last else None}


@router.post(
    "/{user_id}/sign-in-links",
    status_code=201,
    response_model=SignInLink,
    responses=documented(400, 401, 404, 413, 422),
)
def issue_sign_in_link(
    user_id: UserId,
    ctx: CurrentAccount,
    ledger: LedgerDep,
    settings: SettingsDep,
    request: Request,
    body: SignInLinkRequest = NO_OPTIONS,
) -> dict[str, Any]:
    """A link that signs the user in to the web inbox: once, within 15
    minutes; with `send`, also mailed to them. 422 for an inactive user."""
    base_url = settings.public_base_url or str(request.base_url)
    link = ledger.issue_sign_in_link(ctx, user_id, base_url=base_url, send=body.send)
    return {"url": link.url, "expires_at": link.expires_at}
