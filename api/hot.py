"""The hot routes, answered without FastAPI's per-request machinery.

Recording notes and routing inbound SMS are nearly all of the traffic. For
them, FastAPI's routing, dependency solving and response checks took a worker
more CPU than the command itself: with 32 clients recording, nearly two thirds
of the time a worker held the GIL went there, against a quarter for the batch
thread that reads, decides and appends (py-spy --gil).

`HotRoutes` answers such a request itself only when it can answer exactly as
the route would: a POST of JSON, with a key this process has authenticated
before, a body the route's own model accepts and, if it has one, an
Idempotency-Key of the right form. Every other request goes on to the app as
it came (its body replayed), so 401, 413, 422 and the rest are answered in one
place. The answers are the route's, byte for byte
(`tests/api/test_hot_routes.py`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from smsledger.api import idempotency
from smsledger.api.deps import Caller
from smsledger.api.errors import domain_problem, unavailable_problem
from smsledger.api.idempotency import InFlight
from smsledger.api.limits import replay
from smsledger.api.settings import Settings
from smsledger.domain.errors import DomainError, InvalidInput
from smsledger.ledger.application import Ledger, Saved
from smsledger.ledger.batch import Batcher


@dataclass(frozen=True)
class HotRoute:
    """What a hot route's function does: its body, its command, its answer."""

    body: type[BaseModel]
    # Given the caller, the body and the Idempotency-Key (None without one).
    command: Callable[[Caller, Any, str | None], Awaitable[Saved]]
    answer: TypeAdapter[Any]


class HotRoutes:
    """ASGI middleware: the routes in `routes` (POST, by path) answered here
    when they can be; everything else passed on to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Mapping[str, HotRoute],
        ledger: Ledger,
        batcher: Batcher,
        settings: Settings,
        in_flight: InFlight,
    ) -> None:
        self.app = app
        self.routes = routes
        self.ledger = ledger
        self.batcher = batcher
        self.settings = settings
        self.in_flight = in_flight
        self.limit = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (
            self.routes.get(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        headers = _headers(scope) if route else {}
        length = headers.get(b"content-length", b"")
        if (
            route is None
            or not _json(headers.get(b"content-type", b""))
            or not length.isdigit()
            or int(length) > self.limit
        ):
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        if body is None:  # the client went away
            return
        caller = self._caller(headers.get(b"authorization", b""))
        parsed = _parsed(route.body, body) if caller else None
        raw_key = headers.get(b"idempotency-key")
        key = _key(raw_key) if raw_key is not None else None
        if caller is None or parsed is None or (raw_key is not None and key is None):
            await self.app(scope, replay(body, receive), send)
            return
        try:
            saved = await route.command(caller, parsed, key)
        except Exception as error:
            # Mapped as the app maps them: outside it, no handler would.
            problem = (
                domain_problem(error)
                if isinstance(error, DomainError)
                else unavailable_problem(error)
            )
            if problem is None:
                raise
            await problem(scope, receive, send)
            return
        content = route.answer.dump_json(
            route.answer.validate_python(saved.value, from_attributes=True),
            by_alias=True,
        )
        await send(
            {
                "type": "http.response.start",
                "status": 201 if saved.created else 200,
                "headers": [
                    (b"content-length", str(len(content)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})

    def _caller(self, authorization: bytes) -> Caller | None:
        """The caller of a key this process knows; None for the app to decide."""
        scheme, key = get_authorization_scheme_param(authorization.decode("latin-1"))
        ctx = self.ledger.known_account(key) if scheme.lower() == "bearer" else None
        if ctx is None:
            return None
        return Caller(ctx, self.ledger, self.batcher, self.settings, self.in_flight)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The first value of each header, as Starlette reads them."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name, value)
    return headers


def _json(content_type: bytes) -> bool:
    return content_type.split(b";")[0].strip().lower() == b"application/json"


async def _read(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _key(raw: bytes) -> str | None:
    """The Idempotency-Key sent; None for the app to refuse."""
    try:
        return idempotency.parse(raw.decode("latin-1"))
    except InvalidInput:
        return None


def _parsed(model: type[BaseModel], body: bytes) -> BaseModel | None:
    """The body as the route's model, read as FastAPI reads it; None if not."""
    try:
        return model.model_validate(json.loads(body))
    except (ValueError, ValidationError, RecursionError):
        return None
