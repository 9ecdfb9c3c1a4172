"""A primary and a streaming hot standby of the test's own, on loopback."""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from smsledger.ledger.application import Ledger
from tests.faults.harness import Cluster, free_port


class StandbyCluster(Cluster):
    """A copy of `primary` made by pg_basebackup -R: it streams and replays
    the primary's WAL, and answers reads while it does."""

    def __init__(self, primary: Cluster) -> None:
        self.bin = primary.bin
        self.home = Path(tempfile.mkdtemp(prefix="smsledger-standby-"))
        self.data = self.home / "data"
        self.port = free_port()
        shutil.chown(self.home, "postgres", "postgres")
        self._as_postgres(
            "pg_basebackup", "-D", str(self.data), "-R", "-X", "stream",
            "-c", "fast", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        )  # fmt: skip

    def kill(self) -> None:
        """Immediate shutdown: as if its machine went away."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")


@dataclass
class Pair:
    """A database of the test's own on the primary, and its standby copy."""

    primary: Cluster
    standby: StandbyCluster
    database: str = "smsledger"

    @property
    def primary_url(self) -> str:
        return self.primary.url(self.database)

    @property
    def standby_url(self) -> str:
        return self.standby.url(self.database)

    def standby_sql(self, statement: str) -> None:
        with psycopg.connect(self.standby_url, autocommit=True) as conn:
            conn.execute(statement)

    def catch_up(self, timeout: float = 10) -> None:
        """Until the standby has replayed all the primary has written."""
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            written = _value(conn, "SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.standby.url(), autocommit=True) as conn:
            replayed = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
            while not _value(conn, replayed, written):
                assert time.monotonic() < deadline, "the standby did not replay"
                time.sleep(0.01)  # polling interval, not synchronisation

    def wait_until_replayed(self, position: int, timeout: float = 10) -> None:
        """Until the standby holds ledger position `position`."""
        standby = Ledger(self.standby_url, standby=True)
        try:
            deadline = time.monotonic() + timeout
            while standby.head() < position:
                assert time.monotonic() < deadline, "the standby did not replay"
                time.sleep(0.01)  # polling interval, not synchronisation
        finally:
            standby.close()


def _value(conn: psycopg.Connection[Any], query: str, *params: Any) -> Any:
    row = conn.execute(query, params or None).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Cluster, StandbyCluster]]:
    """A primary and a standby streaming from it, for the module's tests."""
    primary = Cluster()
    standby: StandbyCluster | None = None
    try:
        primary.start()
        standby = StandbyCluster(primary)
        standby.start()
        yield primary, standby
    finally:
        if standby is not None:
            standby.remove()
        primary.remove()


@pytest.fixture
def pair(servers: tuple[Cluster, StandbyCluster]) -> Iterator[Pair]:
    """A fresh database with the ledger's tables, replayed on the standby
    (started again if a test before killed it)."""
    primary, standby = servers
    if not (standby.data / "postmaster.pid").exists():
        standby.start()
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(primary.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    made = Pair(primary, standby, name)
    Ledger(made.primary_url).close()  # its tables
    made.catch_up()
    yield made
    with psycopg.connect(primary.url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
