"""The commands that work on a ledger say when there is none, and make none."""

import sqlite3
from urllib.parse import urlsplit

import psycopg
import pytest

from smsledger.ledger.cli import main

COMMANDS = [
    ("audit", "verify"),
    ("projections", "status"),
    ("export", "--account", "a"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_without_a_ledger_gets_none_made(
    command, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    code = main(list(command))

    assert code == 1
    error = capsys.readouterr().err
    missing = tmp_path / "var" / "smsledger.db"
    assert f"no ledger here: there is no SQLite file {missing}" in error
    assert list(tmp_path.iterdir()) == []


def tables(database_url: str) -> list[str]:
    if database_url.startswith("sqlite"):
        with sqlite3.connect(urlsplit(database_url).path) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master").fetchall()
        return [name for (name,) in rows]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return [name for (name,) in rows]


def test_an_empty_database_is_no_ledger_and_stays_empty(database_url, capsys):
    if database_url.startswith("sqlite"):
        sqlite3.connect(urlsplit(database_url).path).close()  # an empty file

    code = main(["--database-url", database_url, "audit", "verify"])

    assert code == 1
    assert "holds none" in capsys.readouterr().err
    assert tables(database_url) == []


def test_a_ledger_is_found(ledger, database_url, capsys):
    code = main(["--database-url", database_url, "projections", "status"])

    assert code == 0
    assert capsys.readouterr().out.startswith("routing v1: live")
