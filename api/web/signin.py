"""Signing in with the account's API key, and out again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from smsledger.api.web.pages import (
    Form,
    WebRoute,
    check_csrf,
    ledger_of,
    render,
    see_other,
    sessions,
)
from smsledger.api.web.sessions import Session

router = APIRouter(route_class=WebRoute, include_in_schema=False)
HOME = "/decisions"


@router.get("/")
def home(request: Request) -> Response:
    session = sessions(request).read(request)
    if session is None or session.account_id is None:
        return see_other("/sign-in")
    return see_other("/inbox" if session.user_id else HOME)


@router.get("/sign-in")
def sign_in(request: Request) -> HTMLResponse:
    return sign_in_page(request, safe_next(request.query_params.get("next")))


def sign_in_page(
    request: Request,
    next_url: str,
    error: str | None = None,
    status: int = 200,
    *,
    link_error: str | None = None,
    email: str = "",
) -> HTMLResponse:
    """The sign-in page: a link by mail for the team, the API key for the
    console; the form that a `next` of the inbox needs comes first."""
    store = sessions(request)
    session = store.read(request) or Session.anonymous()
    response = render(
        request,
        "sign_in.html",
        None,
        status,
        title="Sign in",
        csrf_token=session.csrf,
        next=next_url,
        error=error,
        link_error=link_error,
        email=email,
    )
    store.write(request, response, session)
    return response


@router.post("/sign-in")
async def sign_in_with_key(request: Request, form: Form) -> Response:
    store = sessions(request)
    next_url = safe_next(form.get("next"))
    session = store.read(request)
    if session is None:
        return sign_in_page(
            request,
            next_url,
            "Your browser did not send back the sign-in page's cookie. Allow "
            "cookies for this site, then try again.",
            400,
        )
    check_csrf(session, form)
    key = form.get("api_key", "").strip()
    ctx = await run_in_threadpool(ledger_of(request).authenticate, key) if key else None
    if ctx is None:
        return sign_in_page(
            request,
            next_url,
            "That API key is not valid. Check it and try again.",
            401,
        )
    response = see_other(next_url)
    store.write(request, response, session.signed_in(ctx.account_id))
    return response


@router.post("/sign-out")
async def sign_out(request: Request, form: Form) -> Response:
    store = sessions(request)
    session = store.read(request)
    if session is not None:
        # Only the page's own form signs out: a forged post cannot.
        check_csrf(session, form)
    response = see_other("/sign-in")
    store.clear(request, response)
    return response


def safe_next(raw: Any, default: str = HOME) -> str:
    """Where to go after signing in: a path of this site, never another."""
    if (
        isinstance(raw, str)
        and raw.startswith("/")
        and not raw.startswith("//")
        and "\\" not in raw
    ):
        return raw
    return default
