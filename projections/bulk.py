"""An import's chunk appended on PostgreSQL, its fold written set-wise.

A live append takes the ledger's table lock, learns its events' positions,
then folds them row by row. An import's chunk is thousands of events, and
every route waits for the lock it holds; so here all that can be is done
before the lock. The fold is made first, each event's place in the chunk
standing in for its position (`Slot`); its writes are put in layers and
copied to staging tables as the rebuild does (setwise.py), and the stored
events to one of their own. Then one round trip: the lock, the append, which
keeps each slot's position in a table, a statement per table and layer, each
joining its slots to their positions there, and COMMIT. No step of it waits
for this process.

The fold is made for the live version as the transaction begins; if a
rebuild switches it before the lock is taken, the append stops at a check
under the lock, and the caller appends the chunk as a live append is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg.errors
from eventsourcing.persistence import StoredEvent
from psycopg import ClientCursor

from smsledger.projections.fold import writes
from smsledger.projections.persistence import RoutingView
from smsledger.projections.setwise import Layered, SetwiseWriter
from smsledger.projections.setwise_plans import STAGE, Plans, Stages


class Slot(int):
    """An event's place in its chunk, from 1: its position, once known."""


class VersionChanged(Exception):
    """The live version is not the one the chunk was folded for."""


EVENTS = "rb_events"  # the chunk's stored events, staged
POSITIONS = "rb_positions"  # each slot's position, once appended
_CHANGED = "smsledger: the live version changed"


class BulkAppend:
    """Appends a chunk of events, its fold set-wise, to one ledger."""

    def __init__(
        self, view: RoutingView, events_table: str, id_type: str, locked: list[str]
    ) -> None:
        self.view = view
        self.plans = Plans(view.SET_FIELD)
        self.begin = (
            f"BEGIN;CREATE TEMP TABLE IF NOT EXISTS {EVENTS} (rb_seq integer,"
            f" originator_id {id_type}, originator_version bigint, topic text,"
            " state bytea) ON COMMIT DELETE ROWS;"
            f"CREATE TEMP TABLE IF NOT EXISTS {POSITIONS} (slot integer,"
            " position bigint) ON COMMIT DELETE ROWS;"
            f"{view.SELECT_LIVE_VERSION}"
        )
        self.types = ["integer", id_type, "bigint", "text", "bytea"]
        self.locked = locked  # the table lock, as a live append takes it
        self.live = view.SELECT_LIVE_VERSION
        # Slots by the stored events' ids, whatever order positions came in.
        self.append_sql = (
            "WITH appended AS ("
            f"INSERT INTO {events_table}"
            " (originator_id, originator_version, topic, state)"
            " SELECT originator_id, originator_version, topic, state"
            f" FROM {EVENTS} ORDER BY rb_seq"
            " RETURNING notification_id, originator_id, originator_version)"
            f" INSERT INTO {POSITIONS} (slot, position)"
            " SELECT s.rb_seq + 1, a.notification_id"
            f" FROM appended a JOIN {EVENTS} s"
            " USING (originator_id, originator_version)"
        )
        self.positions = (
            f"SELECT array_agg(position ORDER BY slot) AS positions FROM {POSITIONS}"
        )

    def append(
        self,
        curs: ClientCursor[Any],
        stored_events: Sequence[StoredEvent],
        events: Sequence[Any],
    ) -> list[int]:
        """Append the events and fold them; their positions.

        Raises `VersionChanged` if the live version changed before the lock.
        The caller rolls back if this raises.
        """
        curs.execute(self.begin)
        while curs.nextset():  # to the live version, the last result
            pass
        row = curs.fetchone()
        assert row is not None
        version = int(row["version"])
        writer = SetwiseWriter(self.plans, version)
        slots = [Slot(i) for i in range(1, len(events) + 1)]
        writer.write_all(writes(zip(events, slots, strict=True)))
        layered = writer.layered()
        with curs.copy(f"COPY {EVENTS} FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(self.types)
            for seq, e in enumerate(stored_events):
                copy.write_row(
                    (seq, e.originator_id, e.originator_version, e.topic, e.state)
                )
        fold = _stage(curs, self.plans, layered)
        check = (
            f"DO $$BEGIN IF ({self.live}) IS DISTINCT FROM {int(version)} THEN"
            f" RAISE EXCEPTION '{_CHANGED}'; END IF; END$$"
        )
        try:
            curs.execute(
                ";".join(
                    [
                        *self.locked,
                        check,
                        self.append_sql,
                        *fold,
                        self.positions,
                        "COMMIT",
                    ]
                )
            )
        except psycopg.errors.RaiseException as error:
            if _CHANGED in str(error):
                raise VersionChanged() from error
            raise
        while curs.description is None or curs.description[0].name != "positions":
            if not curs.nextset():
                raise AssertionError("the append said no positions")
        row = curs.fetchone()
        assert row is not None
        return [int(p) for p in row["positions"]]


def _stage(curs: ClientCursor[Any], plans: Plans, layered: Layered) -> list[str]:
    """Copy the fold's writes to staging tables; the statements that write
    them, in order, each slot joined to its position in `POSITIONS`."""
    rows, layers = layered
    names = Stages(plans).stage_all(curs, rows)
    joins = {}
    for statement, staged in rows.items():
        slotted = frozenset(k for k, v in enumerate(staged[0][2:]) if type(v) is Slot)
        joins[statement] = (
            slotted,
            "".join(
                f" JOIN {POSITIONS} rb_slot{k} ON rb_slot{k}.slot = {STAGE}.rb_p{k + 1}"
                for k in sorted(slotted)
            ),
        )
    return [
        statement.reader(
            names[statement],
            layer=str(layer),
            joins=joins[statement][1],
            slotted=joins[statement][0],
        )
        for layer, statement in layers
    ]
