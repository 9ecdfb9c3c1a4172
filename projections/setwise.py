"""A page of the fold's writes, sent set-wise: for a rebuild on PostgreSQL.

Sent one by one, each of the fold's writes costs the server a statement. Here
a page of them is held, and each operation's rows go by COPY into a staging
table, then into the view by one statement made from the operation's shape
(`projections/writes.py`) that reads the staging table: what a write does is
still what its operation says.

Order matters only between writes to the same rows. Writes to different
tables never depend on each other, and on one table, writes whose key values
differ touch different rows. A table's key is the columns that every
operation writing it names: a conflict target, an update's or a delete's
key, or else every column an insert writes. Each key's writes go in layers,
in their order, so one set-wise statement never touches a row twice: a run
of plain inserts (or ones that ignore a conflict) shares a layer, in ledger
order, since the first insert of a row is the one that counts; anything else
starts the next.

Two shortcuts, where they give the same rows: a table written by one insert
alone is copied straight in unless a row conflicts (then it is staged); and
one whose conflicting rows could only be copies of each other (the ledger
index) is filled without its indexes, which are made once it is full.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterable
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from typing import Any

import psycopg.errors
from psycopg.rows import tuple_row

from smsledger.projections.writers import Value, assignments, on_conflict, where
from smsledger.projections.writes import (
    Delete,
    Insert,
    Op,
    SetField,
    Update,
    Upsert,
    Write,
    table_name,
)

STAGE = "rb_stage"  # the alias the set-wise statements read their rows by


@dataclass(eq=False)
class Statement:
    """How one operation runs set-wise on one version's table."""

    op: Op
    table: str  # the versioned name
    set_field: str  # the backend's JSON field update (`ViewBase.SET_FIELD`)

    @cached_property
    def keyed(self) -> dict[str, int]:
        """The columns that pick its rows -> their values' index."""
        return self.op.keyed

    @property
    def shares_layer(self) -> bool:
        """Whether a run of it on one key may go in one layer."""
        return isinstance(self.op, Insert)

    @property
    def ignores_conflicts(self) -> bool:
        return isinstance(self.op, Insert) and self.op.ignore_conflict

    @cached_property
    def copy(self) -> str | None:
        """An insert leaves a conflicting row alone (or fails): where none
        happens, a COPY straight into the table is the same."""
        if not isinstance(self.op, Insert):
            return None
        return f"COPY {self.table} ({', '.join(self.op.columns)}) FROM STDIN"

    def reader(
        self,
        stage: str,
        layer: str = "%s",
        joins: str = "",
        slotted: frozenset[int] = frozenset(),
    ) -> str:
        """The statement over the staging table `stage`, for one layer: a
        parameter, or a literal. A value whose index is `slotted` is read
        from the join of that index (see `projections/bulk.py`)."""

        def value(i: int) -> str:
            return f"rb_slot{i}.position" if i in slotted else f"{STAGE}.rb_p{i + 1}"

        op, name = self.op, self.table
        source = f"{stage} AS {STAGE}{joins} "
        if isinstance(op, Insert | Upsert):
            values = ", ".join(value(i) for i in range(len(op.columns)))
            order = ", ".join(value(i) for i in self.keyed.values())
            return (
                f"INSERT INTO {name} ({', '.join(op.columns)}) SELECT {values}"
                f" FROM {source}WHERE rb_layer = {layer} ORDER BY {order}, rb_seq"
                f"{on_conflict(op, name)}"
            )
        value_of: Value = value
        if isinstance(op, Delete):
            return (
                f"DELETE FROM {name} USING {source}"
                f"WHERE rb_layer = {layer} AND {where(op, value_of)}"
            )
        assert isinstance(op, Update | SetField)
        return (
            f"UPDATE {name} SET {assignments(op, value_of, self.set_field)}"
            f" FROM {source}WHERE rb_layer = {layer} AND {where(op, value_of)}"
        )


