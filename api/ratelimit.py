"""Fair use: quotas per window and caps on what runs at once, answered 429.

Counts are kept in this process: with several workers, each enforces its own
share, so a client may get up to workers x a limit in all. The answers carry
the IETF `RateLimit-Policy` and `RateLimit` fields
(draft-ietf-httpapi-ratelimit-headers): `"name";q=quota;w=window` and
`"name";r=remaining;t=seconds until the quota is whole again`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Depends, Request, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsledger.api.deps import CurrentAccount
from smsledger.api.errors import problem
from smsledger.api.settings import Settings


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and the header fields that say so."""

    allowed: bool
    headers: dict[str, str]
    retry_after: int

    def refusal(self, detail: str) -> HTTPException:
        headers = {**self.headers, "Retry-After": str(self.retry_after)}
        return HTTPException(429, detail, headers=headers)


class Window:
    """At most `quota` requests per key in each fixed window of `seconds`.

    Only the current window's counts are kept, so memory follows the keys
    seen in one window. A quota of 0 means no limit.
    """

    def __init__(
        self,
        name: str,
        quota: int,
        seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.quota = quota
        self.seconds = seconds
        self.clock = clock
        self.policy = f'"{name}";q={quota};w={seconds}'
        self._window = -1
        self._counts: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def take(self, key: Hashable) -> Verdict:
        if not self.quota:
            return Verdict(True, {}, 0)
        now = self.clock()
        window = int(now // self.seconds)
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            used = self._counts.get(key, 0)
            allowed = used < self.quota
            if allowed:
                used += 1
                self._counts[key] = used
        reset = max(1, math.ceil((window + 1) * self.seconds - now))
        headers = {
            "RateLimit-Policy": self.policy,
            "RateLimit": f'"{self.name}";r={self.quota - used};t={reset}',
        }
        return Verdict(allowed, headers, reset)


class Slots:
    """At most `limit` requests per key running at once (0: no limit)."""

    def __init__(self, name: str, limit: int, retry_after: int) -> None:
        self.name = name
        self.limit = limit
        self.retry_after = retry_after
        self._running: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def acquire(self, key: Hashable) -> Verdict:
        if not self.limit:
            return Verdict(True, {}, 0)
        with self._lock:
            running = self._running.get(key, 0)
            allowed = running < self.limit
            if allowed:
                running += 1
                self._running[key] = running
        # A cap on what runs at once has no window: only q and r apply.
        headers = {
            "RateLimit-Policy": f'"{self.name}";q={self.limit}',
            "RateLimit": f'"{self.name}";r={self.limit - running}',
        }
        return Verdict(allowed, headers, self.retry_after)

    def release(self, key: Hashable) -> None:
        with self._lock:
            left = self._running.get(key, 0) - 1
            if left > 0:
                self._running[key] = left
            else:  # no limit, or the last one: nothing kept
                self._running.pop(key, None)


# Requests that change nothing are never counted as writes.
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteLimit:
    """ASGI middleware: each API key's writes counted against `window`.

    Requests without a bearer key (the Twilio webhook) are not counted here.
    Every counted answer carries the RateLimit fields; beyond the quota the
    answer is 429 before anything reads the body.
    """

    def __init__(self, app: ASGIApp, window: Window) -> None:
        self.app = app
        self.window = window

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in READS
            or not self.window.quota
            or (key := _bearer(scope)) is None
        ):
            await self.app(scope, receive, send)
            return
        verdict = self.window.take(key)
        if not verdict.allowed:
            refusal = verdict.refusal(
                f"This API key has made {self.window.quota} writes in "
                f"{self.window.seconds} s, its limit: retry after "
                f"{verdict.retry_after} s."
            )
            response = problem(
                429, str(refusal.detail), slug="rate-limited", headers=refusal.headers
            )
            await response(scope, receive, send)
            return
        fields = [(k.lower().encode(), v.encode()) for k, v in verdict.headers.items()]

        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *fields]
            await send(message)

        await self.app(scope, receive, send_with_fields)


def _bearer(scope: Scope) -> bytes | None:
    """The raw bearer credentials of a request, if it has any."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, key = bytes(value).partition(b" ")
            key = key.strip()
            return key if scheme.lower() == b"bearer" and key else None
    return None


class Limits:
    """This process's counts for every limit, sized by the settings."""

    def __init__(self, settings: Settings) -> None:
        self.writes = Window(
            "writes", settings.write_limit, settings.write_limit_window
        )
        self.expensive = Window(
            "expensive", settings.expensive_limit, settings.expensive_limit_window
        )
        self.expensive_running = Slots(
            "expensive-running", settings.expensive_concurrency, retry_after=1
        )
        self.long_listing = settings.long_listing
        # A stream ends when its client goes: some seconds before trying again.
        self.streams_per_key = Slots(
            "alert-streams-per-key", settings.alert_streams_per_key, retry_after=10
        )
        self.streams_per_user = Slots(
            "alert-streams-per-user", settings.alert_streams_per_user, retry_after=10
        )

    @contextmanager
    def expensive_request(self, account_id: str, response: Response) -> Iterator[None]:
        """Hold one of the account's slots for expensive requests, and count it."""
        running = self.expensive_running.acquire(account_id)
        if not running.allowed:
            raise running.refusal(
                f"{self.expensive_running.limit} expensive requests of this account"
                " are running: retry when one has finished."
            )
        try:
            counted = self.expensive.take(account_id)
            if not counted.allowed:
                raise counted.refusal(
                    f"This account has made {self.expensive.quota} expensive requests"
                    f" in {self.expensive.seconds} s, its limit: retry after"
                    f" {counted.retry_after} s."
                )
            response.headers.update(counted.headers)
            yield
        finally:
            self.expensive_running.release(account_id)

    def open_stream(self, key: str, user: tuple[str, str]) -> Callable[[], None]:
        """Count a stream against its key and its user; what closes it."""
        by_key = self.streams_per_key.acquire(key)
        if not by_key.allowed:
            raise by_key.refusal(
                f"This API key has {self.streams_per_key.limit} alert streams open,"
                " its limit: close one first."
            )
        by_user = self.streams_per_user.acquire(user)
        if not by_user.allowed:
            self.streams_per_key.release(key)
            raise by_user.refusal(
                f"This user has {self.streams_per_user.limit} alert streams open,"
                " the limit: close one first."
            )

        def close() -> None:
            self.streams_per_user.release(user)
            self.streams_per_key.release(key)

        return close


def get_limits(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


async def expensive(
    request: Request, response: Response, ctx: CurrentAccount
) -> AsyncIterator[None]:
    """Dependency: the request is an expensive one of its account."""
    with get_limits(request).expensive_request(ctx.account_id, response):
        yield


async def long_listing(
    request: Request, response: Response, ctx: CurrentAccount
) -> AsyncIterator[None]:
    """Dependency: a listing asking for more than `long_listing` items is an
    expensive request; a shorter one is not."""
    limits = get_limits(request)
    asked = request.query_params.get("limit", "")
    if not asked.isdigit() or int(asked) <= limits.long_listing:
        yield
        return
    with limits.expensive_request(ctx.account_id, response):
        yield


Expensive = Depends(expensive)
LongListing = Depends(long_listing)
