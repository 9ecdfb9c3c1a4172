"""Bulk import: the lines of a file carried out as the API would, many at once.

Notes, and users and contacts seen for the first time, are most of any
history: they are checked as the ledger's verbs check them, their reads made
as one statement per chunk (`import_chunk.py`), and their events appended in
one large transaction per chunk (the fold set-wise, as a batch of the hot
routes is). Everything else (a change to a user or contact already recorded,
a number, the account's settings, an inbound SMS) is carried out by the same
verb the API calls, in its place in the file (`import_lines.py`).

A chunk is appended on a thread of its own while the next one is checked:
checking is the process's CPU, appending mostly PostgreSQL's. One chunk at
most is in flight, and chunks are appended in the file's order.

Ids make a line's aggregate: a line whose aggregate is recorded already is a
duplicate (or, if it says something else, rejected), so a re-run, or a run
resumed after a crash, records nothing twice. A chunk is appended whole or
not at all, and a line is never half-applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from smsledger.api.lines import NOTE_TYPES, Line, Rejected
from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.import_chunk import Chunk, ChunkChecker
from smsledger.ledger.import_lines import ImportReport, OneByOne
from smsledger.ledger.import_people import Histories

CHUNK = 2000  # lines a bulk transaction carries: bigger holds the append lock longer
BULK_TYPES = {"user", "contact", *NOTE_TYPES}
TRIES = 3  # appends of one chunk that another writer's conflicting ones may undo

__all__ = ["BULK_TYPES", "CHUNK", "ImportReport", "Importer"]


class Importer:
    """Carries out the lines of one file into one account."""

    def __init__(
        self,
        ledger: Ledger,
        ctx: AccountContext,
        *,
        dry_run: bool = False,
        chunk: int = CHUNK,
    ) -> None:
        self.ledger = ledger
        self.dry_run = dry_run
        self.chunk = chunk
        self.report = ImportReport()
        self.pending: list[Line] = []
        histories = Histories()
        self.checker = ChunkChecker(ledger, histories)
        # The caller's key was checked already; the note reads need not again.
        self.verbs = OneByOne(
            ledger, replace(ctx, key_hash=None), histories, self.report
        )
        # The chunk being appended: its lines, what it appends, its append.
        self.in_flight: tuple[list[Line], Chunk, Future[None]] | None = None
        self.appender: ThreadPoolExecutor | None = None

    def run(
        self,
        lines: Iterable[Line | Rejected],
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        self.appender = ThreadPoolExecutor(1, thread_name_prefix="import-append")
        try:
            for item in lines:
                self.report.lines += 1
                if isinstance(item, Rejected):
                    self.report.rejected.append(item)
                elif item.type in BULK_TYPES:
                    self.pending.append(item)
                    if len(self.pending) >= self.chunk:
                        self.flush()
                else:
                    self.flush()
                    self.settle()
                    self._appended()
                    self._one(item)
                if progress and self.report.lines % 1000 == 0:
                    progress(self.report.lines)
            self.flush()
            self.settle()
        finally:
            self.appender.shutdown(wait=True)
        if progress:
            progress(self.report.lines)
        self.report.rejected.sort(key=lambda r: r.line)
        return self.report

    def flush(self) -> None:
        """Check the pending lines and start appending their new aggregates;
        changes to recorded ones follow once the append is done."""
        lines, self.pending = self.pending, []
        if not lines:
            return
        chunk = self._check(lines)
        if self.dry_run:
            self._counted(chunk)
            return
        if not self.settle():  # the chunk before was appended anew
            self.checker.histories.forget(chunk.made)
            chunk = self._check(lines)
        if chunk.later or self.appender is None:
            self._counted(self._append(lines, chunk))
        else:
            future = self.appender.submit(self._append_once, chunk)
            self.in_flight = (lines, chunk, future)

    def settle(self) -> bool:
        """Wait for the chunk in flight, count its lines and carry out its
        changes; False if it had to be checked and appended anew."""
        if self.in_flight is None:
            return True
        lines, chunk, future = self.in_flight
        self.in_flight = None
        try:
            future.result()
        except IntegrityError:
            # Another writer recorded one of its aggregates meanwhile: what
            # was checked against it, this chunk and the next, is checked again.
            self.checker.histories.forget(chunk.made)
            self._counted(self._append(lines, self._check(lines), tries=TRIES - 1))
            return False
        self._counted(chunk)
        return True

    def _check(self, lines: list[Line]) -> Chunk:
        in_flight: dict[UUID, Any] = self.in_flight[1].made if self.in_flight else {}
        return self.checker.check(self.verbs.ctx, lines, in_flight)

    def _append(self, lines: list[Line], chunk: Chunk, tries: int = TRIES) -> Chunk:
        """Append a chunk here and now, checking it again after a conflict."""
        for tries_left in range(tries - 1, -1, -1):
            try:
                self._append_once(chunk)
                return chunk
            except IntegrityError:
                if not tries_left:
                    raise
                self.checker.histories.forget(chunk.made)
                chunk = self._check(lines)
        return chunk

    def _append_once(self, chunk: Chunk) -> None:
        if chunk.events:
            self.ledger.append_bulk(chunk.stored, chunk.events)

    def _counted(self, chunk: Chunk) -> None:
        for _, outcome in chunk.outcomes:
            self.report.count(outcome)
        for line in chunk.later:
            self._one(line)

    def _appended(self) -> None:
        """Every chunk is appended: the view has the users and contacts the
        checker kept aside for the notes (in a dry run, it never will)."""
        if not self.dry_run:
            self.checker.users.clear()
            self.checker.contacts.clear()

    def _one(self, line: Line) -> None:
        if self.dry_run:
            self.report.count("accepted")
        else:
            self.verbs.one(line)
