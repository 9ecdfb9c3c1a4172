"""Group commit: many concurrent commands appended in one transaction.

Appends to the ledger are serialised (on PostgreSQL by a table lock), and each
transaction waits for its commit to be durable. Commands that arrive while one
transaction is committing wait together and go in the next one, so the cost of
a commit is shared; each caller still returns only once its own events are
durable, with their own positions.

The caller that finds no commit under way commits itself, in its own thread,
for everyone queued (a leader); the others wait. An uncontended command so
pays no hand-off to another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError

from smsledger.ledger.telemetry import COMMIT_BATCH

Save = Callable[[Sequence[Any]], Sequence[Any]]


class _Job:
    def __init__(self, events: Sequence[Any]) -> None:
        self.events = events
        self.recordings: Sequence[Any] = ()
        self.error: BaseException | None = None
        self.done = threading.Event()


class GroupCommit:
    def __init__(self, save: Save, max_batch: int = 500) -> None:
        self._save = save
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._leading = False

    def append(self, events: Sequence[Any]) -> Sequence[Any]:
        """Append `events` in one transaction, maybe shared; return their recordings."""
        (outcome,) = self.append_each([events])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def append_each(
        self, commands: Sequence[Sequence[Any]]
    ) -> list[Sequence[Any] | BaseException]:
        """Append each command's events, all in one transaction where they can
        be; per command, its recordings or why it was not appended."""
        jobs = [_Job(events) for events in commands]
        with self._lock:
            self._queue.extend(jobs)
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        for job in jobs:
            job.done.wait()
        return [job.error or job.recordings for job in jobs]

    def waiting(self) -> int:
        with self._lock:
            return len(self._queue)

    def _lead(self) -> None:
        while True:
            with self._lock:
                jobs = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                if not jobs:
                    self._leading = False
                    return
            COMMIT_BATCH.observe(len(jobs))
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            recordings = self._save([e for job in jobs for e in job.events])
            start = 0
            for job in jobs:
                job.recordings = recordings[start : start + len(job.events)]
                start += len(job.events)
        except IntegrityError as error:
            if len(jobs) == 1:
                jobs[0].error = error
            else:
                # One command conflicted: find which, so that only it fails.
                for job in jobs:
                    self._commit([job])
        except BaseException as error:
            for job in jobs:
                job.error = error
        finally:
            for job in jobs:
                job.done.set()