class Plans:
    """What a rebuild learns once and every page uses: how each statement runs
    set-wise, and the types of the view's columns."""

    def __init__(self, set_field: str) -> None:
        self.set_field = set_field
        self.statements: dict[tuple[Op, int], Statement] = {}
        self.columns: dict[str, dict[str, str]] = {}
        # Inserts that could not be copied in.
        self.conflicted: set[Statement] = set()
        self.written: set[str] = set()  # the tables written so far
        self.deferring = True  # while the bulk of a version is written
        self.deferred: dict[str, tuple[list[str], list[str]]] = {}

    def statement(self, op: Op, version: int) -> Statement:
        made = self.statements.get((op, version))
        if made is None:
            name = table_name(op.table, version)
            made = self.statements[(op, version)] = Statement(op, name, self.set_field)
        return made

    def column_types(self, curs: Any, table: str) -> dict[str, str]:
        if table not in self.columns:
            curs.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            )
            rows = [tuple(_values(row)) for row in curs.fetchall()]
            self.columns[table] = {str(name): str(kind) for name, kind in rows}
        return self.columns[table]

    # A table's indexes, each with its constraint (if any) and its columns.
    SELECT_INDEXES = (
        "SELECT pg_get_indexdef(i.indexrelid) AS definition,"
        " i.indexrelid::regclass::text AS index, c.conname AS constraint_name,"
        " pg_get_constraintdef(c.oid) AS constraint_definition, i.indisunique,"
        " (SELECT array_agg(a.attname::text) FROM pg_attribute a"
        "  WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) AS columns"
        " FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid"
        " AND c.conrelid = i.indrelid WHERE i.indrelid = %s::regclass"
    )

    def defer_indexes(self, curs: Any, table: str, statement: Statement) -> None:
        """Drop an empty table's indexes, to make them once it is filled, if the
        statement filling it cannot tell a row that conflicts from one that
        does not: every unique index covers every column it writes, so two
        rows that conflict are the same row, and keeping either is right."""
        curs.execute(self.SELECT_INDEXES, (table,))
        rows = curs.fetchall()
        indexes = [dict(zip(_COLUMNS, _values(row), strict=True)) for row in rows]
        bound = set(statement.keyed)
        if any(i["indisunique"] and set(i["columns"]) != bound for i in indexes):
            return
        make = []
        for i in indexes:
            if i["constraint_name"]:
                name, definition = i["constraint_name"], i["constraint_definition"]
                curs.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
                make.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
            else:
                curs.execute(f"DROP INDEX {i['index']}")
                make.append(i["definition"])
        self.deferred[table] = (make, sorted(bound))

    def make_indexes(self, curs: Any, table: str) -> None:
        """Make the indexes of a table filled without them, first dropping the
        copies of a row that they would refuse."""
        make, columns = self.deferred.pop(table)
        same = " AND ".join(f"a.{c} = b.{c}" for c in columns)
        try:
            with curs.connection.transaction():
                for statement in make:
                    curs.execute(statement)
        except psycopg.errors.UniqueViolation:
            curs.execute(
                f"DELETE FROM {table} a USING {table} b"
                f" WHERE a.ctid > b.ctid AND {same}"
            )
            for statement in make:
                curs.execute(statement)


_COLUMNS = (
    "definition",
    "index",
    "constraint_name",
    "constraint_definition",
    "indisunique",
    "columns",
)


class Stages:
    """The staging tables of one connection, made on first use and emptied at
    each commit; `drop` leaves the connection as it was.

    Each statement's table is named after the statement, and made unless it
    is there: a connection that keeps them between uses finds the same one.
    """

    def __init__(self, plans: Plans) -> None:
        self.plans = plans
        self.names: dict[Statement, str] = {}

    def stage_all(
        self, curs: Any, rows: dict[Statement, list[Any]]
    ) -> dict[Statement, str]:
        """Copy each statement's rows to its staging table, made if need be;
        the tables' names."""
        made = [self._create(curs, statement) for statement in rows]
        if any(made):
            curs.execute(";".join(m for m in made if m))
        for statement, staged in rows.items():
            with curs.copy(f"COPY {self.names[statement]} FROM STDIN") as copy:
                for row in staged:
                    copy.write_row(row)
        return {statement: self.names[statement] for statement in rows}

    def _create(self, curs: Any, statement: Statement) -> str | None:
        """What makes the statement's staging table, if not made yet."""
        if statement in self.names:
            return None
        digest = hashlib.sha1(statement.reader("").encode()).hexdigest()[:16]
        name = self.names[statement] = f"rb_stage_{digest}"
        types = self.plans.column_types(curs, statement.table)
        columns = ", ".join(
            f"rb_p{i} {types[c]}" for i, c in enumerate(statement.op.bound, 1)
        )
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {name} (rb_seq integer,"
            f" rb_layer integer, {columns}) ON COMMIT DELETE ROWS"
        )

    def drop(self, curs: Any) -> None:
        for name in self.names.values():
            curs.execute(f"DROP TABLE IF EXISTS {name}")
        self.names.clear()


# A held write: how it runs set-wise, and its values.
Held = tuple[Statement, tuple[Any, ...]]
# Each statement's rows to stage, as `(seq, layer, *values)`, and the layers
# to run, in order.
Layered = tuple[dict[Statement, list[Any]], list[tuple[int, Statement]]]


