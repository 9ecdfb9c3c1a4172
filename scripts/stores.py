"""The databases the benchmark runs on, and the baselines measured on each.

A store makes a fresh database for a ledger, settles it before latencies are
measured, and measures what the database itself does: one indexed SELECT, a
raw ordered scan of the events, one-row insert transactions, and the plain
eventsourcing pattern and stock projection runner on the same database.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import loadgen
import psutil
import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner

from smsledger.ledger.storage import persistence_env

RAW_BODY = "x" * 200  # a one-row insert's payload, about a stored event's size


def threaded_rate(
    work: Callable[[int], Callable[[], object]], threads: int, seconds: float
) -> float:
    """Operations per second of `threads` threads each repeating its operation."""
    counts = [0] * threads
    deadline = time.perf_counter() + seconds
    start = threading.Barrier(threads + 1)

    def run(n: int) -> None:
        operation = work(n)
        start.wait()
        while time.perf_counter() < deadline:
            operation()
            counts[n] += 1

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


class PlainNote(Aggregate):
    @event("Noted")
    def __init__(self, contact_id: str, user_id: str) -> None:
        self.contact_id = contact_id
        self.user_id = user_id


class PlainBaseline(Application[Any]):
    """The plain eventsourcing pattern: one `save`, one transaction, per command."""


@contextmanager
def plain_saves(env: dict[str, str]) -> Iterator[Callable[[int, float], float]]:
    """Saves per second, given so many threads and seconds, each thread
    saving one aggregate per transaction."""
    app = PlainBaseline(env=env)
    try:
        yield lambda threads, seconds: threaded_rate(
            lambda n: lambda: app.save(PlainNote(f"c{n}", "u1")), threads, seconds
        )
    finally:
        app.close()


def timed_queries(
    run: Callable[[str, str], object], fx: Any, samples: int
) -> list[float]:
    """Latencies of `run(account_id, contact_id)` for random contacts."""
    rng = random.Random(3)
    latencies = []
    for _ in range(samples):
        contact_id, _ = rng.choice(fx.contacts)
        began = time.perf_counter()
        run(fx.account_id, contact_id)
        latencies.append(time.perf_counter() - began)
    return latencies


async def at_rate_in_threads(
    insert: Callable[[], None], rate: float, seconds: float, warmup: float, threads: int
) -> list[float]:
    """Latencies of a blocking `insert` sent at `rate` from a pool of threads,
    as many as the HTTP load's connections."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(threads) as pool:

        async def send() -> bool:
            await loop.run_in_executor(pool, insert)
            return True

        result = await loadgen.at_rate(send, rate, seconds, warmup)
    return result.latencies


# PostgreSQL.


def server_cpu(url: str) -> float | None:
    """Seconds of CPU the PostgreSQL server behind `url` has used so far, the
    backends that have exited included (their postmaster reaps them); None for
    SQLite, which has no server, or for a server on another machine (or in a
    container, whose processes this one cannot see)."""
    if not url.startswith("postgresql") or urlsplit(url).hostname not in LOCAL:
        return None
    with psycopg.connect(url) as conn:  # open, so its backend is there to see
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row
        try:
            backend = psutil.Process(row[0])
            postmaster = backend.parent()
            if backend.name() != "postgres" or postmaster is None:
                return None
        except psutil.NoSuchProcess:
            return None
    times = postmaster.cpu_times()
    seconds: float = times.user + times.system
    seconds += times.children_user + times.children_system
    for process in postmaster.children():
        with suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            seconds += times.user + times.system
    return seconds


LOCAL = {None, "localhost", "127.0.0.1", "::1"}


