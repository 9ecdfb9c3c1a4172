"""The routing view's groundwork: SQL for one version of its tables, and time keys.

The view is written in the same transaction as the events it folds, so every
write the ledger acknowledged is visible to the next read (read your writes),
in every process. SQL is written once, with `%s` placeholders and each table
named by a template (`{notes}`, see `projections/tables.py`); `sql` makes it
for one version of the tables, in the backend's dialect (`dialect`).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from smsledger.domain.decision import encode
from smsledger.projections.keys import Keys
from smsledger.projections.tables import fill
from smsledger.projections.writers import Statements

T = TypeVar("T")
Query = tuple[str, tuple[Any, ...]]
Snapshot = tuple[dict[str, Any], list[list[Any]]]
# Reads that yield the queries they need and are sent what those found, so
# that one statement can serve many of them (see `RoutingView.run_reads`).
Reads = Generator[list[Query], Snapshot, T]

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def time_key(moment: datetime) -> str:
    """UTC text whose sort order is time order, on every backend.

    It is `TIME_FORMAT`, written by `isoformat`: strftime costs twice as much,
    which a rebuild pays once a note.
    """
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def from_time_key(text: str) -> datetime:
    # fromisoformat reads this format too, and is many times faster than
    # strptime: routing reads a time key for every note it weighs.
    return datetime.fromisoformat(text)


to_json = encode  # the view's documents are encoded as decisions are


class Tx:
    """A cursor bound to one version of the view's tables."""

    def __init__(self, curs: Any, version: int) -> None:
        self.curs = curs
        self.version = version

    def execute(self, statement: str, params: Sequence[Any]) -> None:
        self.curs.execute(statement, params)

    def fetchone(self) -> Any:
        return self.curs.fetchone()

    def fetchall(self) -> Any:
        return self.curs.fetchall()


class ViewBase:
    """What every part of the view shares: its datastore and its SQL."""

    SELECT_LIVE_VERSION = "SELECT version FROM smsledger_views WHERE name = 'routing'"
    KEYS: Keys  # the backend's expressions into a decision's document
    MARK = "%s"  # the placeholder of the fold's statements
    # A field of a JSON document set to a value given as JSON text.
    SET_FIELD: str

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        self._statements: dict[tuple[str, int], str] = {}
        self.statements = Statements(self.MARK, self.SET_FIELD)

    def live_version(self, curs: Any) -> int:
        curs.execute(self.SELECT_LIVE_VERSION)
        return int(_first(curs.fetchone()))

    def sql(self, statement: str, version: int) -> str:
        """A statement template made for one version of the tables, in the
        backend's dialect; made once, then looked up (routing's reads ask
        for the same few)."""
        key = (statement, version)
        made = self._statements.get(key)
        if made is None:
            made = self._statements[key] = self.dialect(fill(statement, version))
        return made

    def dialect(self, statement: str) -> str:
        """The statement as the driver takes it: psycopg takes `%s` as written."""
        return statement

    def _execute(self, tx: Tx, statement: str, *params: Any) -> None:
        tx.execute(self.sql(statement, tx.version), params)

    def transaction(self) -> Any:
        return self.datastore.transaction(commit=False)


def _first(row: Any) -> Any:
    """The first column of a row, whichever row type the driver returns."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
