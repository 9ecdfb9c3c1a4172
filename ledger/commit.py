"""Group commit: many concurrent commands appended in one transaction.

Appends to the ledger are serialised (on PostgreSQL by a table lock), and each
transaction waits for its commit to be durable. Commands that arrive while one
transaction is committing wait together and go in the next one, so the cost of
a commit is shared; each caller still returns only once its own events are
durable, with their own positions.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError

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
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def append(self, events: Sequence[Any]) -> Sequence[Any]:
        """Append `events` in one transaction, maybe shared; return their recordings."""
        self._start()
        job = _Job(events)
        self._jobs.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.recordings

    def close(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._jobs.put(None)
                self._thread.join()
                self._thread = None

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="group-commit", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self._max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
            self._commit(jobs)
            if stop:
                return

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