class SetwiseWriter:
    """Holds a page of the fold's writes to one version, to send them
    set-wise when flushed."""

    def __init__(self, plans: Plans, version: int) -> None:
        self.plans = plans
        self.version = version
        self.pending: dict[str, list[Held]] = {}  # by table

    def write_all(self, writes: Iterable[Write]) -> None:
        statement, version = self.plans.statement, self.version
        known: dict[Op, Statement] = {}
        pending = self.pending
        for op, values in writes:
            made = known.get(op)
            if made is None:
                made = known[op] = statement(op, version)
            held = pending.get(op.table)
            if held is None:
                held = pending[op.table] = []
            held.append((made, values))

    def flush(self, curs: Any, stages: Stages) -> None:
        rows: dict[Statement, list[Any]] = {}
        layers: dict[tuple[int, Statement], None] = {}
        plans = self.plans
        for held in self.pending.values():
            statements = {s for s, _ in held}
            only = held[0][0] if len(statements) == 1 else None
            table = held[0][0].table
            if table in plans.deferred and not (only and only.ignores_conflicts):
                plans.make_indexes(curs, table)
            if table not in plans.written:
                plans.written.add(table)
                if plans.deferring and only and only.ignores_conflicts:
                    plans.defer_indexes(curs, table, only)
            if not (only and self._copy(curs, only, held)):
                _layer(held, rows, layers)
        self.pending.clear()
        names = stages.stage_all(curs, rows)
        for layer, statement in sorted(layers, key=itemgetter(0)):
            curs.execute(statement.reader(names[statement]), (layer,))

    def layered(self) -> Layered:
        """Every held write in layers."""
        rows: dict[Statement, list[Any]] = {}
        layers: dict[tuple[int, Statement], None] = {}
        for held in self.pending.values():
            _layer(held, rows, layers)
        return rows, sorted(layers, key=itemgetter(0))

    def _copy(self, curs: Any, statement: Statement, held: list[Held]) -> bool:
        """Copy a table's writes, all of one insert, straight in if no row
        conflicts; False, and nothing written, if one does."""
        if statement.copy is None or statement in self.plans.conflicted:
            return False
        if statement.table not in self.plans.deferred:
            key = itemgetter(*statement.keyed.values())
            # In key order, the index is written where it was just read; rows
            # of one key keep their order. Keys with NULLs do not sort: left
            # as they are. A table without its indexes yet has nothing to gain.
            with suppress(TypeError):
                held.sort(key=lambda write: key(write[1]))
        try:
            with curs.connection.transaction(), curs.copy(statement.copy) as copy:
                for _, values in held:
                    copy.write_row(values)
        except psycopg.errors.UniqueViolation:
            self.plans.conflicted.add(statement)  # likely again: stage it from now on
            return False
        return True


def _layer(
    held: list[Held],
    rows: dict[Statement, list[Any]],
    layers: dict[tuple[int, Statement], None],
) -> None:
    """Put one table's writes in layers."""
    kinds = dict.fromkeys(s for s, _ in held)
    key = sorted(set.intersection(*(set(s.keyed) for s in kinds)))
    if not key:
        # Declared so (`projections/view_writes.py`): a test says none is.
        raise ValueError(f"the writes to {held[0][0].table} share no key column")
    getters = {s: itemgetter(*(s.keyed[c] for c in key)) for s in kinds}
    if len(kinds) == 1:
        (statement,) = kinds
        staged: list[Any] = []
        rows[statement] = staged
        if statement.shares_layer:
            staged.extend((seq, 1, *values) for seq, (_, values) in enumerate(held))
            layers[(1, statement)] = None
            return
        # One statement, a layer per write to the same key.
        get = getters[statement]
        seen: dict[Any, int] = {}
        for seq, (_, values) in enumerate(held):
            k = get(values)
            layer = seen[k] = seen.get(k, 0) + 1
            staged.append((seq, layer, *values))
        for layer in range(1, max(seen.values()) + 1):
            layers[(layer, statement)] = None
        return
    last: dict[Any, tuple[int, Statement]] = {}
    for seq, (statement, values) in enumerate(held):
        k = getters[statement](values)
        previous = last.get(k)
        if previous is None:
            layer = 1
        elif previous[1] is statement and statement.shares_layer:
            layer = previous[0]
        else:
            layer = previous[0] + 1
        last[k] = (layer, statement)
        rows.setdefault(statement, []).append((seq, layer, *values))
        layers[(layer, statement)] = None


def _values(row: Any) -> Any:
    """A row's values, whichever row type the cursor returns."""
    return row.values() if isinstance(row, dict) else row


def stream_events(
    recorder: Any, after: int, upto: int, mentioning: Any = None
) -> Generator[tuple[Any, ...], None, None]:
    """The stored events after `after` up to `upto`, in ledger order: read by
    one statement whose rows come in chunks, in binary, as they are used.
    With `mentioning` (an id), only events of that aggregate or whose state
    holds its text: a filter the caller refines.

    Positions commit in order, so every event up to a head once seen is there.
    """
    statement = (
        "SELECT notification_id, topic, state, originator_id, originator_version"
        f" FROM {recorder.qualified_events_table}"
        " WHERE notification_id > %s AND notification_id <= %s"
    )
    params: list[Any] = [after, upto]
    if mentioning is not None:
        statement += " AND (originator_id = %s OR position(%s IN state) > 0)"
        params += [mentioning, str(mentioning).encode()]
    with (
        recorder.datastore.get_connection() as conn,
        conn.cursor(binary=True, row_factory=tuple_row) as curs,
    ):
        yield from curs.stream(
            statement + " ORDER BY notification_id", params, size=5000
        )
