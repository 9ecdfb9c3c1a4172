"""Signing in to the inbox with a link sent by mail.

Asking for a link answers the same whatever the address: it tells nobody who
is on a team. The mailed link opens a page with one button, and the button
uses the link: a mail scanner that fetches every link in a mail does not use
it up before its reader clicks.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.background import BackgroundTask
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
from smsledger.api.web.signin import safe_next, sign_in_page
from smsledger.domain.errors import DomainError
from smsledger.ledger.application import Ledger

log = logging.getLogger(__name__)
router = APIRouter(route_class=WebRoute, include_in_schema=False)
INBOX = "/inbox"


@router.post("/sign-in/link")
async def ask_for_link(request: Request, form: Form) -> Response:
    store = sessions(request)
    session = store.read(request)
    next_url = safe_next(form.get("next"), INBOX)
    if session is None:
        return sign_in_page(request, next_url, link_error=_NO_COOKIE, status=400)
    check_csrf(session, form)
    email = form.get("email", "").strip()
    if "@" not in email:
        return sign_in_page(
            request,
            next_url,
            link_error="Enter the email address you use at work.",
            email=email,
            status=422,
        )
    response = _page(
        request, session, "link_sent.html", title="Check your mail", email=email
    )
    # Mailed after the answer, so that how long it takes tells nothing either.
    response.background = BackgroundTask(
        _mail_links,
        ledger_of(request),
        email,
        base_url=_base_url(request),
        link_suffix="?" + urlencode({"next": next_url}) if next_url != INBOX else "",
    )
    return response


@router.get("/sign-in/link/{token}")
def link_page(token: str, request: Request) -> HTMLResponse:
    store = sessions(request)
    session = store.read(request) or Session.anonymous()
    return _page(
        request,
        session,
        "link_open.html",
        title="Open your inbox",
        token=token,
        next=safe_next(request.query_params.get("next"), INBOX),
    )


@router.post("/sign-in/link/{token}")
async def use_link(token: str, request: Request, form: Form) -> Response:
    store = sessions(request)
    session = store.read(request)
    if session is None:
        return sign_in_page(request, INBOX, link_error=_NO_COOKIE, status=400)
    check_csrf(session, form)
    try:
        signed = await run_in_threadpool(ledger_of(request).use_sign_in_link, token)
    except DomainError:
        # Used, expired, unknown or altered: one answer, and a new link asked for.
        return sign_in_page(
            request,
            safe_next(form.get("next"), INBOX),
            link_error=(
                "That sign-in link does not work any more: a link works once, for"
                " 15 minutes. Ask for a new one below."
            ),
            status=400,
        )
    response = see_other(safe_next(form.get("next"), INBOX))
    store.write(request, response, session.signed_in(signed.account_id, signed.user_id))
    return response


def _page(
    request: Request, session: Session, template: str, **context: object
) -> HTMLResponse:
    response = render(request, template, None, 200, csrf_token=session.csrf, **context)
    sessions(request).write(request, response, session)
    return response


def _mail_links(ledger: Ledger, email: str, base_url: str, link_suffix: str) -> None:
    try:
        ledger.mail_sign_in_links(email, base_url=base_url, link_suffix=link_suffix)
    except Exception:  # the visitor has their answer; the log has the cause
        log.exception("sign-in links to an address were not mailed")


def _base_url(request: Request) -> str:
    public: str | None = request.app.state.settings.public_base_url
    return (public or str(request.base_url)).rstrip("/")


_NO_COOKIE = (
    "Your browser did not send back the sign-in page's cookie. Allow cookies for"
    " this site, then try again."
)
