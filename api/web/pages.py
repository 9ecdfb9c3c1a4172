"""What every page shares: who is signed in, the templates, forms, and errors
answered as pages rather than as problem+json."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from smsledger.api.web import words
from smsledger.api.web.sessions import CSRF_FIELD, Session, Sessions
from smsledger.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from smsledger.ledger.application import AccountContext, Ledger

templates = Environment(
    loader=PackageLoader("smsledger.api.web", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(words.FILTERS)
templates.globals.update(words.GLOBALS)

# Pages hold an account's data: never cached, never framed, and they run
# only the app's own script.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self';"
        " script-src 'self'; form-action 'self'; frame-ancestors 'none';"
        " base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SignInRequired(Exception):
    """No valid session: the visitor is sent to sign in, then back here."""


class BadForm(Exception):
    """A form that changes something came without its session's CSRF token."""


@dataclass(frozen=True)
class Visitor:
    """A signed-in visitor: their session and the account it acts for."""

    session: Session
    ctx: AccountContext
    account_name: str


def sessions(request: Request) -> Sessions:
    found: Sessions = request.app.state.sessions
    return found


def ledger_of(request: Request) -> Ledger:
    found: Ledger = request.app.state.ledger
    return found


async def visitor(request: Request) -> Visitor:
    """Who is signed in to the console: a session opened with the account's
    key. A session of one user (the inbox's) sees only that user's share, so
    it is no way into the console."""
    session = sessions(request).read(request)
    if session is None or session.account_id is None or session.user_id:
        raise SignInRequired
    ledger = ledger_of(request)
    row = await run_in_threadpool(ledger.find_account, session.account_id)
    if row is None:
        raise SignInRequired
    return Visitor(session, _context(row), row["name"])


def _context(row: dict[str, Any]) -> AccountContext:
    return AccountContext(
        account_id=row["account_id"],
        default_region=row["default_region"],
        routing_policy=row["routing_policy"],
        enhanced_inbound=bool(row["enhanced_inbound"]),
    )


SignedIn = Annotated[Visitor, Depends(visitor)]


@dataclass(frozen=True)
class Member:
    """A team member signed in by a link: sees only what reached them."""

    session: Session
    ctx: AccountContext
    account_name: str
    user: dict[str, Any]

    @property
    def user_id(self) -> str:
        return str(self.user["user_id"])

    @property
    def name(self) -> str:
        return str(self.user["name"] or self.user["email"])


async def member(request: Request) -> Member:
    """Who is signed in to the inbox: a session of one user of the account,
    still active. A user deactivated since signing in is signed out."""
    session = sessions(request).read(request)
    if session is None or session.account_id is None or not session.user_id:
        raise SignInRequired
    ledger = ledger_of(request)
    row = await run_in_threadpool(ledger.find_account, session.account_id)
    if row is None:
        raise SignInRequired
    user = await run_in_threadpool(
        ledger.find_user, session.account_id, session.user_id
    )
    if user is None or not user["active"]:
        raise SignInRequired
    return Member(session, _context(row), row["name"], user)


InboxUser = Annotated[Member, Depends(member)]


async def form_fields(request: Request) -> dict[str, str]:
    """A posted form's fields (the last of a repeated name wins)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


Form = Annotated[dict[str, str], Depends(form_fields)]


def check_csrf(who: Visitor | Member | Session, form: dict[str, str]) -> None:
    session = who if isinstance(who, Session) else who.session
    if not session.accepts(form.get(CSRF_FIELD)):
        raise BadForm


def render(
    request: Request,
    template: str,
    who: Visitor | Member | None,
    status: int = 200,
    /,
    **context: Any,
) -> HTMLResponse:
    page = templates.get_template(template).render(
        request=request,
        who=who,
        csrf_token=who.session.csrf if who else context.pop("csrf_token", ""),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(page, status_code=status, headers=HEADERS)


def see_other(url: str) -> RedirectResponse:
    """After a form: the browser fetches `url` with GET (no re-post on reload)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def day_start(
    raw: str, zone: str, field: str, *, next_day: bool = False
) -> datetime | None:
    """The start of a day (or of the day after) in the browser's time zone,
    which the page's script adds to its forms; UTC when it could not."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(field, "is not a date") from None
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    if next_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=tz)


class WebRoute(APIRoute):
    """A console route: its failures are pages a person can act on."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            began = perf_counter()
            response = await self._answer(handler, request)
            # The server's own time, for the browser's tools and the benchmark.
            spent = (perf_counter() - began) * 1000
            response.headers["Server-Timing"] = f"app;dur={spent:.1f}"
            return response

        return handle

    async def _answer(
        self,
        handler: Callable[[Request], Coroutine[Any, Any, Response]],
        request: Request,
    ) -> Response:
        try:
            return await handler(request)
        except SignInRequired:
            target = request.url.path
            if request.url.query:
                target += "?" + request.url.query
            if request.method != "GET":
                target = "/"
            return see_other("/sign-in?next=" + quote(target, safe=""))
        except BadForm:
            return await _error(
                request,
                403,
                "This form has expired",
                "Nothing was changed. Go back, reload the page and try again.",
            )
        except NotFound:
            return await _error(
                request,
                404,
                "Not found",
                "There is nothing at this address in your account.",
            )
        except Forbidden:
            return await _error(
                request,
                403,
                "Not yours to act on",
                "Someone else has this text now: only they can reply to it or"
                " hand it on. Nothing was changed.",
            )
        except Conflict as error:
            return await _error(request, 409, "Not done", str(error))
        except InvalidInput as error:
            return await _error(
                request,
                422,
                "Check what you entered",
                f"{words.field_label(error.field)}: {error.message}.",
            )
        except RequestValidationError:
            return await _error(
                request,
                400,
                "This address is not one the console made",
                "Go back, or start again from the list.",
            )
        except DomainError as error:  # pragma: no cover - every kind is above
            return await _error(request, 400, "Not done", str(error))


async def _error(
    request: Request, status: int, title: str, detail: str
) -> HTMLResponse:
    who: Visitor | Member | None = None
    for signed_in in (visitor, member):
        try:
            who = await signed_in(request)
            break
        except SignInRequired:
            pass
    return render(request, "error.html", who, status, title=title, detail=detail)
