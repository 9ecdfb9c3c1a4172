"""The one place where errors become `application/problem+json` (RFC 9457)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from domain.errors import Conflict, DomainError, InvalidInput, NotFound, Unauthenticated
from ledger.storage import UNAVAILABLE

PROBLEM = "application/problem+json"
TYPES = "https://smsledger.dev/problems/"
log = logging.getLogger("smsledger.api")
# Seconds a client should wait before retrying while the database is away: the
# service probes it five times a second and serves within one probe of its return.
RETRY_AFTER_SECONDS = 2


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: Sequence[dict[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem response; `slug` names its type, else the status alone says it."""
    body = {
        "type": TYPES + slug if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "errors": list(errors),
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def field_name(loc: Sequence[str | int]) -> str:
    """The field as the client wrote it: `phones[0]`, `from`, `limit`."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "path", "query") else list(loc)
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "is invalid"))
    # pydantic prefixes messages of custom validators; the field says enough.
    return message.removeprefix("Value error, ")


def _malformed() -> JSONResponse:
    return problem(
        400,
        "The body is not valid JSON.",
        slug="malformed-json",
        errors=[{"field": "body", "message": "is not valid JSON"}],
    )


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return _malformed()
    fields = [
        {"field": field_name(e.get("loc", ())), "message": _validation_message(e)}
        for e in errors
    ]
    names = ", ".join(dict.fromkeys(f["field"] for f in fields))
    return problem(422, f"Invalid {names}.", slug="invalid-input", errors=fields)


def domain_problem(exc: DomainError) -> JSONResponse | None:
    """The problem a domain error is answered with; None if it has none."""
    if isinstance(exc, InvalidInput):
        return problem(
            422,
            str(exc),
            slug="invalid-input",
            errors=[{"field": exc.field, "message": exc.message}],
        )
    if isinstance(exc, NotFound):
        return problem(404, str(exc), slug="not-found")
    if isinstance(exc, Conflict):
        return problem(409, str(exc), slug="conflict")
    if isinstance(exc, Unauthenticated):
        return problem(401, str(exc), headers={"WWW-Authenticate": "Bearer"})
    return None


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    response = domain_problem(exc)
    if response is None:
        raise exc
    return response


def unavailable_problem(exc: BaseException) -> JSONResponse | None:
    """503 with Retry-After if the database is away, busy or locked; None if
    `exc` is another error. Not logged: the outage is, once."""
    if not isinstance(exc, UNAVAILABLE):
        return None
    return problem(
        503,
        "The database is unavailable or busy; nothing was recorded. "
        f"Try again in {RETRY_AFTER_SECONDS} seconds.",
        slug="unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    response = unavailable_problem(exc)
    if response is None:
        raise exc
    return response


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:
        # No route raises 400: FastAPI does, for a body it cannot decode at all
        # (bad UTF-8, nesting too deep), which is malformed JSON too.
        return _malformed()
    return problem(exc.status_code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    response = unavailable_problem(exc)
    if response is not None:
        return response
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "The server failed unexpectedly.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error)
    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, _unavailable)
    app.add_exception_handler(Exception, _unexpected)


_MEANINGS = {
    400: "The body is not valid JSON.",
    401: "No API key, or not a valid one.",
    403: "The request is not signed by the account's provider.",
    404: "Not found in this account.",
    409: "Contradicts what the ledger already holds.",
    413: "The body is larger than the server accepts.",
    422: "A field is invalid; `errors` names each one.",
    429: "Over a fair-use limit: retry after `Retry-After` seconds.",
    503: "The database is away or busy (retry after `Retry-After` seconds),"
    " or, for /readyz, not ready to route: `detail` says what is missing.",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems a route can answer."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": _MEANINGS[status],
            "content": {PROBLEM: {"schema": schema}},
        }
        for status in statuses
    }
