"""The event store: its settings from a DATABASE_URL, and whether it answers."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from smsledger.domain.errors import InvalidInput

DEFAULT_DATABASE_URL = "sqlite:///var/smsledger.db"

# How long an SQLite write waits for the file's lock, held by another process,
# before it gives up and the request is answered 503 (whole seconds: the
# library's setting). Appends wait their turn in one group commit, so a request
# waits at most about twice this.
SQLITE_LOCK_WAIT_SECONDS = 2

# What the database raises when it is away, busy or locked: worth a retry.
# (The library wraps the drivers' errors; raw ones are listed for code that
# reaches a driver itself.)
UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
)


# A table every ledger has from its first opening, on both backends.
LEDGER_TABLE = "smsledger_views"


class Unreachable(Exception):
    """The database named by DATABASE_URL cannot be used, and why."""


class NoLedger(Exception):
    """The database named by DATABASE_URL holds no ledger, and where it looked."""


def sqlite_path(database_url: str) -> str | None:
    """The file of an SQLite URL; None for any other database."""
    url = urlsplit(database_url)
    if url.scheme != "sqlite":
        return None
    path = unquote(url.path.removeprefix("/"))
    if not path:
        raise InvalidInput("DATABASE_URL", "an SQLite URL needs a file path")
    return path


def persistence_env(database_url: str) -> dict[str, str]:
    url = urlsplit(database_url)
    path = sqlite_path(database_url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "smsledger.projections.sqlite:Factory",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": str(SQLITE_LOCK_WAIT_SECONDS),
        }
    if url.scheme in ("postgresql", "postgres"):
        query = parse_qs(url.query)
        # A unix socket directory may come as ?host=/path, as libpq allows.
        host = query.get("host", [url.hostname or "127.0.0.1"])[0]
        return {
            "PERSISTENCE_MODULE": "smsledger.projections.postgres:Factory",
            "POSTGRES_DBNAME": unquote(url.path.removeprefix("/")) or "postgres",
            "POSTGRES_HOST": host,
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": query.get("pool_size", ["10"])[0],
            "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", ["10"])[0],
        }
    raise InvalidInput("DATABASE_URL", "must start with sqlite:/// or postgresql://")


def where_data_lives(database_url: str) -> str:
    """The database in words, for the log: never its password."""
    path = sqlite_path(database_url)
    if path is not None:
        return f"SQLite file {Path(path).resolve()}"
    env = persistence_env(database_url)
    return (
        f"PostgreSQL database {env['POSTGRES_DBNAME']!r} on "
        f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']} as {env['POSTGRES_USER']}"
    )


def check_reachable(database_url: str, timeout: int = 5) -> None:
    """Open the database once; `Unreachable`, naming it and the real error, if
    it cannot be."""
    env = persistence_env(database_url)
    try:
        if "SQLITE_DBNAME" in env:
            with sqlite3.connect(env["SQLITE_DBNAME"], timeout=timeout) as conn:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.close()
        else:
            _connect(env, timeout).close()
    except (psycopg.Error, sqlite3.Error) as error:
        raise Unreachable(
            f"cannot open {where_data_lives(database_url)}: {_one_line(error)}"
        ) from error


def _connect(env: dict[str, str], timeout: int) -> psycopg.Connection[Any]:
    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=timeout,
    )


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def check_ledger_there(database_url: str, timeout: int = 5) -> None:
    """`NoLedger` unless the database holds a ledger; `Unreachable` if it cannot
    be opened. Creates nothing: neither the SQLite file nor its folder."""
    where = where_data_lives(database_url)
    path = sqlite_path(database_url)
    try:
        if path is not None:
            if not Path(path).is_file():
                raise NoLedger(f"no ledger here: there is no {where}")
            # Read-only: a plain connect would make the file it looks for.
            uri = f"{Path(path).resolve().as_uri()}?mode=ro"
            with closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as conn:
                found = conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (LEDGER_TABLE,),
                ).fetchone()
        else:
            with _connect(persistence_env(database_url), timeout) as pg:
                row = pg.execute("SELECT to_regclass(%s)", (LEDGER_TABLE,)).fetchone()
                found = row if row and row[0] else None
    except (psycopg.Error, sqlite3.Error) as error:
        raise Unreachable(f"cannot open {where}: {_one_line(error)}") from error
    if found is None:
        raise NoLedger(f"no ledger here: the {where} holds none")
