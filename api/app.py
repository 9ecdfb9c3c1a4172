"""The composition root: one `Ledger` per process, wired into the routes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from smsledger.api import errors, metrics, web
from smsledger.api.errors import documented
from smsledger.api.hot import HotRoute, HotRoutes
from smsledger.api.idempotency import InFlight
from smsledger.api.limits import BodyLimit
from smsledger.api.logs import RequestIds
from smsledger.api.ratelimit import Limits, WriteLimit
from smsledger.api.routes import (
    accounts,
    alerts,
    api_keys,
    audit,
    contacts,
    handoffs,
    health,
    inbound,
    interactions,
    numbers,
    transfers,
    twilio,
    users,
)
from smsledger.api.schemas.decisions import Decision, InboundSms
from smsledger.api.schemas.interactions import (
    CallNote,
    CampaignSmsNote,
    Interaction,
    SmsNote,
)
from smsledger.api.schemas.service import Problem
from smsledger.api.settings import Settings
from smsledger.ledger.application import Ledger
from smsledger.ledger.batch import Batcher
from smsledger.ledger.replicas import Replicas
from smsledger.ledger.signin import Mailer

DESCRIPTION = """\
Routes each inbound SMS to the team member who expects it, and records why.

Every `/v1` path but account creation and the Twilio webhook needs
`Authorization: Bearer <api_key>`. Errors are `application/problem+json`
(RFC 9457) with an `errors` list naming each bad field.

Any `POST` can be retried safely with an `Idempotency-Key` header: the same
key and body answer what the first request answered; another body, 422.
"""


# The routes clients call most, answered by `HotRoutes` when they can be.
_noted = TypeAdapter(Interaction)
HOT_ROUTES = {
    "/v1/interactions/sms": HotRoute(SmsNote, interactions.record, _noted),
    "/v1/interactions/campaign-sms": HotRoute(
        CampaignSmsNote, interactions.record, _noted
    ),
    "/v1/interactions/calls": HotRoute(CallNote, interactions.record, _noted),
    "/v1/inbound-sms": HotRoute(InboundSms, inbound.route, TypeAdapter(Decision)),
}


def create_app(settings: Settings | None = None, *, hot: bool = True) -> FastAPI:
    """The application; with no settings, they are read from the environment.

    `hot=False` leaves every request to FastAPI (see `smsledger.api.hot`)."""
    settings = settings or Settings()
    ledger = Ledger(settings.database_url, settings.sealer())
    ledger.mailer = Mailer(settings.mail_transport(), settings.mail_from)
    batcher = Batcher(ledger)
    replicas = Replicas(
        ledger, settings.replica_urls(), wait=settings.replica_wait_seconds
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What starting made lives as long as the worker: kept out of every
        # later full collection, whose pause (tens of ms) would fall on the
        # requests in flight.
        gc.collect()
        gc.freeze()
        yield
        batcher.stop()
        replicas.close()
        ledger.close()

    app = FastAPI(
        title="smsledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        separate_input_output_schemas=False,
        # Served by `smsledger.api.web`, from the package rather than a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ledger = ledger
    app.state.batcher = batcher
    app.state.limits = limits = Limits(settings)
    app.state.in_flight = InFlight()
    app.state.replicas = replicas
    errors.install(app)
    app.add_middleware(
        BodyLimit, limit=settings.max_body_bytes, exempt=transfers.STREAMED
    )
    if hot:
        app.add_middleware(
            HotRoutes,
            routes=HOT_ROUTES,
            ledger=ledger,
            batcher=batcher,
            settings=settings,
            in_flight=app.state.in_flight,
        )
    # A write over the limit is refused before anything reads it, on the hot
    # routes as on every other; inside the metrics and ids, so its 429s are
    # timed and logged.
    app.add_middleware(WriteLimit, window=limits.writes)
    if settings.metrics:
        app.add_middleware(metrics.RequestMetrics, hot_paths=HOT_ROUTES)
        app.include_router(metrics.router)
    app.add_middleware(RequestIds)
    # Routers are matched in order: the routes clients call most come first.
    for module in (
        interactions,
        inbound,
        health,
        accounts,
        api_keys,
        users,
        alerts,
        contacts,
        numbers,
        handoffs,
        audit,
        twilio,
        transfers,
    ):
        app.include_router(module.router)
    web.install(app, settings)
    # FastAPI's documented way to extend the schema is to replace this method.
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the problem body every error response refers to."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            separate_input_output_schemas=False,
        )
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        _document_limits(schema)
        app.openapi_schema = schema
    return app.openapi_schema


# What a 429 carries (api/ratelimit.py).
LIMIT_HEADERS = {
    "Retry-After": "Seconds to wait before trying again.",
    "RateLimit-Policy": 'The limit: `"name";q=quota;w=window in seconds`.',
    "RateLimit": 'What is left of it: `"name";r=remaining;t=seconds to reset`.',
}


def _document_limits(schema: dict[str, Any]) -> None:
    """Every write with a key can meet the write limit, and the expensive
    routes their own: 429, with its header fields."""
    (limited,) = documented(429).values()
    limited["headers"] = {
        name: {"description": text, "schema": {"type": "string"}}
        for name, text in LIMIT_HEADERS.items()
    }
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.get("responses", {})
            keyed = method != "get" and "security" in operation
            if keyed or "429" in responses:
                responses["429"] = limited
