"""Every value a database stores, read with raw SQL: to prove a secret is not there."""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg

PG_TABLES = (
    "SELECT table_schema, table_name FROM information_schema.tables"
    " WHERE table_type = 'BASE TABLE'"
    " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
)


def every_row(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each table of the database (events, views, anything else), all rows."""
    if database_url.startswith("sqlite"):
        path = unquote(urlsplit(database_url).path.removeprefix("/"))
        with sqlite3.connect(path) as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            ]
            return {
                name: list(conn.execute(f'SELECT * FROM "{name}"')) for name in names
            }
    with psycopg.connect(database_url) as conn:
        names = [f'"{schema}"."{name}"' for schema, name in conn.execute(PG_TABLES)]
        return {name: list(conn.execute(f"SELECT * FROM {name}")) for name in names}


def places_holding(database_url: str, secret: str) -> list[str]:
    """The tables, with the row number, where `secret` appears in any value."""
    found = []
    wanted = secret.encode()
    for table, rows in every_row(database_url).items():
        for n, row in enumerate(rows):
            for value in row:
                raw = bytes(value) if isinstance(value, bytes | memoryview) else None
                text = str(value).encode() if raw is None else raw
                if wanted in text:
                    found.append(f"{table} row {n}")
    return found


def table_count(database_url: str) -> int:
    return len(every_row(database_url))
