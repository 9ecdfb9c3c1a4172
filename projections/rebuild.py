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

import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from json.scanner import make_scanner
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    OperationalError,
    StoredEvent,
    Transcoding,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

from smsledger.projections import sql_fold
from smsledger.projections.finish import finish_tables
from smsledger.projections.fold import writes
from smsledger.projections.outbox import carry_leases

if TYPE_CHECKING:
    from smsledger.projections.backend import LedgerRecorder
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


class EventDecoder:
    """Stored events to the very domain events the mapper makes, for less CPU.

    The mapper's JSON transcoder decodes every JSON object through a method
    that tries and catches; here one plain hook does, and each topic is
    resolved once. A mapper that ciphers, compresses or transcodes otherwise
    is used as it is.
    """

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        self.plain = (
            isinstance(transcoder, JSONTranscoder)
            and mapper.cipher is None
            and mapper.compressor is None
        )
        names = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        decoders = {name: _decoder(t) for name, t in names.items()}

        def decode_object(obj: dict[str, Any]) -> Any:
            if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
                return decoders[obj["_type_"]](obj["_data_"])
            return obj

        self._json = json.JSONDecoder(object_hook=decode_object)
        # The scanner alone: what `decode` adds is for text with white space
        # around it, which the transcoder never writes.
        self._scan: Callable[[str, int], tuple[Any, int]] = cast(Any, make_scanner)(
            self._json
        )
        self._classes: dict[str, type[Any]] = {}

    def event_class(self, topic: str) -> type[Any]:
        cls = self._classes.get(topic)
        if cls is None:
            cls = self._classes[topic] = resolve_topic(topic)
        return cls

    def decode(
        self, topic: str, state: bytes, originator_id: Any, originator_version: int
    ) -> Any:
        """What `Mapper.to_domain_event` makes of the same stored event."""
        if not self.plain:
            stored = StoredEvent(originator_id, originator_version, topic, state)
            return self.mapper.to_domain_event(stored)
        cls = self.event_class(topic)
        text = bytes(state).decode("utf8")
        try:
            event_state, end = self._scan(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            event_state = self._json.decode(text)  # says what is wrong with it
        convert = find_id_convertor(
            cast(Hashable, cls), cast(Hashable, type(originator_id))
        )
        event_state["originator_id"] = convert(originator_id)
        event_state["originator_version"] = originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", event_state)
        return event


class PageCommitter:
    """Writes folded pages in order, each in its own transaction with the
    position it reached, on a thread of its own: the database writes one page
    while the next is folded. At most two pages wait, so memory stays flat."""

    def __init__(
        self, datastore: Any, view: RoutingView, plans: Plans, version: int
    ) -> None:
        self.datastore = datastore
        self.view = view
        self.plans = plans
        self.version = version
        self.queue: queue.Queue[tuple[SetwiseWriter, int] | None] = queue.Queue(1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="rebuild-pages")

    def __enter__(self) -> PageCommitter:
        self.thread.start()
        return self

    def submit(self, writer: SetwiseWriter, position: int) -> None:
        while True:
            self._raise()
            try:
                self.queue.put((writer, position), timeout=0.1)
                return
            except queue.Full:
                continue

    def __exit__(self, *exc: object) -> None:
        while self.thread.is_alive():
            try:
                self.queue.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        self.thread.join()
        if exc[0] is None:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            with self.datastore.get_connection() as conn:
                stages = Stages(self.plans)
                try:
                    while (item := self.queue.get()) is not None:
                        writer, position = item
                        with conn.transaction(), conn.cursor() as curs:
                            # A lost page is built again: no need to wait for disk.
                            curs.execute("SET LOCAL synchronous_commit TO OFF")
                            writer.flush(curs, stages)
                            self.view.record_build(curs, self.version, position)
                finally:
                    with conn.cursor() as curs:
                        stages.drop(curs)
        except BaseException as error:  # the folding thread raises it
            self.error = error


def _decoder(transcoding: Transcoding) -> Callable[[Any], Any]:
    """The library's own transcodings, without their checks' cost."""
    if type(transcoding) is DatetimeAsISO:
        return datetime.fromisoformat
    return transcoding.decode
