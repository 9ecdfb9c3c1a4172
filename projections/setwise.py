"""A page of the fold's writes, sent set-wise: for a rebuild on PostgreSQL.

The fold says what to write one statement at a time (`RoutingView.apply_to`);
sent so, each row costs the server a statement. Here a page of those writes
is held, and each statement's rows go by COPY into a staging table, then into
the view by the same statement rewritten to read the staging table: the SQL
of the fold is still the one that decides what each write does.

Order matters only between writes to the same rows. Writes to different
tables never depend on each other, and on one table, writes whose key values
differ touch different rows. A table's key is the columns that every
statement writing it binds: a conflict target, a WHERE clause's equalities,
or else every column an insert binds. Each key's writes go in layers, in
their order, so one set-wise statement never touches a row twice: a run of
plain inserts (or DO NOTHING) shares a layer, in ledger order, since the
first insert of a row is the one that counts; anything else starts the next.

Two shortcuts, where they give the same rows: a table written by one insert
alone is copied straight in unless a row conflicts (then it is staged); and
one whose conflicting rows could only be copies of each other (the ledger
index) is filled without its indexes, which are made once it is full.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Generator, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

import psycopg.errors
from psycopg.rows import tuple_row

_INSERT = re.compile(r"INSERT INTO (\w+) \(([^)]*)\) VALUES \(([^)]*)\)(.*)", re.S)
_UPDATE = re.compile(r"UPDATE (\w+) SET (.*) WHERE (.*)", re.S)
_DELETE = re.compile(r"DELETE FROM (\w+) WHERE (.*)", re.S)
_DO_UPDATE = re.compile(r"ON CONFLICT \(([^)]*)\) DO UPDATE")
_EQUALS = re.compile(r"(\w+) = %s$")
_BOUND = re.compile(r"(\w+) = %s\b")
_PLACEHOLDER = re.compile(r"%s")
STAGE = "rb_stage"  # the alias the rewritten statements read it by


@dataclass
class Statement:
    """One statement of the fold, and how to run it over a staging table."""

    table: str
    keyed: dict[str, int]  # the columns that pick its rows -> parameter index
    types: list[str | None]  # each parameter's column, to type its staging column
    template: str  # the statement over the staging table `{stage}`, for one layer
    shares_layer: bool  # a run of it on one key may go in one layer
    # An insert that binds every column it names, and leaves a conflict alone
    # (if any): where none happens, a COPY straight into the table is the same.
    copy: str | None = None
    ignores_conflicts: bool = False  # ON CONFLICT DO NOTHING, on any row


def parse(statement: str) -> Statement | None:
    """How to run `statement` set-wise, or None if it cannot be."""
    if match := _INSERT.fullmatch(statement):
        return _insert(*match.groups())
    if match := _UPDATE.fullmatch(statement):
        return _update(*match.groups())
    if match := _DELETE.fullmatch(statement):
        return _delete(*match.groups())
    return None


def _insert(table: str, columns: str, values: str, rest: str) -> Statement | None:
    names = [c.strip() for c in columns.split(",")]
    items = [v.strip() for v in values.split(",")]
    if len(names) != len(items) or "%s" in rest:
        return None
    bound = [name for name, item in zip(names, items, strict=True) if item == "%s"]
    keyed = {name: i for i, name in enumerate(bound)}
    target = _DO_UPDATE.search(rest)
    if target:
        keys = [c.strip() for c in target.group(1).split(",")]
        if not set(keys) <= set(keyed):
            return None
        keyed = {name: keyed[name] for name in keys}
    return Statement(
        table=table,
        keyed=keyed,
        types=list(bound),
        template=f"INSERT INTO {table} ({columns}) SELECT {_numbered(values)}"
        f" FROM {{stage}} AS {STAGE} WHERE rb_layer = %s"
        f" ORDER BY {_numbered(', '.join('%s' for _ in keyed), keyed.values())}, rb_seq"
        f"{rest}",
        shares_layer=target is None,
        copy=f"COPY {table} ({columns}) FROM STDIN"
        if target is None and len(bound) == len(items)
        else None,
        ignores_conflicts=rest.strip() == "ON CONFLICT DO NOTHING",
    )


def _update(table: str, assignments: str, where: str) -> Statement | None:
    assigned = assignments.count("%s")
    keyed = _where_keys(where, offset=assigned)
    if keyed is None:
        return None
    return Statement(
        table=table,
        keyed=keyed,
        types=_types(assignments) + list(keyed),
        template=f"UPDATE {table} SET {_numbered(assignments)}"
        f" FROM {{stage}} AS {STAGE}"
        f" WHERE rb_layer = %s AND {_numbered(where, assigned)}",
        shares_layer=False,
    )


def _delete(table: str, where: str) -> Statement | None:
    keyed = _where_keys(where, offset=0)
    if keyed is None:
        return None
    return Statement(
        table=table,
        keyed=keyed,
        types=list(keyed),
        template=f"DELETE FROM {table} USING {{stage}} AS {STAGE}"
        f" WHERE rb_layer = %s AND {_numbered(where)}",
        shares_layer=False,
    )


def _where_keys(where: str, offset: int) -> dict[str, int] | None:
    """The columns a WHERE of ANDed `column = %s` binds, or None if it is other."""
    keyed = {}
    for i, part in enumerate(where.split(" AND ")):
        match = _EQUALS.fullmatch(part.strip())
        if not match:
            return None
        keyed[match.group(1)] = offset + i
    return keyed


def _types(assignments: str) -> list[str | None]:
    """The column each placeholder of a SET list is assigned to, if directly."""
    columns: list[str | None] = []
    for part in assignments.split(","):
        for _ in range(part.count("%s")):
            match = _BOUND.search(part)
            columns.append(match.group(1) if match else None)
    return columns


def _numbered(sql: str, numbers: int | Iterable[int] = 0) -> str:
    """`sql` with its placeholders replaced by the staging table's columns:
    those of the parameters from number `numbers` on, or of those numbered."""
    indexes = iter(range(numbers, 1000) if isinstance(numbers, int) else numbers)
    return _PLACEHOLDER.sub(lambda _: f"{STAGE}.rb_p{next(indexes) + 1}", sql)


class Plans:
    """What a rebuild learns once and every page uses: how each statement runs
    set-wise, and the types of the view's columns."""

    def __init__(self) -> None:
        self.statements: dict[str, Statement | None] = {}
        self.columns: dict[str, dict[str, str]] = {}
        self.conflicted: set[str] = set()  # inserts that could not be copied in
        self.written: set[str] = set()  # the tables written so far
        self.deferring = True  # while the bulk of a version is written
        self.deferred: dict[str, tuple[list[str], list[str]]] = {}

    def statement(self, statement: str) -> Statement | None:
        if statement not in self.statements:
            self.statements[statement] = parse(statement)
        return self.statements[statement]

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
        self.names: dict[str, str] = {}

    def stage(self, curs: Any, statement: str, rows: list[Any]) -> str:
        """Copy a statement's rows to its staging table; the statement that
        reads them, one layer at a time."""
        return self.stage_all(curs, {statement: rows})[statement]

    def stage_all(self, curs: Any, rows: dict[str, list[Any]]) -> dict[str, str]:
        """As `stage`, for several statements: their tables made at once."""
        made = [self._create(curs, statement) for statement in rows]
        if any(made):
            curs.execute(";".join(m for m in made if m))
        readers = {}
        for statement, staged in rows.items():
            name = self.names[statement]
            with curs.copy(f"COPY {name} FROM STDIN") as copy:
                for row in staged:
                    copy.write_row(row)
            parsed = self.plans.statement(statement)
            assert parsed is not None
            readers[statement] = parsed.template.replace("{stage}", name)
        return readers

    def _create(self, curs: Any, statement: str) -> str | None:
        """What makes the statement's staging table, if not made yet."""
        if statement in self.names:
            return None
        parsed = self.plans.statement(statement)
        assert parsed is not None
        digest = hashlib.sha1(statement.encode()).hexdigest()[:16]
        name = self.names[statement] = f"rb_stage_{digest}"
        types = self.plans.column_types(curs, parsed.table)
        columns = ", ".join(
            f"rb_p{i} {types[c] if c else 'text'}"
            for i, c in enumerate(parsed.types, 1)
        )
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {name} (rb_seq integer,"
            f" rb_layer integer, {columns}) ON COMMIT DELETE ROWS"
        )

    def drop(self, curs: Any) -> None:
        for name in self.names.values():
            curs.execute(f"DROP TABLE IF EXISTS {name}")
        self.names.clear()


