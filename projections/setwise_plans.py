"""How each fold operation runs set-wise on PostgreSQL, for `setwise.py`.

An operation's statement over a staging table (`Statement`), the staging
tables of a connection (`Stages`), and what a rebuild learns once: column
types, and the indexes it leaves out while a version fills (`Plans`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import psycopg.errors

from smsledger.projections.writers import Value, assignments, on_conflict, where
from smsledger.projections.writes import (
    Delete,
    Insert,
    Op,
    SetField,
    Update,
    Upsert,
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
        self._drop(curs, table, indexes, sorted(bound))

    def defer_all(self, curs: Any, table: str, key: tuple[str, ...]) -> None:
        """Drop a table's indexes, to make once it is filled, whatever writes
        it: the caller knows that two rows with the same `key` are the same."""
        curs.execute(self.SELECT_INDEXES, (table,))
        rows = curs.fetchall()
        indexes = [dict(zip(_COLUMNS, _values(row), strict=True)) for row in rows]
        self._drop(curs, table, indexes, sorted(key))

    def _drop(
        self, curs: Any, table: str, indexes: list[dict[str, Any]], key: list[str]
    ) -> None:
        make = []
        for i in indexes:
            if i["constraint_name"]:
                name, definition = i["constraint_name"], i["constraint_definition"]
                curs.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
                make.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
            else:
                curs.execute(f"DROP INDEX {i['index']}")
                make.append(i["definition"])
        self.deferred[table] = (make, key)

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


def _values(row: Any) -> Any:
    """A row's values, whichever row type the cursor returns."""
    return row.values() if isinstance(row, dict) else row
