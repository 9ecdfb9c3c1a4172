"""The event store: its settings from a DATABASE_URL, and whether it answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path
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


class Unreachable(Exception):
    """The database named by DATABASE_URL cannot be used, and why."""


def persistence_env(database_url: str) -> dict[str, str]:
    url = urlsplit(database_url)
    if url.scheme == "sqlite":
        path = unquote(url.path.removeprefix("/"))
        if not path:
            raise InvalidInput("DATABASE_URL", "an SQLite URL needs a file path")
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
    env = persistence_env(database_url)
    if "SQLITE_DBNAME" in env:
        return f"SQLite file {Path(env['SQLITE_DBNAME']).resolve()}"
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
            psycopg.connect(
                dbname=env["POSTGRES_DBNAME"],
                host=env["POSTGRES_HOST"],
                port=env["POSTGRES_PORT"],
                user=env["POSTGRES_USER"],
                password=env["POSTGRES_PASSWORD"],
                connect_timeout=timeout,
            ).close()
    except (psycopg.Error, sqlite3.Error) as error:
        raise Unreachable(
            f"cannot open {where_data_lives(database_url)}: {_one_line(error)}"
        ) from error


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