class SetwiseWriter:
    """A stand-in for the cursor the fold writes to: it holds a page of writes,
    to send them set-wise when flushed."""

    def __init__(self, plans: Plans) -> None:
        self.plans = plans
        self.tables: dict[str, str] = {}  # statement -> the table it writes
        self.pending: dict[str, list[tuple[str, Sequence[Any]]]] = {}

    def execute(self, statement: str, params: Sequence[Any]) -> None:
        table = self.tables.get(statement)
        if table is None:
            parsed = self.plans.statement(statement)
            table = self.tables[statement] = parsed.table if parsed else ""
        writes = self.pending.get(table)
        if writes is None:
            writes = self.pending[table] = []
        writes.append((statement, params))

    def flush(self, curs: Any, stages: Stages) -> None:
        rows: dict[str, list[Any]] = {}  # statement -> (seq, layer, *params)
        layers: set[tuple[int, str]] = set()
        plans = self.plans
        for table, writes in self.pending.items():
            statements = {s for s, _ in writes}
            only = plans.statement(writes[0][0]) if len(statements) == 1 else None
            if table in plans.deferred and not (only and only.ignores_conflicts):
                plans.make_indexes(curs, table)
            if table and table not in plans.written:
                plans.written.add(table)
                if plans.deferring and only and only.ignores_conflicts and only.copy:
                    plans.defer_indexes(curs, table, only)
            if table and (
                self._copy(curs, writes) or self._layer(writes, rows, layers)
            ):
                continue
            for statement, run in groupby(writes, key=itemgetter(0)):
                curs.executemany(statement, [params for _, params in run])
        self.pending.clear()
        readers = {s: stages.stage(curs, s, staged) for s, staged in rows.items()}
        for layer, statement in sorted(layers):
            curs.execute(readers[statement], (layer,))

    def layered(self) -> tuple[dict[str, list[Any]], list[tuple[int, str]]] | None:
        """Every held write in layers: each statement's rows to stage, as
        `(seq, layer, *params)`, and the layers to run, in order; None if a
        table's writes cannot go set-wise."""
        rows: dict[str, list[Any]] = {}
        layers: set[tuple[int, str]] = set()
        for table, writes in self.pending.items():
            if not (table and self._layer(writes, rows, layers)):
                return None
        return rows, sorted(layers)

    def _copy(self, curs: Any, writes: list[tuple[str, Sequence[Any]]]) -> bool:
        """Copy a table's writes straight in, if they are all one insert that
        can be and no row conflicts; False, and nothing written, if not."""
        statement = writes[0][0]
        parsed = self.plans.statement(statement)
        if parsed is None or parsed.copy is None or statement in self.plans.conflicted:
            return False
        if any(s != statement for s, _ in writes):
            return False
        if parsed.table not in self.plans.deferred:
            key = itemgetter(*parsed.keyed.values())
            # In key order, the index is written where it was just read; rows of
            # one key keep their order. Keys with NULLs do not sort: left as
            # they are. A table without its indexes yet has nothing to gain.
            with suppress(TypeError):
                writes.sort(key=lambda write: key(write[1]))
        try:
            with curs.connection.transaction(), curs.copy(parsed.copy) as copy:
                for _, params in writes:
                    copy.write_row(params)
        except psycopg.errors.UniqueViolation:
            self.plans.conflicted.add(statement)  # likely again: stage it from now on
            return False
        return True

    def _layer(
        self,
        writes: list[tuple[str, Sequence[Any]]],
        rows: dict[str, list[Any]],
        layers: set[tuple[int, str]],
    ) -> bool:
        """Put one table's writes in layers; False if they cannot go set-wise."""
        kinds = {}
        for statement in dict.fromkeys(s for s, _ in writes):
            parsed = self.plans.statement(statement)
            if parsed is None:
                return False
            kinds[statement] = parsed
        key = sorted(set.intersection(*(set(p.keyed) for p in kinds.values())))
        if not key:
            return False
        getters = {s: itemgetter(*(p.keyed[c] for c in key)) for s, p in kinds.items()}
        if len(kinds) == 1:
            ((statement, parsed),) = kinds.items()
            staged: list[Any] = []
            rows[statement] = staged
            if parsed.shares_layer:
                staged.extend(
                    (seq, 1, *params) for seq, (_, params) in enumerate(writes)
                )
                layers.add((1, statement))
                return True
            # One statement, a layer per write to the same key.
            get = getters[statement]
            seen: dict[Any, int] = {}
            for seq, (_, params) in enumerate(writes):
                k = get(params)
                layer = seen[k] = seen.get(k, 0) + 1
                staged.append((seq, layer, *params))
            layers.update(
                (layer, statement) for layer in range(1, max(seen.values()) + 1)
            )
            return True
        shares = {s for s, p in kinds.items() if p.shares_layer}
        last: dict[Any, tuple[int, str]] = {}
        for seq, (statement, params) in enumerate(writes):
            k = getters[statement](params)
            previous = last.get(k)
            if previous is None:
                layer = 1
            elif previous[1] == statement and statement in shares:
                layer = previous[0]
            else:
                layer = previous[0] + 1
            last[k] = (layer, statement)
            rows.setdefault(statement, []).append((seq, layer, *params))
            layers.add((layer, statement))
        return True


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
