"""The routing view on PostgreSQL: its dialect, its reads merged into one
statement, and the fold's inserts sent over arrays."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg.errors

from smsledger.projections.keys import POSTGRES_KEYS, indexes
from smsledger.projections.persistence import RoutingView
from smsledger.projections.tables import names
from smsledger.projections.writers import BatchWriter, on_conflict
from smsledger.projections.writes import Insert, Op, table_name


class ArrayWriter(BatchWriter):
    """As `BatchWriter`, but a run of one insert goes as one statement over
    arrays of its rows' values: a row so costs psycopg and PostgreSQL a
    fraction of a statement. Upserts stay row by row: two rows of a batch may
    update the same one, which one statement may not.
    """

    def write_run(self, op: Op, rows: Sequence[tuple[Any, ...]]) -> None:
        if isinstance(op, Insert) and len(rows) > 1:
            columns = list(zip(*rows, strict=True))
            types = _types_of(columns)
            if types is not None:
                statement = _insert_arrays(op, self.sql.version, types)
                self.curs.execute(statement, [list(c) for c in columns])
                return
        super().write_run(op, rows)


def _types_of(columns: list[tuple[Any, ...]]) -> tuple[str, ...] | None:
    """Each column's SQL type; None if one has none (all None, or unknown)."""
    if any(all(v is None for v in c) for c in columns):
        return None
    try:
        return tuple(_array_type(c) for c in columns)
    except TypeError:
        return None


@functools.lru_cache(maxsize=256)
def _insert_arrays(op: Insert, version: int, types: tuple[str, ...]) -> str:
    """An insert of many rows, its values given as one array per column."""
    name = table_name(op.table, version)
    selected = ", ".join(f"_args.c{k}" for k in range(len(types)))
    arg_columns = ", ".join(f"c{k}" for k in range(len(types)))
    return (
        f"INSERT INTO {name} ({', '.join(op.columns)}) SELECT {selected}"
        f" FROM {_unnest(types)} AS _args({arg_columns}){on_conflict(op, name)}"
    )


def _from_args(text: str, slots: Sequence[int]) -> str:
    """`text` with its k-th placeholder reading column `slots[k]` of `_args`."""
    parts = text.split("%s")
    return "".join(
        part + (f"_args.c{slots[k]}" if k < len(slots) else "")
        for k, part in enumerate(parts)
    )


def _unnest(types: Sequence[str]) -> str:
    """The rows of one array parameter per type, side by side."""
    return f"unnest({', '.join(f'%s::{t}[]' for t in types)})"


