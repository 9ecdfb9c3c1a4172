"""The fold's writes turned into SQL: row by row, or batched by table.

Each operation's statement is made from its shape (`projections/writes.py`)
and the versioned name of its table, once per operation and version; the
backend's view says only its placeholder and how it sets a field of a JSON
document (`ViewBase.MARK`, `ViewBase.SET_FIELD`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

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

# A value's SQL expression, by its index among the operation's values.
Value = Callable[[int], str]


def on_conflict(op: Op, name: str) -> str:
    """What an insert does when its row is there: the clause after it."""
    if isinstance(op, Insert):
        return " ON CONFLICT DO NOTHING" if op.ignore_conflict else ""
    assert isinstance(op, Upsert)
    sets = ", ".join(f"{c} = excluded.{c}" for c in op.update)
    clause = f" ON CONFLICT ({', '.join(op.key)}) DO UPDATE SET {sets}"
    if op.newer_by:
        new = ", ".join(f"excluded.{c}" for c in op.newer_by)
        old = ", ".join(f"{name}.{c}" for c in op.newer_by)
        clause += f" WHERE ({new}) > ({old})"
    return clause


def assignments(op: Update | SetField, value: Value, set_field: str) -> str:
    """An update's SET list, each new value read by `value`."""
    if isinstance(op, SetField):
        expression = set_field.format(column=op.column, field=op.field, value=value(0))
        return f"{op.column} = {expression}"
    return ", ".join(f"{c} = {value(i)}" for i, c in enumerate(op.columns))


def where(op: Update | SetField | Delete, value: Value) -> str:
    """The equalities that pick an operation's rows, each read by `value`."""
    return " AND ".join(f"{c} = {value(i)}" for c, i in op.keyed.items())


def statement(op: Op, version: int, mark: str, set_field: str) -> str:
    """The statement that makes one write of `op`, its values in order."""
    name = table_name(op.table, version)
    marks: Value = lambda _: mark  # noqa: E731
    if isinstance(op, Insert | Upsert):
        values = ", ".join(mark for _ in op.columns)
        return (
            f"INSERT INTO {name} ({', '.join(op.columns)}) VALUES ({values})"
            f"{on_conflict(op, name)}"
        )
    if isinstance(op, Update | SetField):
        sets = assignments(op, marks, set_field)
        return f"UPDATE {name} SET {sets} WHERE {where(op, marks)}"
    assert isinstance(op, Delete)
    return f"DELETE FROM {name} WHERE {where(op, marks)}"


class Version(dict[Op, str]):
    """Each operation's statement in one version, made when first asked."""

    def __init__(self, version: int, mark: str, set_field: str) -> None:
        super().__init__()
        self.version, self.mark, self.set_field = version, mark, set_field

    def __missing__(self, op: Op) -> str:
        made = self[op] = statement(op, self.version, self.mark, self.set_field)
        return made


class Statements:
    """Each operation's statement in each version, made once."""

    def __init__(self, mark: str, set_field: str) -> None:
        self.mark = mark
        self.set_field = set_field
        self.versions: dict[int, Version] = {}

    def version(self, version: int) -> Version:
        made = self.versions.get(version)
        if made is None:
            made = self.versions[version] = Version(version, self.mark, self.set_field)
        return made

    def __call__(self, op: Op, version: int) -> str:
        return self.version(version)[op]


def write_rows(curs: Any, sql: Version, writes: Iterable[Write]) -> None:
    """Send each write as it comes (SQLite's appends, a lone event's)."""
    execute = curs.execute
    for op, values in writes:
        execute(sql[op], values)


class BatchWriter:
    """Holds the writes and sends them table by table, a run of one operation
    as one `executemany`. The fold never reads, and writes to one table never
    depend on another table, so keeping each table's writes in order is
    enough."""

    def __init__(self, curs: Any, sql: Version) -> None:
        self.curs = curs
        self.sql = sql

    def write_all(self, writes: Iterable[Write]) -> None:
        pending: dict[str, list[Write]] = {}
        for write in writes:
            table = write[0].table
            held = pending.get(table)
            if held is None:
                held = pending[table] = []
            held.append(write)
        for held in pending.values():
            for op, run in groupby(held, key=itemgetter(0)):
                self.write_run(op, [values for _, values in run])

    def write_run(self, op: Op, rows: Sequence[tuple[Any, ...]]) -> None:
        self.curs.executemany(self.sql[op], rows)
