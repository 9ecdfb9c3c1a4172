"""Rebuild the routing view from the ledger alone, while the service runs.

A new version of the view's tables is built beside the live one, many events
per transaction, each page recording how far it got. Once it has folded the
ledger as it was when it began, the version gets the indexes it was filled
without and the planner's statistics. When it has nearly caught up with what
was appended since, one transaction holds the append lock, folds the last
events, carries the mails' leases over and makes the new version live; the
old one is then dropped. Routing reads the live version throughout, so no
answer is ever made from a half-built view.

On PostgreSQL the ledger is read as one stream and each page's writes are sent
set-wise (`smsledger.projections.setwise`); the fold itself is the live one,
`smsledger.projections.fold.writes`, whichever the backend. There, the bulk of
a rebuild folds the notes inside PostgreSQL meanwhile, and the Python fold
leaves them out (`smsledger.projections.sql_fold`).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import (
    Mapper,
    OperationalError,
)

from smsledger.projections import sql_fold
from smsledger.projections.decoder import EventDecoder
from smsledger.projections.finish import finish_tables
from smsledger.projections.fold import writes
from smsledger.projections.outbox import carry_leases

if TYPE_CHECKING:
    from smsledger.projections.backend import LedgerRecorder
from smsledger.projections.pages import PageCommitter
from smsledger.projections.persistence import RoutingView
from smsledger.projections.setwise import SetwiseWriter
from smsledger.projections.setwise_plans import Plans, Stages
from smsledger.projections.tables import names
from smsledger.projections.writes import Write

Progress = Callable[[int, int], None]
# A stored event as the rebuild reads it.
Row = tuple[int, str, bytes, Any, int]  # position, topic, state, id, version
DROP_ATTEMPTS = 20
# While pages are folded, how soon the folding thread gives up the GIL to the
# page writer once PostgreSQL has answered it (the default is 5 ms).
SWITCH_INTERVAL = 0.0002
log = logging.getLogger("smsledger.rebuild")


@dataclass(frozen=True)
class RebuildReport:
    old_version: int
    new_version: int
    events: int
    position: int


class Rebuilder:
    def __init__(
        self, recorder: LedgerRecorder, mapper: Mapper[Any], page_size: int = 5000
    ) -> None:
        self.recorder = recorder
        self.view: RoutingView = recorder.view
        self.page_size = page_size
        self.decoder = EventDecoder(mapper)
        self.setwise = recorder.setwise_rebuild
        # Whether the bulk of the notes is folded in SQL (`sql_fold.py`).
        self.notes_in_sql = self.setwise and sql_fold.usable(mapper)
        self.plans = Plans(self.view.SET_FIELD)

    def rebuild(self, progress: Progress | None = None) -> RebuildReport:
        datastore = self.recorder.datastore
        with datastore.transaction(commit=True) as curs:
            old = self.view.live_version(curs)
            new = max(old, self.view.built_version(curs)) + 1
            self.view.drop_version(curs, new)
            self.view.create_version(curs, new)
            self.view.record_build(curs, new, 0)
            if self.notes_in_sql:
                sql_fold.defer_indexes(curs, self.plans, new)
        position, folded = self._fold_to_head(new, 0, progress)
        self.plans.deferring = False
        # Indexes left to make once the tables are full, and the planner's
        # statistics before the switch, so that routing's first reads of the
        # new version are planned with them. Not under the append lock:
        # sampling every table takes a while.
        if self.setwise:
            finish_tables(datastore, self.plans, names(new).values())
        else:
            with datastore.transaction(commit=True) as curs:
                self.view.analyze_version(curs, new)
        with datastore.transaction(commit=True) as curs:
            # Its pages may stop short of where the notes folded in SQL got.
            self.view.record_build(curs, new, position)
        position, more = self._catch_up(new, position, progress)
        folded += more
        with self.recorder.appends_locked() as curs:
            rest = [
                (int(n.id), n.topic, n.state, n.originator_id, n.originator_version)
                for n in self.recorder.select_after(curs, position)
            ]
            if self.setwise:
                stages = Stages(self.plans)
                self._fold_setwise(new, rest).flush(curs, stages)
                stages.drop(curs)
            else:
                self.view.apply_to(curs, new, self._events(rest), batched=True)
            if rest:
                position = rest[-1][0]
            self.view.record_build(curs, new, position)
            carry_leases(self.view, curs, old, new)
            self.view.set_live_version(curs, new)
        folded += len(rest)
        if progress:
            progress(position, position)
        self._drop(old)
        return RebuildReport(old, new, folded, position)

    def _fold_to_head(
        self, version: int, position: int, progress: Progress | None
    ) -> tuple[int, int]:
        """Fold up to the head as it is now, however little that is; where it
        got, and how many events it folded."""
        head = int(self.recorder.max_notification_id() or 0)
        if progress:
            progress(position, head)
        if head <= position:
            return position, 0
        if self.notes_in_sql:
            return head, self._fold_beside_sql(version, position, head, progress)
        return head, self._fold(version, position, head, progress)

    def _catch_up(
        self, version: int, position: int, progress: Progress | None
    ) -> tuple[int, int]:
        """Fold until the head is less than a page ahead; where it got, and how
        many events it folded."""
        folded = 0
        while True:
            head = int(self.recorder.max_notification_id() or 0)
            if progress:
                progress(position, head)
            if head - position <= self.page_size:
                return position, folded
            folded += self._fold(version, position, head, progress)
            position = head

    def _fold(
        self, version: int, position: int, head: int, progress: Progress | None
    ) -> int:
        fold = self._fold_pages_setwise if self.setwise else self._fold_pages
        return fold(version, position, head, progress)

    def _fold_pages(
        self, version: int, position: int, head: int, progress: Progress | None
    ) -> int:
        """Fold the events up to `head`, a page per transaction."""
        folded = 0
        while position < head:
            notifications = self.recorder.select_notifications(
                position, self.page_size, stop=head, inclusive_of_start=False
            )
            if not notifications:
                break
            rows = [
                (int(n.id), n.topic, n.state, n.originator_id, n.originator_version)
                for n in notifications
            ]
            with self.recorder.bulk_transaction() as curs:
                self.view.apply_to(curs, version, self._events(rows), batched=True)
                position = rows[-1][0]
                self.view.record_build(curs, version, position)
            folded += len(rows)
            if progress:
                progress(position, head)
        return folded

    def _fold_beside_sql(
        self, version: int, position: int, head: int, progress: Progress | None
    ) -> int:
        """Fold the events up to `head`: the notes in SQL, on a connection of
        their own, while the Python fold does every other event."""
        recorder: Any = self.recorder  # PostgreSQL's, which names its table so
        notes = sql_fold.NoteFold(
            recorder.datastore,
            recorder.qualified_events_table,
            self.plans,
            version,
            position,
            head,
        )
        with notes:
            folded = self._fold_pages_setwise(version, position, head, progress, notes)
        return folded + notes.events

    def _fold_pages_setwise(
        self,
        version: int,
        position: int,
        head: int,
        progress: Progress | None,
        notes: sql_fold.NoteFold | None = None,
    ) -> int:
        """Fold the events up to `head` from one stream, a page at a time; each
        page is written set-wise on another thread while the next is folded.
        With the notes folded in SQL beside it, those it leaves alone."""
        folded = 0
        skipping = sql_fold.TOPICS if notes else ()
        leaving = sql_fold.TAKES if notes else frozenset()
        with (
            closing(self.recorder.stored_rows(position, head, None, skipping)) as rows,
            PageCommitter(
                self.recorder.datastore, self.view, self.plans, version
            ) as pages,
            prompt_handoffs(),
        ):
            while page := list(islice(rows, self.page_size)):
                pages.submit(self._fold_setwise(version, page, leaving), page[-1][0])
                folded += len(page)
                if progress:
                    progress(page[-1][0], head)
        return folded

    def _fold_setwise(
        self, version: int, rows: Iterable[Row], leaving: frozenset[str] = frozenset()
    ) -> SetwiseWriter:
        writer = SetwiseWriter(self.plans, version)
        folded: Iterable[Write] = writes(self._events(rows))
        if leaving:
            folded = (w for w in folded if w[0].table not in leaving)
        writer.write_all(folded)
        return writer

    def _events(self, rows: Iterable[Row]) -> Iterator[tuple[Any, int]]:
        """The domain events the view folds: the others are not even decoded."""
        handlers = self.view.HANDLERS
        decoder = self.decoder
        for position, topic, state, originator_id, originator_version in rows:
            if decoder.event_class(topic) in handlers:
                event = decoder.decode(topic, state, originator_id, originator_version)
                yield event, position

    def _drop(self, version: int) -> None:
        """Drop a version no longer live, once its last readers let go of it."""
        for attempt in range(DROP_ATTEMPTS):
            try:
                with self.recorder.datastore.transaction(commit=True) as curs:
                    self.view.drop_version(curs, version)
                return
            except OperationalError:
                time.sleep(0.05 * (attempt + 1))  # back off: readers finish
        log.warning("routing view v%s left in place: still in use", version)


@contextmanager
def prompt_handoffs() -> Iterator[None]:
    """Hand the GIL over sooner while two threads share the rebuild.

    The page writer, the slower of the two, waits on PostgreSQL dozens of times
    a page: once per 32 KiB of COPY data, once per statement. Each time, the
    folding thread could keep the GIL for up to the switch interval before the
    writer went on. The interval is the process's own: the rebuild runs in a
    process of its own (`smsledger projections rebuild`).
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
