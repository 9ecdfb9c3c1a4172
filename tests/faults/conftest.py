"""Fixtures for fault tests: servers started as a person starts them, and a
PostgreSQL server of the test's own, which it may stop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.faults.harness import Cluster, Served

ADMIN_TOKEN = "admin-secret"


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Served]]:
    """Start `scripts/serve` with these settings (one worker, mail to a
    Maildir of the test's), once it answers; stopped at the end."""
    started: list[Served] = []

    def start(env: dict[str, str]) -> Served:
        served = Served(
            {
                "ADMIN_TOKEN": ADMIN_TOKEN,
                "WEB_CONCURRENCY": "1",
                "MAILDIR": str(tmp_path / "mail"),
                **env,
            },
            tmp_path / f"serve-{len(started)}.log",
        )
        started.append(served)
        served.start()
        served.wait_until_healthy()
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server, running, with an empty `smsledger`
    database; never the shared one."""
    server = Cluster()
    try:
        server.start()
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE smsledger")
        yield server
    finally:
        server.remove()
