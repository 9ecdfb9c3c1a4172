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
    signed_in = session is not None and session.account_id is not None
    return see_other(HOME if signed_in else "/sign-in")


@router.get("/sign-in")
def sign_in_page(request: Request) -> HTMLResponse:
    return _page(request, next_url=_safe_next(request.query_params.get("next")))


def _page(
    request: Request, next_url: str, error: str | None = None, status: int = 200
) -> HTMLResponse:
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
    )
    store.write(request, response, session)
    return response


@router.post("/sign-in")
async def sign_in(request: Request, form: Form) -> Response:
    store = sessions(request)
    next_url = _safe_next(form.get("next"))
    session = store.read(request)
    if session is None:
        return _page(
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
        return _page(
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


def _safe_next(raw: Any) -> str:
    """Where to go after signing in: a path of this site, never another."""
    if (
        isinstance(raw, str)
        and raw.startswith("/")
        and not raw.startswith("//")
        and "\\" not in raw
    ):
        return raw
    return HOME
