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

from collections.abc import Generator, Iterable, Sequence
from contextlib import suppress
from operator import itemgetter
from typing import Any

import psycopg.errors
from psycopg.rows import tuple_row

from smsledger.projections.setwise_plans import Plans, Stages, Statement
from smsledger.projections.writes import Op, Write

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


def stream_events(
    recorder: Any,
    after: int,
    upto: int,
    mentioning: Any = None,
    skipping: Sequence[str] = (),
) -> Generator[tuple[Any, ...], None, None]:
    """The stored events after `after` up to `upto`, in ledger order: read by
    one statement whose rows come in chunks, in binary, as they are used.
    With `mentioning` (an id), only events of that aggregate or whose state
    holds its text: a filter the caller refines. None of the topics
    `skipping`.

    Positions commit in order, so every event up to a head once seen is there.
    """
    statement, params = ordered_read(recorder, after, upto, mentioning, skipping)
    with (
        recorder.datastore.get_connection() as conn,
        conn.transaction(),
        conn.cursor(binary=True, row_factory=tuple_row) as curs,
    ):
        curs.execute(UNSORTED)
        yield from curs.stream(statement, params, size=5000)


# The events table has no statistics (autovacuum is off for it), so the
# planner would read a range by a bitmap scan and sort it (on disk past a few
# hundred thousand rows) before giving the first row; the index gives the
# order as the rows are used. A reader may hold the last rows a while after
# the statement ends (a slow client), which is no idle transaction to end.
UNSORTED = (
    "SELECT set_config('enable_sort', 'off', true),"
    " set_config('idle_in_transaction_session_timeout', '0', true)"
)


def ordered_read(
    recorder: Any,
    after: int,
    upto: int,
    mentioning: Any = None,
    skipping: Sequence[str] = (),
) -> tuple[str, list[Any]]:
    """The statement of `stream_events`, and its parameters."""
    statement = (
        "SELECT notification_id, topic, state, originator_id, originator_version"
        f" FROM {recorder.qualified_events_table}"
        " WHERE notification_id > %s AND notification_id <= %s"
    )
    params: list[Any] = [after, upto]
    if mentioning is not None:
        statement += " AND (originator_id = %s OR position(%s IN state) > 0)"
        params += [mentioning, str(mentioning).encode()]
    if skipping:
        statement += " AND topic <> ALL(%s)"
        params.append(list(skipping))
    return statement + " ORDER BY notification_id", params
