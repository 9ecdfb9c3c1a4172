"""What a route needs, as `Annotated` dependencies: the ledger and who is asking."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from smsledger.api.errors import unauthorized
from smsledger.api.idempotency import InFlight
from smsledger.api.settings import Settings
from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.batch import Batcher
from smsledger.ledger.replicas import Replicas

T = TypeVar("T")

# auto_error off: a missing key is answered 401 as a problem, not FastAPI's 403.
bearer = HTTPBearer(auto_error=False, description="The account's API key.")
admin_bearer = HTTPBearer(
    scheme_name="AdminToken", auto_error=False, description="The ADMIN_TOKEN."
)
Credentials = HTTPAuthorizationCredentials | None


# Async, though they do no I/O: FastAPI runs a plain `def` dependency in a
# worker thread, and a thread hop per dependency costs more than the lookup.
async def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_in_flight(request: Request) -> InFlight:
    in_flight: InFlight = request.app.state.in_flight
    return in_flight


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
InFlightDep = Annotated[InFlight, Depends(get_in_flight)]


def current_account(
    ledger: LedgerDep, credentials: Annotated[Credentials, Depends(bearer)]
) -> AccountContext:
    return _valid(ledger.authenticate(_api_key(credentials)))


def _api_key(credentials: Credentials) -> str:
    if credentials is None:
        raise unauthorized("An API key is required: Authorization: Bearer <api_key>.")
    return credentials.credentials


def _valid(ctx: AccountContext | None) -> AccountContext:
    if ctx is None:
        raise unauthorized("The API key is not valid.")
    return ctx


@dataclass(frozen=True)
class Caller:
    """An account known by its key, and what carries out its hot commands."""

    ctx: AccountContext
    ledger: Ledger
    batcher: Batcher
    settings: Settings
    in_flight: InFlight


# One dependency, reading the app's state itself: each dependency FastAPI
# solves costs a hot route more CPU than the lookups do.
async def known_caller(
    request: Request, credentials: Annotated[Credentials, Depends(bearer)]
) -> Caller:
    """As `current_account`, but a key seen before costs no query: its settings
    may be stale, so only for routes whose verb reads them again."""
    key = _api_key(credentials)
    ledger: Ledger = request.app.state.ledger
    ctx = ledger.known_account(key) or await run_in_threadpool(ledger.authenticate, key)
    state = request.app.state
    return Caller(_valid(ctx), ledger, state.batcher, state.settings, state.in_flight)


def require_admin(
    settings: SettingsDep, credentials: Annotated[Credentials, Depends(admin_bearer)]
) -> None:
    """Only the ADMIN_TOKEN passes; an account's key is no admin token."""
    if settings.admin_token is None:
        raise unauthorized("Admin access is disabled: ADMIN_TOKEN is not set.")
    expected = settings.admin_token.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(given, expected):
        raise unauthorized("The admin token is required.")


CurrentAccount = Annotated[AccountContext, Depends(current_account)]
KnownCaller = Annotated[Caller, Depends(known_caller)]
Admin = Depends(require_admin)


@dataclass(frozen=True)
class LaggingReads:
    """Reads that a hot standby may serve, once it holds `min_position`."""

    replicas: Replicas
    min_position: int

    def __call__(self, read: Callable[[Ledger], T]) -> T:
        return self.replicas.read(read, self.min_position)


async def lagging_reads(
    request: Request,
    min_position: Annotated[
        int,
        Query(
            ge=0,
            description="A ledger `position` this read must include, such as a "
            "write's: with read replicas, a standby serves it only once it "
            "has replayed that far.",
        ),
    ] = 0,
) -> LaggingReads:
    return LaggingReads(request.app.state.replicas, min_position)


MayLag = Annotated[LaggingReads, Depends(lagging_reads)]
