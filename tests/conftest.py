"""Fixtures shared by the suite: a clean database per test, SQLite and PostgreSQL."""

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.sealing import Sealer

TEST_SECRET_KEY = "a-secret-key-for-tests-only"

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# A connection budget: each Ledger this process opens, and each in the servers
# and commands it starts (they inherit the environment), holds at most four
# PostgreSQL connections, as the suite shares one server with others. The
# library reads the keys prefixed with the application's name before the ones
# `persistence_env` gives.
os.environ.setdefault("LEDGER_POSTGRES_POOL_SIZE", "1")
os.environ.setdefault("LEDGER_POSTGRES_MAX_OVERFLOW", "3")


def _answers(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """URL of a server where tests may create and drop databases."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    if _answers(LOCAL_URL):
        return LOCAL_URL
    # Never skip: a green run without PostgreSQL would hide real failures.
    pytest.fail(
        "No PostgreSQL for the tests: set TEST_DATABASE_URL, start a server at "
        f"{LOCAL_URL}, or run scripts/test (which starts one).",
        pytrace=False,
    )


def _with_database(url: str, name: str) -> str:
    # Replace only the path: pgserver URLs carry the socket dir in the query.
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def small_pool(url: str, size: int = 2) -> str:
    """`url` asking for a pool of `size` connections: the server is shared,
    and the ledger's own default keeps ten open."""
    if not url.startswith("postgres"):
        return url
    parts = urlsplit(url)
    query = f"{parts.query}&pool_size={size}" if parts.query else f"pool_size={size}"
    return urlunsplit(parts._replace(query=query))


# How long a test waits for a slot when the shared server is full.
SERVER_FULL_WAIT_SECONDS = 120


def admin_connection(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to the shared server, waiting while it has no free slot:
    other test runs on the same server come and go, and a full server is a
    moment of theirs, not a failure of this test."""
    deadline = time.monotonic() + SERVER_FULL_WAIT_SECONDS
    pause = 0.1
    while True:
        try:
            return psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as error:
            if "too many clients" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 2.0)


@contextmanager
def new_postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped on exit."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    ident = sql.Identifier(name)
    with admin_connection(admin_url) as conn:
        # template0: nothing a previous test left in template1 can leak in.
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(ident))
    try:
        yield _with_database(admin_url, name)
    finally:
        with admin_connection(admin_url) as conn:
            # FORCE: a leaked connection or pool must not fail teardown.
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(ident))


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this one test."""
    with new_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database shared by the tests of one module."""
    with new_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for a clean, empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    # Requested lazily so SQLite-only runs need no server.
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    """The ledger application on a clean database, once per backend."""
    app = Ledger(database_url, Sealer(TEST_SECRET_KEY))
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def account(ledger: Ledger) -> AccountContext:
    settings, _ = ledger.open_account("Acme")
    return ledger.context(settings["account_id"])