class Postgres:
    name = "PostgreSQL"
    workers: int | None = None  # server processes: as many as asked

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def version(self) -> str:
        with psycopg.connect(self.admin_url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        assert row
        return f"PostgreSQL {row[0]}"

    def fresh(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return urlunsplit(urlsplit(self.admin_url)._replace(path="/" + name))

    def drop(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def existing(self, name: str) -> str | None:
        """The URL of a ledger generated before, if there is one."""
        with psycopg.connect(self.admin_url) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
        return (
            urlunsplit(urlsplit(self.admin_url)._replace(path="/" + name))
            if found
            else None
        )

    def settle(self, url: str) -> str:
        """VACUUM ANALYZE and CHECKPOINT, as pgbench does before a run: the
        ledger and the views are freshly written in bulk, so without it the
        planner has no statistics yet, and autovacuum or a checkpoint would
        start on them in the middle of a latency measurement."""
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
            try:
                conn.execute("CHECKPOINT")
            except psycopg.errors.InsufficientPrivilege:  # needs pg_checkpoint
                return "vacuumed (CHECKPOINT not allowed to this role)"
        return "vacuumed and checkpointed"

    def indexed_select(self, url: str, fx: Any, samples: int) -> list[float]:
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute(
                "SELECT version FROM smsledger_views WHERE name = 'routing'"
            ).fetchone()[0]  # type: ignore[index]
            statement = (
                f"SELECT * FROM sl{version}_contacts WHERE account_id = %s"
                " AND contact_id = %s"
            )
            return timed_queries(
                lambda *key: conn.execute(statement, key, prepare=True).fetchall(),
                fx,
                samples,
            )

    def raw_scan_rate(self, url: str) -> float:
        with psycopg.connect(url) as conn, conn.cursor(name="scan") as curs:
            curs.itersize = 5000
            began = time.perf_counter()
            curs.execute("SELECT * FROM ledger_events ORDER BY notification_id")
            rows = sum(1 for _ in curs)
            return rows / (time.perf_counter() - began)

    def _raw_table(self, url: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_raw"
                " (id bigserial PRIMARY KEY, body text)"
            )

    def raw_insert_rate(self, url: str, threads: int, seconds: float) -> float:
        self._raw_table(url)
        connections = [psycopg.connect(url, autocommit=True) for _ in range(threads)]
        try:
            return threaded_rate(
                lambda n: (
                    lambda: connections[n].execute(
                        "INSERT INTO bench_raw (body) VALUES (%s)",
                        (RAW_BODY,),
                        prepare=True,
                    )
                ),
                threads,
                seconds,
            )
        finally:
            for conn in connections:
                conn.close()

    def durable_inserts(
        self, url: str, rate: float, seconds: float, warmup: float, connections: int
    ) -> list[float]:
        """Latencies of one-row INSERT transactions, each committed durably,
        sent at `rate` a second over as many connections as the HTTP load."""
        self._raw_table(url)

        async def run() -> list[float]:
            opened = [
                await psycopg.AsyncConnection.connect(url, autocommit=True)
                for _ in range(connections)
            ]
            idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
            for conn in opened:
                idle.put_nowait(conn)

            async def send() -> bool:
                conn = await idle.get()
                try:
                    await conn.execute(
                        "INSERT INTO bench_raw (body) VALUES (%s)",
                        (RAW_BODY,),
                        prepare=True,
                    )
                    return True
                finally:
                    idle.put_nowait(conn)

            try:
                result = await loadgen.at_rate(send, rate, seconds, warmup)
            finally:
                for conn in opened:
                    await conn.close()
            return result.latencies

        return asyncio.run(run())

    @contextmanager
    def plain_eventsourcing(
        self, url: str, threads: int
    ) -> Iterator[Callable[[int, float], float]]:
        """See `plain_saves`. Open it before the server starts: making its
        tables replaces the library's insert function, as each server process
        does at start-up, and PostgreSQL refuses two such replacements at once.
        """
        env = {
            **persistence_env(url),
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_POOL_SIZE": str(threads + 2),
        }
        with plain_saves(env) as save:
            yield save

    def stock_runner_rate(self, url: str, events: int) -> float | None:
        env = {**persistence_env(url), "PERSISTENCE_MODULE": "eventsourcing.postgres"}
        began = time.perf_counter()
        with ProjectionRunner(
            application_class=LedgerEvents,
            projection_class=NotesProjection,
            view_class=NotesView,
            env=env,
        ) as runner:
            runner.wait(events, timeout=600)
        return events / (time.perf_counter() - began)


class NotesView(PostgresTrackingRecorder):
    """A one-table view for the stock runner: latest note per contact."""

    def _create_table(self, curs: Any) -> None:
        super()._create_table(curs)
        curs.execute(
            "CREATE TABLE IF NOT EXISTS bench_runner_notes ("
            " contact_id text PRIMARY KEY, position bigint)"
        )

    def note(self, contact_id: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO bench_runner_notes VALUES (%s, %s) ON CONFLICT"
                " (contact_id) DO UPDATE SET position = excluded.position",
                (contact_id, tracking.notification_id),
            )
            self._insert_tracking(curs, tracking)


class NotesProjection(Projection[NotesView]):
    name = "benchnotes"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        contact_id = getattr(domain_event, "contact_id", None) or "-"
        self.view.note(contact_id, tracking)


class LedgerEvents(Application[Any]):
    """The ledger's events read by the stock machinery, as any reader would."""

    name = "Ledger"


# SQLite.


class SQLite:
    """A file per ledger, in WAL mode with the library's default durability,
    served by one process: SQLite has one writer at a time."""

    name = "SQLite"
    workers: int | None = 1

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.db"

    def fresh(self, name: str) -> str:
        self.drop(name)
        self.directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self._path(name)}"

    def existing(self, name: str) -> str | None:
        """The URL of a ledger generated before, if there is one."""
        path = self._path(name)
        return f"sqlite:///{path}" if path.exists() else None

    def drop(self, name: str) -> None:
        for base in (self._path(name), self._path(f"{name}_plain")):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{base}{suffix}").unlink(missing_ok=True)

    @staticmethod
    def _file(url: str) -> str:
        return persistence_env(url)["SQLITE_DBNAME"]

    def _connect(self, url: str) -> sqlite3.Connection:
        # Autocommit: each statement is its own transaction.
        return sqlite3.connect(
            self._file(url), timeout=30, isolation_level=None, check_same_thread=False
        )

    def settle(self, url: str) -> str:
        """Move the write-ahead log into the database file, as a checkpoint
        would during the measurement. No ANALYZE: the service never runs one
        on SQLite, so the planner works without statistics there."""
        with closing(self._connect(url)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return "checkpointed"

    def indexed_select(self, url: str, fx: Any, samples: int) -> list[float]:
        with closing(self._connect(url)) as conn:
            row = conn.execute(
                "SELECT version FROM smsledger_views WHERE name = 'routing'"
            ).fetchone()
            statement = (
                f"SELECT * FROM sl{row[0]}_contacts WHERE account_id = ?"
                " AND contact_id = ?"
            )
            return timed_queries(
                lambda *key: conn.execute(statement, key).fetchall(), fx, samples
            )

    def raw_scan_rate(self, url: str) -> float:
        with closing(self._connect(url)) as conn:
            began = time.perf_counter()
            curs = conn.execute("SELECT rowid, * FROM stored_events ORDER BY rowid")
            rows = 0
            while chunk := curs.fetchmany(5000):
                rows += len(chunk)
            return rows / (time.perf_counter() - began)

    def _raw_inserter(self, url: str) -> Callable[[], None]:
        """A one-row insert transaction, on a connection of the calling thread's."""
        with closing(self._connect(url)) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_raw"
                " (id INTEGER PRIMARY KEY, body TEXT)"
            )
        local = threading.local()

        def insert() -> None:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = self._connect(url)
            conn.execute("INSERT INTO bench_raw (body) VALUES (?)", (RAW_BODY,))

        return insert

    def raw_insert_rate(self, url: str, threads: int, seconds: float) -> float:
        insert = self._raw_inserter(url)
        return threaded_rate(lambda n: insert, threads, seconds)

    def durable_inserts(
        self, url: str, rate: float, seconds: float, warmup: float, connections: int
    ) -> list[float]:
        insert = self._raw_inserter(url)
        return asyncio.run(
            at_rate_in_threads(insert, rate, seconds, warmup, connections)
        )

    @contextmanager
    def plain_eventsourcing(
        self, url: str, threads: int
    ) -> Iterator[Callable[[int, float], float]]:
        """See `plain_saves`: in a file of its own beside the ledger's, whose
        events table has the same name."""
        plain = Path(self._file(url))
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(plain.with_name(f"{plain.stem}_plain.db")),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
        with plain_saves(env) as save:
            yield save

    def stock_runner_rate(self, url: str, events: int) -> float | None:
        """None: the stock runner follows the ledger by subscription, which the
        library's SQLite recorder does not offer."""
        return None


Store = Postgres | SQLite


def stores(names: Sequence[str], admin_url: str, root: Path) -> list[Store]:
    """The stores named, in that order."""
    made: dict[str, Callable[[], Store]] = {
        "postgresql": lambda: Postgres(admin_url),
        "sqlite": lambda: SQLite(root / "var" / "bench"),
    }
    return [made[name]() for name in names]
