"""The ledger on PostgreSQL: events appended and folded into the routing view in
one transaction; the view itself is in `postgres_view.py`."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from uuid import UUID

import psycopg.errors
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from psycopg import ClientCursor
from psycopg.sql import SQL, Identifier

from smsledger.projections import bulk
from smsledger.projections.pool import fail_fast_pool
from smsledger.projections.postgres_view import PostgresRoutingView
from smsledger.projections.setwise import stream_events

Row = tuple[int, str, bytes, Any, int]  # position, topic, state, id, version


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    setwise_rebuild = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = f"{self.datastore.schema}.{self.events_table_name}"
        self.qualified_events_table = table
        self.view = PostgresRoutingView(self.datastore, table)
        # An append's first message, composed once: BEGIN, the table lock and
        # NOTIFY, then the events as four arrays, not the library's array of
        # a composite type, with the live version beside their positions. SET
        # LOCAL is left out when it would restate the default.
        events = Identifier(self.datastore.schema, self.events_table_name)
        timeout = self.datastore.lock_timeout
        locked = [
            *([f"SET LOCAL lock_timeout = '{timeout}s'"] if timeout else []),
            SQL("LOCK TABLE {0} IN EXCLUSIVE MODE").format(events).as_string(),
            SQL("NOTIFY {0}").format(Identifier(self.channel_name)).as_string(),
        ]
        self.append_sql = ";".join(
            [
                "BEGIN",
                *locked,
                SQL(
                    "INSERT INTO {0} (originator_id, originator_version, topic, state)"
                    " SELECT * FROM unnest(%s::{1}[], %s::bigint[], %s::text[],"
                    " %s::bytea[])"
                    " RETURNING notification_id, ({2}) AS live_version"
                )
                .format(
                    events,
                    SQL(self.datastore.originator_id_type),
                    SQL(self.view.SELECT_LIVE_VERSION),
                )
                .as_string(),
            ]
        )
        # Told, at commit, to the delivery workers of every process
        # (`due_notices`) when an append gives them something to send; with
        # the append's last position.
        self.due_channel = f"{self.events_table_name}_due"
        self.notify_due = (
            SQL("NOTIFY {0}").format(Identifier(self.due_channel)).as_string()
        )
        self.bulk = bulk.BulkAppend(
            self.view, events.as_string(), self.datastore.originator_id_type, locked
        )

    # Several server processes may start at once; CREATE ... IF NOT EXISTS
    # is not safe against itself, so creation is serialised by a lock.
    CREATE_LOCK = "SELECT pg_advisory_lock(7470656)"

    def create_table(self) -> None:
        # The lock is a session's, on a connection of its own outside any
        # transaction: a start that waits (for appends, or a VACUUM of the
        # events table) must not sit idle in a transaction, which the
        # database ends after idle_in_transaction_session_timeout (5 s).
        with self._own_connection() as lock:
            lock.execute(self.CREATE_LOCK)
            super().create_table()
            # The view's tables are made (or found made) holding off appends:
            # CREATE INDEX IF NOT EXISTS locks its table even when the index
            # is there, and one append writes several of those tables, so a
            # process starting beside live appends would otherwise take the
            # tables' locks in another order than an append and deadlock it.
            with self.appends_locked() as curs:
                self.view.create_tables(curs)
                self._no_autovacuum(curs)

    # Autovacuum needs a lock that every append's conflicts with. Each pass
    # on the events table held the appends off until the first waiter's
    # deadlock_timeout (1 s by default), then PostgreSQL cancelled it: a
    # stall a minute under steady appends, and the pass never done. The
    # table is only ever appended to, so it has no dead rows to reclaim;
    # `docs/OPERATIONS.md` says when to vacuum it (freezing) by hand.
    NO_AUTOVACUUM = "(autovacuum_enabled = false, toast.autovacuum_enabled = false)"

    def _no_autovacuum(self, curs: Any) -> None:
        curs.execute(
            "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
            (self.datastore.schema, self.events_table_name),
        )
        row = curs.fetchone()
        if row and "autovacuum_enabled=false" not in (row["reloptions"] or []):
            curs.execute(
                f"ALTER TABLE {self.qualified_events_table} SET {self.NO_AUTOVACUUM}"
            )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Append and fold in one transaction, of two round trips: BEGIN, the
        lock and the append, which says the positions; then every write of
        the fold (it reads nothing) and COMMIT.

        Each goes as one simple query, its values bound by psycopg on the
        client. Sent statement by statement, even pipelined, the append took
        psycopg 0.86 ms of CPU a route; so, about 0.3 ms less.
        """
        domain_events = kwargs.get("events_to_fold", ())
        if kwargs.get("bulk"):
            return self._insert_bulk(stored_events, domain_events)
        columns = zip(
            *(
                (e.originator_id, e.originator_version, e.topic, e.state)
                for e in stored_events
            ),
            strict=True,
        )
        with self.datastore.get_connection() as conn, ClientCursor(conn) as curs:
            try:
                curs.execute(self.append_sql, [list(c) for c in columns])
                while curs.nextset():  # to the insert's rows, the last result
                    pass
                rows = curs.fetchall()
                assert len(rows) == len(stored_events)
                positions = [row["notification_id"] for row in rows]
                fold = self._fold(
                    curs, int(rows[0]["live_version"]), domain_events, positions
                )
                due = (
                    [f"{self.notify_due}, '{positions[-1]}'"]
                    if kwargs.get("due")
                    else []
                )
                curs.execute(";".join([*fold, *due, "COMMIT"]))
            except BaseException:
                # A broken connection cannot roll back; the pool drops it.
                with suppress(psycopg.Error):
                    conn.rollback()
                raise
        return positions

    def due_notices(self, stop: threading.Event) -> Iterator[None]:
        """Once for each commit, or several close together, that gave delivery
        something to send, until `stop` is set; over a connection of its own
        (LISTEN holds it), made again if it breaks."""
        listen = SQL("LISTEN {0}").format(Identifier(self.due_channel))
        while not stop.is_set():
            try:
                with self._own_connection() as conn:
                    conn.execute(listen)
                    yield  # anything appended before LISTEN is not missed
                    while not stop.is_set():
                        if list(conn.notifies(timeout=1.0, stop_after=1)):
                            list(conn.notifies(timeout=0))  # one wake for them all
                            yield
            except psycopg.OperationalError:
                stop.wait(1.0)  # the database is away: workers poll meanwhile

    def _own_connection(self) -> psycopg.Connection[Any]:
        pool = self.datastore.pool
        kwargs = pool.kwargs() if callable(pool.kwargs) else dict(pool.kwargs or {})
        conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
        kwargs.setdefault("connect_timeout", 10)  # as libpq's default is none
        return psycopg.connect(conninfo, **kwargs, autocommit=True)

    def _insert_bulk(
        self, stored_events: Sequence[StoredEvent], events: Sequence[Any]
    ) -> Sequence[int] | None:
        """As `insert_events`, for an import's chunk (see bulk.py)."""
        with self.datastore.get_connection() as conn, ClientCursor(conn) as curs:
            try:
                positions = self.bulk.append(curs, stored_events, events)
            except BaseException as error:
                with suppress(psycopg.Error):
                    conn.rollback()
                if not isinstance(error, bulk.VersionChanged):
                    raise
                positions = None
        if positions is None:  # folded as a live append is, then
            return self.insert_events(stored_events, events_to_fold=events)
        return positions

    def _fold(
        self,
        curs: ClientCursor[Any],
        version: int,
        events: Sequence[Any],
        positions: Sequence[int],
    ) -> list[str]:
        """The fold's statements for events at these positions, as SQL text."""
        fold = _Statements(curs)
        self.view.apply_to(
            fold,
            version,
            zip(events, positions, strict=True),
            batched=len(events) > 1,
        )
        return fold.statements

    def select_positions(self, positions: Sequence[int]) -> list[Any]:
        """The stored events at the given positions, in ledger order."""
        statement = (
            "SELECT notification_id AS position, originator_id, originator_version,"
            " topic, state"
            f" FROM {self.qualified_events_table}"
            " WHERE notification_id = ANY(%s) ORDER BY notification_id"
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, [list(positions)])
            return list(curs.fetchall())

    def select_first_events(self, ids: Sequence[UUID]) -> list[Any]:
        """The first stored event of each of these aggregates that is recorded."""
        statement = (
            "SELECT originator_id, topic, state"
            f" FROM {self.qualified_events_table}"
            " WHERE originator_id = ANY(%s) AND originator_version = 1"
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, [list(ids)])
            return list(curs.fetchall())

    def positions_of(
        self, aggregate_ids: Sequence[UUID], topics: Sequence[str], upto: int
    ) -> list[int]:
        """Positions of the aggregates' events of these topics, up to `upto`."""
        statement = (
            f"SELECT notification_id FROM {self.qualified_events_table}"
            " WHERE originator_id = ANY(%s) AND topic = ANY(%s)"
            " AND notification_id <= %s"
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, [list(aggregate_ids), list(topics), upto])
            return [int(row["notification_id"]) for row in curs.fetchall()]

    def position_of(self, aggregate_id: UUID) -> int | None:
        """The position of an aggregate's first event."""
        statement = (
            f"SELECT notification_id FROM {self.qualified_events_table}"
            " WHERE originator_id = %s AND originator_version = 1"
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, [aggregate_id])
            row = curs.fetchone()
        return int(row["notification_id"]) if row else None

    def bulk_transaction(self) -> Any:
        return self.datastore.transaction(commit=True)

    def stored_rows(
        self,
        after: int,
        upto: int,
        mentioning: UUID | None = None,
        skipping: Sequence[str] = (),
    ) -> Generator[Row, None, None]:
        """The stored events after `after` up to `upto`, in one stream; with
        `mentioning`, only those of that aggregate or whose state names it;
        none of the topics `skipping`."""
        return stream_events(self, after, upto, mentioning, skipping)

    @contextmanager
    def appends_locked(self) -> Iterator[Any]:
        """A write transaction that holds off every append until it ends."""
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            yield curs

    def select_topic(self, curs: Any, topic: str) -> list[Any]:
        """Every stored event of one type, in ledger order, with its position."""
        curs.execute(
            "SELECT notification_id AS position, originator_id, originator_version,"
            f" topic, state FROM {self.qualified_events_table} WHERE topic = %s"
            " ORDER BY notification_id",
            [topic],
        )
        return list(curs.fetchall())

    def rewrite_state(
        self, curs: Any, originator_id: Any, originator_version: int, state: bytes
    ) -> None:
        """Replace a stored event's state: for the one sanctioned rewrite."""
        curs.execute(
            f"UPDATE {self.qualified_events_table} SET state = %s"
            " WHERE originator_id = %s AND originator_version = %s",
            [state, originator_id, originator_version],
        )

    def select_after(self, curs: Any, position: int) -> list[Notification]:
        curs.execute(
            f"SELECT * FROM {self.qualified_events_table}"
            " WHERE notification_id > %s ORDER BY notification_id",
            [position],
        )
        return [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in curs.fetchall()
        ]


class _Statements:
    """Stands for a cursor to the fold: keeps each statement it is given as
    SQL text with its values bound, to send them all as one query."""

    def __init__(self, curs: ClientCursor[Any]) -> None:
        self.curs = curs
        self.statements: list[str] = []

    def execute(self, statement: str, params: Sequence[Any]) -> None:
        self.statements.append(self.curs.mogrify(statement, params))

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        for params in rows:
            self.execute(statement, params)


class Factory(PostgresFactory):
    application_recorder_class = LedgerPostgresRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # Its pool is not open yet: replaced before any connection is made.
        self.datastore.pool = fail_fast_pool(self.datastore)