class PostgresRoutingView(RoutingView):
    batch_writer = ArrayWriter
    KEYS = POSTGRES_KEYS
    CREATE_TABLES = (*RoutingView.CREATE_TABLES, *indexes(KEYS))
    SET_FIELD = "jsonb_set({column}::jsonb, '{{{field}}}', {value}::jsonb)::text"
    # Workers claiming mails pass over rows another worker is claiming.
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    # Visible: what an unqualified name in the view's SQL resolves to.
    SELECT_TABLES = (
        "SELECT relname AS name FROM pg_catalog.pg_class"
        " WHERE relkind IN ('r', 'p')"
        " AND (relname LIKE 'sl%' OR relname = 'smsledger_views')"
        " AND pg_catalog.pg_table_is_visible(oid)"
    )

    SELECT_COLUMNS = (
        "SELECT attname AS name FROM pg_catalog.pg_attribute"
        " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped"
    )

    def __init__(self, datastore: Any, events_table: str) -> None:
        super().__init__(datastore)
        self._live_hint = 1
        self.SELECT_HEAD = f"SELECT MAX(notification_id) FROM {events_table}"
        self.SELECT_STATE = (
            "SELECT (SELECT version FROM smsledger_views WHERE name = 'routing')"
            f" AS version, ({self.SELECT_HEAD}) AS head"
        )

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=False) as curs:
            # Appends hold a table lock, so positions commit in order: a
            # snapshot that sees position N sees everything before it.
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield curs

    # A reader still on an old version holds some of its tables while it
    # waits for others: the drop gives way at once rather than deadlock.
    DROP_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '200ms'"

    def drop_version(self, curs: Any, version: int) -> None:
        curs.execute(self.DROP_LOCK_TIMEOUT)
        tables = ", ".join(names(version).values())
        curs.execute(f"DROP TABLE IF EXISTS {tables}")

    def read(
        self, queries: list[tuple[str, tuple[Any, ...]]]
    ) -> tuple[dict[str, Any], list[list[Any]]]:
        """Every query as one statement: one snapshot, one round trip.

        Queries of the same text (a batch asks one per command) go as one,
        over arrays of their parameters: the statement's text does not grow
        with the batch, so it is parsed once and its plan reused. (A query
        asked once goes as it is: the arrays cost a lone query more than its
        plan.) Each query's rows come back as a JSON array beside the live
        version and the ledger head. The queries name the version this
        process last saw live; in the rare case a rebuild switched versions
        since, they run again on the new one.
        """
        version = self._live_hint
        with self.datastore.get_connection() as conn:
            while True:
                statement, params, groups = self.batched(queries, version)
                try:
                    row = conn.execute(statement, params).fetchone()
                except psycopg.errors.UndefinedTable:
                    version = int(self.live_version(conn.cursor()))
                    continue
                assert row is not None
                if int(row["version"]) == version:
                    break
                version = int(row["version"])
        self._live_hint = version
        results: list[list[Any]] = [[] for _ in queries]
        for g, members in enumerate(groups):
            for i, rows in zip(members, row[f"q{g}"], strict=True):
                results[i] = rows
        return {"version": row["version"], "head": row["head"]}, results

    def batched(
        self, queries: list[tuple[str, tuple[Any, ...]]], version: int
    ) -> tuple[str, list[Any], list[list[int]]]:
        """The one statement for `queries`, its parameters, and which queries
        each of its columns answers."""
        groups: dict[str, list[int]] = {}
        for i, (statement, _) in enumerate(queries):
            groups.setdefault(statement, []).append(i)
        shapes: list[tuple[str, tuple[str, ...] | None, tuple[int, ...]]] = []
        params: list[Any] = []
        for statement, members in groups.items():
            if len(members) == 1:
                shapes.append((statement, None, ()))
                params += queries[members[0]][1]
                continue
            columns = list(zip(*(queries[i][1] for i in members), strict=True))
            # A value a query names twice (its account, often) goes once.
            arrays = [c for k, c in enumerate(columns) if c not in columns[:k]]
            slots = tuple(arrays.index(c) for c in columns)
            types = tuple(_array_type(a) for a in arrays)
            shapes.append((statement, types, slots))
            params += [list(a) for a in arrays] if arrays else [len(members)]
        return self._combined(tuple(shapes), version), params, list(groups.values())

    @functools.lru_cache(maxsize=256)  # noqa: B019 (one view per process)
    def _combined(
        self,
        shapes: tuple[tuple[str, tuple[str, ...] | None, tuple[int, ...]], ...],
        version: int,
    ) -> str:
        columns = []
        for g, (statement, types, slots) in enumerate(shapes):
            if types is None:  # asked once
                columns.append(
                    "(SELECT json_build_array(coalesce(json_agg(r), '[]')) FROM"
                    f" ({self.sql(statement, version)}) r) AS q{g}"
                )
                continue
            # The query once per row of its parameters' arrays, in order.
            query = _from_args(self.sql(statement, version), slots)
            arg_columns = "".join(f"c{k}, " for k in range(len(types)))
            rows = (
                f"{_unnest(types)} WITH ORDINALITY AS _args({arg_columns}i)"
                if types
                else "generate_series(1, %s::int) AS _args(i)"
            )
            columns.append(
                "(SELECT coalesce(json_agg(a.rows ORDER BY a.i), '[]') FROM"
                " (SELECT _args.i, (SELECT coalesce(json_agg(r), '[]')"
                f" FROM ({query}) r) AS rows FROM {rows}) a) AS q{g}"
            )
        return (
            "SELECT (SELECT version FROM smsledger_views WHERE name = 'routing')"
            f" AS version, ({self.SELECT_HEAD}) AS head, {', '.join(columns)}"
        )


_TYPES = ((bool, "boolean"), (int, "bigint"), (str, "text"), (datetime, "timestamptz"))


def _array_type(values: Sequence[Any]) -> str:
    """The SQL type of an array of these parameter values."""
    value = next((v for v in values if v is not None), "")
    for python, sql in _TYPES:
        if isinstance(value, python):
            return sql
    raise TypeError(f"no SQL array type for {type(value).__name__}")
