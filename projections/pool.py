"""PostgreSQL connections that fail at once while the database is away.

On its own, psycopg_pool keeps a request waiting its whole timeout (30 s) for a
connection that cannot come, and backs off reconnecting exponentially: after a
45 s outage the service took 12.9 s to serve again. Here any sign of trouble (a
connection broken in use, a connection refused, none free in time) starts a
probe. While the probe cannot connect, asking for a connection fails at once
with `DatabaseUnavailable`; as soon as it can, the pool drops the connections
the outage broke and serves again, so recovery takes one probe interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from eventsourcing.postgres import ConnectionPool, PostgresDatastore
from psycopg_pool import PoolTimeout

log = logging.getLogger("smsledger.database")

# The longest a request waits for a connection, in slices, so that a waiter
# hears within a slice that the database is away.
WAIT_SECONDS = 1.5
SLICE_SECONDS = 0.1
PROBE_EVERY_SECONDS = 0.2
# libpq's least: a server that neither accepts nor refuses costs this long.
CONNECT_TIMEOUT_SECONDS = 2


class DatabaseUnavailable(psycopg.OperationalError):
    """The database did not answer the last probe: refused without waiting."""


class Availability:
    """Whether the database answers, as the last probe found.

    `probe` connects once and raises if it cannot; `recovered` runs once it
    can again, before requests are let through.
    """

    def __init__(
        self, name: str, probe: Callable[[], None], recovered: Callable[[], None]
    ) -> None:
        self.name = name
        self._probe = probe
        self._recovered = recovered
        self._lock = threading.Lock()
        self._probing = False
        self._stop = threading.Event()
        # (since, why) while the database is away.
        self._down: tuple[float, str] | None = None

    def check(self) -> None:
        """Raise `DatabaseUnavailable` if the database is known to be away."""
        down = self._down
        if down is not None:
            raise DatabaseUnavailable(f"{self.name} does not answer: {down[1]}")

    def suspect(self) -> None:
        """Something failed: probe the database, unless a probe is under way."""
        with self._lock:
            if self._probing or self._stop.is_set():
                return
            self._probing = True
        threading.Thread(
            target=self._watch, name="smsledger-database-probe", daemon=True
        ).start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        try:
            while not self._answers():
                if self._stop.wait(PROBE_EVERY_SECONDS):
                    return
            self._recovered()
        finally:
            with self._lock:
                down, self._down = self._down, None
                self._probing = False
        if down is not None:
            log.warning(
                "%s answers again, after %.1f s", self.name, time.monotonic() - down[0]
            )

    def _answers(self) -> bool:
        try:
            self._probe()
        except Exception as error:
            why = " ".join(str(error).split()) or type(error).__name__
            if self._down is None:
                log.warning(
                    "%s does not answer (%s): requests get 503 until it does",
                    self.name,
                    why,
                )
            # The latest reason: "shutting down" gives way to "refused".
            self._down = (self._down[0] if self._down else time.monotonic(), why)
            return False
        return True


class FailFastPool(ConnectionPool[Any]):
    """eventsourcing's pool, refusing at once while the database is away."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        given = self.kwargs if isinstance(self.kwargs, dict) else {}
        self.availability = Availability(
            f"PostgreSQL database {given.get('dbname')!r} on "
            f"{given.get('host')}:{given.get('port')}",
            self._connect_once,
            self.check,  # drops the connections the outage broke
        )

    def getconn(self, timeout: float | None = None) -> Any:
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            self.availability.check()
            try:
                return super().getconn(min(SLICE_SECONDS, deadline - time.monotonic()))
            except PoolTimeout:
                if time.monotonic() >= deadline:
                    self.availability.suspect()
                    raise PoolTimeout(
                        f"no connection to {self.availability.name} in {wait:.1f} s"
                    ) from None

    def putconn(self, conn: Any) -> None:
        if conn.broken:
            self.availability.suspect()
        super().putconn(conn)

    def _connect(self, timeout: float | None = None) -> Any:
        try:
            return super()._connect(timeout)
        except psycopg.OperationalError:
            self.availability.suspect()
            raise

    def close(self, timeout: float = 5.0) -> None:
        self.availability.stop()
        super().close(timeout)

    def _connect_once(self) -> None:
        kwargs = dict(self.kwargs) if isinstance(self.kwargs, dict) else {}
        if self.get_password_func:
            kwargs["password"] = self.get_password_func()
        psycopg.connect(**kwargs).close()


def fail_fast_pool(datastore: PostgresDatastore) -> FailFastPool:
    """A pool for `datastore` like the one it made, but failing fast.

    Reconnecting gives up at once: a connection the outage cost is made again
    when a request needs it, not on a backoff schedule that outlives the
    outage.
    """
    given = datastore.pool
    assert isinstance(given.kwargs, dict)  # as eventsourcing makes it
    return FailFastPool(
        connection_class=given.connection_class,
        kwargs={**given.kwargs, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
        min_size=given.min_size,
        max_size=given.max_size,
        open=False,
        configure=datastore.after_connect_func(),
        check=ConnectionPool.check_connection if datastore.pre_ping else None,
        timeout=WAIT_SECONDS,
        max_waiting=given.max_waiting,
        max_lifetime=given.max_lifetime,
        reconnect_timeout=0,
        get_password_func=given.get_password_func,
    )
