"""The ledger on SQLite: events and the routing view in one transaction."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory

from smsledger.projections.keys import SQLITE_KEYS, indexes
from smsledger.projections.persistence import RoutingView

Row = tuple[int, str, bytes, Any, int]  # position, topic, state, id, version


class SQLiteRoutingView(RoutingView):
    KEYS = SQLITE_KEYS
    CREATE_TABLES = (*RoutingView.CREATE_TABLES, *indexes(KEYS))
    SELECT_HEAD = "SELECT MAX(rowid) FROM stored_events"
    SELECT_TABLES = (
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND (name LIKE 'sl%' OR name = 'smsledger_views')"
    )
    MARK = "?"
    SET_FIELD = "json_set({column}, '$.{field}', json({value}))"
    # A transaction that reads first cannot wait for the writer lock later,
    # so writers take it with their first statement.
    WRITE_LOCK = "UPDATE smsledger_views SET version = version"

    def dialect(self, statement: str) -> str:
        return qmark(statement)

    SELECT_COLUMNS = "SELECT name FROM pragma_table_info(?)"

    SELECT_STATE = (
        "SELECT (SELECT version FROM smsledger_views WHERE name = 'routing')"
        f" AS version, ({SELECT_HEAD}) AS head"
    )


def qmark(statement: str) -> str:
    """`statement` with sqlite3's placeholder, `?`, for each of psycopg's,
    `%s`, that stands outside quotes: the view's SQL is written once, with
    psycopg's, and a `%s` in a literal or a quoted name is text, kept as it is.
    Each statement is converted once (`ViewBase.sql` keeps what it made)."""
    made: list[str] = []
    quote = ""  # the quote character of the literal or name we are in
    at = 0
    while at < len(statement):
        char = statement[at]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif statement.startswith("%s", at):
            made.append("?")
            at += 2
            continue
        made.append(char)
        at += 1
    return "".join(made)


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    setwise_rebuild = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.view = SQLiteRoutingView(self.datastore)

    def create_table(self) -> None:
        # BEGIN IMMEDIATE, not the library's BEGIN: a transaction that starts
        # as a reader and then writes fails at once ("database is locked"),
        # without SQLite's busy wait, if another connection wrote meanwhile,
        # as a server and its delivery process starting on one file did.
        with self.datastore.get_connection(commit=True) as conn:
            curs = conn.cursor()
            curs.execute("BEGIN IMMEDIATE")
            try:
                self._create_table(curs)
                self.view.create_tables(curs)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        domain_events = kwargs.get("events_to_fold", ())
        with self.datastore.transaction(commit=True) as curs:
            positions = self._insert_events(curs, stored_events)
            assert positions is not None
            self.view.apply(curs, zip(domain_events, positions, strict=True))
        return positions

    def due_notices(self, stop: threading.Event) -> None:
        """Nothing tells one process of another's appends here: workers poll."""
        return

    def select_positions(self, positions: Sequence[int]) -> list[Any]:
        """The stored events at the given positions, in ledger order."""
        marks = ", ".join("?" for _ in positions)
        statement = (
            "SELECT rowid AS position, originator_id, originator_version, topic,"
            f" state FROM {self.events_table_name}"
            f" WHERE rowid IN ({marks}) ORDER BY rowid"
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, list(positions))
            return list(curs.fetchall())

    def select_first_events(self, ids: Sequence[UUID]) -> list[Any]:
        """The first stored event of each of these aggregates that is recorded."""
        rows: list[Any] = []
        with self.datastore.transaction(commit=False) as curs:
            for start in range(0, len(ids), 500):  # SQLite's limit of parameters
                some = [i.hex for i in ids[start : start + 500]]
                marks = ", ".join("?" for _ in some)
                curs.execute(
                    "SELECT originator_id, topic, state FROM stored_events"
                    f" WHERE originator_id IN ({marks}) AND originator_version = 1",
                    some,
                )
                rows += [
                    {**row, "originator_id": UUID(row["originator_id"])}
                    for row in map(dict, curs.fetchall())
                ]
        return rows

    def positions_of(
        self, aggregate_ids: Sequence[UUID], topics: Sequence[str], upto: int
    ) -> list[int]:
        """Positions of the aggregates' events of these topics, up to `upto`."""
        found: list[int] = []
        # In chunks: SQLite caps the number of parameters of a statement.
        for start in range(0, len(aggregate_ids), 500):
            ids = [i.hex for i in aggregate_ids[start : start + 500]]
            statement = (
                f"SELECT rowid FROM {self.events_table_name}"
                f" WHERE originator_id IN ({', '.join('?' for _ in ids)})"
                f" AND topic IN ({', '.join('?' for _ in topics)}) AND rowid <= ?"
            )
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(statement, [*ids, *topics, upto])
                found.extend(int(row[0]) for row in curs.fetchall())
        return found

    def position_of(self, aggregate_id: UUID) -> int | None:
        """The position of an aggregate's first event."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.SELECT_FIRST_POSITION, [aggregate_id.hex])
            row = curs.fetchone()
        return int(row[0]) if row else None

    SELECT_FIRST_POSITION = (
        "SELECT rowid FROM stored_events"
        " WHERE originator_id = ? AND originator_version = 1"
    )

    def select_topic(self, curs: Any, topic: str) -> list[Any]:
        """Every stored event of one type, in ledger order, with its position."""
        curs.execute(
            "SELECT rowid AS position, originator_id, originator_version, topic,"
            f" state FROM {self.events_table_name} WHERE topic = ? ORDER BY rowid",
            [topic],
        )
        return list(curs.fetchall())

    def rewrite_state(
        self, curs: Any, originator_id: Any, originator_version: int, state: bytes
    ) -> None:
        """Replace a stored event's state: for the one sanctioned rewrite."""
        curs.execute(
            f"UPDATE {self.events_table_name} SET state = ?"
            " WHERE originator_id = ? AND originator_version = ?",
            [state, originator_id, originator_version],
        )

    def bulk_transaction(self) -> Any:
        return self.datastore.transaction(commit=True)

    def stored_rows(
        self,
        after: int,
        upto: int,
        mentioning: UUID | None = None,
        skipping: Sequence[str] = (),
    ) -> Generator[Row, None, None]:
        """The stored events after `after` up to `upto`, a page at a time;
        all of them, whatever they mention, but those of the topics
        `skipping`."""
        skipped = frozenset(skipping)
        position = after
        while position < upto:
            page = self.select_notifications(
                position, 5000, stop=upto, inclusive_of_start=False
            )
            if not page:
                return
            for n in page:
                if n.topic not in skipped:
                    yield n.id, n.topic, n.state, n.originator_id, n.originator_version
            position = page[-1].id

    @contextmanager
    def appends_locked(self) -> Iterator[Any]:
        """A write transaction that holds off every append until it ends."""
        with self.datastore.transaction(commit=True) as curs:
            # The first write takes SQLite's single writer lock.
            curs.execute(self.TAKE_WRITE_LOCK)
            yield curs

    TAKE_WRITE_LOCK = "UPDATE smsledger_views SET version = version"

    def select_after(self, curs: Any, position: int) -> list[Notification]:
        curs.execute(
            f"SELECT rowid, * FROM {self.events_table_name}"
            " WHERE rowid > ? ORDER BY rowid",
            [position],
        )
        return [
            Notification(
                id=row["rowid"],
                originator_id=self.convert_originator_id(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in curs.fetchall()
        ]


class Factory(SQLiteFactory):
    application_recorder_class = LedgerSQLiteRecorder
