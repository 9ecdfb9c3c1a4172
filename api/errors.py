"""The one place where errors become `application/problem+json` (RFC 9457)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from smsledger.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from smsledger.domain.signin import SignInFailed
from smsledger.ledger.storage import UNAVAILABLE

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


# Where FastAPI found a value: not part of the field's name.
_SOURCES = ("body", "path", "query", "header", "cookie")
# Pydantic names the member of a union a value failed to match
# (`literal['a','b']`, `function-after[...]`, `none`): not part of it either.
_UNION_MEMBERS = ("none", "str", "int", "bool", "float")


def field_name(loc: Sequence[str | int]) -> str:
    """The field as the client wrote it: `phones[0]`, `from`, `limit`."""
    parts = list(loc[1:]) if loc and loc[0] in _SOURCES else list(loc)
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        elif "[" in part or part in _UNION_MEMBERS:
            continue
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


_CHOICE = re.compile(r"'([^']*)'")
# Pydantic's messages, in the words the rest of the API uses.
_PLAIN: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda ctx: "is required",
    "extra_forbidden": lambda ctx: "is not a known field",
    "literal_error": lambda ctx: (
        "must be one of " + ", ".join(_CHOICE.findall(str(ctx.get("expected", ""))))
    ),
    "bool_type": lambda ctx: "must be true or false",
    "bool_parsing": lambda ctx: "must be true or false",
    "int_type": lambda ctx: "must be an integer",
    "int_parsing": lambda ctx: "must be an integer",
    "int_from_float": lambda ctx: "must be an integer",
    "string_type": lambda ctx: "must be a string",
    "list_type": lambda ctx: "must be a list",
    "model_attributes_type": lambda ctx: "must be a JSON object",
    "dict_type": lambda ctx: "must be a JSON object",
    "string_too_long": lambda ctx: f"must be at most {ctx['max_length']} characters",
    "too_long": lambda ctx: f"must have at most {ctx['max_length']} items",
    "greater_than_equal": lambda ctx: f"must be at least {ctx['ge']}",
    "greater_than": lambda ctx: f"must be more than {ctx['gt']}",
    "less_than_equal": lambda ctx: f"must be at most {ctx['le']}",
    "less_than": lambda ctx: f"must be less than {ctx['lt']}",
    "datetime_type": lambda ctx: "must be a date and time (RFC 3339)",
    "datetime_parsing": lambda ctx: "must be a date and time (RFC 3339)",
    "datetime_from_date_parsing": lambda ctx: "must be a date and time (RFC 3339)",
}


def _validation_message(error: Mapping[str, Any]) -> str:
    plain = _PLAIN.get(str(error.get("type")))
    if plain is not None:
        try:
            return plain(error.get("ctx") or {})
        except KeyError:
            pass
    message = str(error.get("msg", "is invalid"))
    # pydantic prefixes messages of custom validators; the field says enough.
    return message.removeprefix("Value error, ")


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One entry per bad field, named and worded for the client.

    An optional field that is not null fails both members of its union: the
    value's own error says what is wrong, "must be null" does not.
    """
    named = [(field_name(e.get("loc", ())), e) for e in errors]
    with_own_error = {f for f, e in named if e.get("type") != "none_required"}
    fields: dict[tuple[str, str], None] = {}
    for field, error in named:
        if error.get("type") == "none_required" and field in with_own_error:
            continue
        fields[(field, _validation_message(error))] = None
    return [{"field": f, "message": m} for f, m in fields]


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
    fields = field_errors(errors)
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
    if isinstance(exc, Forbidden):
        return problem(403, str(exc), slug="forbidden")
    if isinstance(exc, SignInFailed):
        # The same answer whatever the reason: a guess learns nothing.
        return problem(403, "The sign-in link is not valid.", slug="sign-in-failed")
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
