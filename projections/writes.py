"""What the fold writes, as data: each write's table, key, values and conflict.

The fold says what to write, never how: a handler returns `Write`s, each one
of the operations below with the values it binds, in order. Each backend has
a writer that turns them into its SQL (`projections/writers.py`, the set-wise
one in `projections/setwise.py`), so no SQL text crosses this line and
nothing has to parse it back. An operation names its table without the
version's prefix (`"notes"`, not `"sl3_notes"`): the writer is given the
version.

An operation is declared once, as a constant, and called with its values:
`NOTE(account_id, contact_id, ...)` is one `Write`. Operations compare by
identity, so writers may cache what they make of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True, eq=False)
class Op:
    """An operation on one table of the view; its subclasses say which."""

    table: str
    _arity: int = field(init=False, repr=False)

    @cached_property
    def bound(self) -> tuple[str, ...]:
        """The column each value is for, in order."""
        raise NotImplementedError

    @cached_property
    def keyed(self) -> dict[str, int]:
        """The columns that pick the rows it touches -> their values' index."""
        raise NotImplementedError

    def __post_init__(self) -> None:
        # Checked at every call: a plain attribute costs it least.
        object.__setattr__(self, "_arity", len(self.bound))

    def __call__(self, *values: Any) -> Write:
        if len(values) != self._arity:
            raise TypeError(f"{self} binds {len(self.bound)} values, not {len(values)}")
        return (self, values)


@dataclass(frozen=True, eq=False)
class Insert(Op):
    """A new row. If one with the same key is there: an error, or with
    `ignore_conflict` the row there is kept as it is."""

    columns: tuple[str, ...]
    ignore_conflict: bool = False

    @cached_property
    def bound(self) -> tuple[str, ...]:
        return self.columns

    @cached_property
    def keyed(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.columns)}


@dataclass(frozen=True, eq=False)
class Upsert(Op):
    """A row by its `key`: inserted, or if there, its `update` columns
    overwritten; with `newer_by`, only if the new row's values of those
    columns, compared in order, are greater than the row's there."""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    update: tuple[str, ...]
    newer_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        named = set(self.key) | set(self.update) | set(self.newer_by)
        if not named <= set(self.columns):
            raise ValueError(f"{self.table}: {named - set(self.columns)} not written")

    @cached_property
    def bound(self) -> tuple[str, ...]:
        return self.columns

    @cached_property
    def keyed(self) -> dict[str, int]:
        return {c: self.columns.index(c) for c in self.key}


@dataclass(frozen=True, eq=False)
class Update(Op):
    """The `columns` of the rows whose `key` columns equal the values:
    the values are the new ones, then the key's."""

    columns: tuple[str, ...]
    key: tuple[str, ...]

    @cached_property
    def bound(self) -> tuple[str, ...]:
        return (*self.columns, *self.key)

    @cached_property
    def keyed(self) -> dict[str, int]:
        return {c: len(self.columns) + i for i, c in enumerate(self.key)}


@dataclass(frozen=True, eq=False)
class SetField(Op):
    """One field of a JSON document held in `column`, of the rows picked by
    `key`, set without reading the document: the values are the field's new
    value as JSON text, then the key's."""

    column: str
    field: str
    key: tuple[str, ...]

    @cached_property
    def bound(self) -> tuple[str, ...]:
        return (self.column, *self.key)

    @cached_property
    def keyed(self) -> dict[str, int]:
        return {c: 1 + i for i, c in enumerate(self.key)}


@dataclass(frozen=True, eq=False)
class Delete(Op):
    """The rows whose `key` columns equal the values."""

    key: tuple[str, ...]

    @cached_property
    def bound(self) -> tuple[str, ...]:
        return self.key

    @cached_property
    def keyed(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.key)}


# One write of the fold: an operation and the values it binds. A plain pair:
# the fold makes one per row it writes, and a rebuild millions.
Write = tuple[Op, tuple[Any, ...]]


def table_name(table: str, version: int) -> str:
    """A view table's name in one version (`sl3_notes`); version 0 is the
    unversioned name, which only tests and measurements write."""
    return f"sl{version}_{table}" if version else f"sl_{table}"
