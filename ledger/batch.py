"""Carry out the hot commands for an event loop, a batch at a time.

Recording notes and routing inbound SMS come in many at once. Handing each to
a thread of its own costs more CPU than the command itself, so a batch thread
takes every command waiting, prepares them (their reads as one statement, then
their decisions), appends them all in one transaction, and answers them all in
one call back to the event loop. Each caller still hears back only once its
events are durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import Any

from smsledger.ledger.application import Ledger, Prepared, Saved
from smsledger.projections.persistence import Reads

Outcome = Saved | BaseException


class _Job:
    __slots__ = ("args", "context", "future", "kwargs", "loop", "prepare")

    def __init__(
        self, prepare: Callable[..., Reads[Prepared]], args: Any, kwargs: Any
    ) -> None:
        self.prepare, self.args, self.kwargs = prepare, args, kwargs
        # The request's context (its request id), for what is logged on
        # its behalf once its events are appended.
        self.context = contextvars.copy_context()
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[Saved] = self.loop.create_future()


class Batcher:
    """Threads that carry out waiting commands a batch at a time.

    Two, so that one batch can read and decide while another commits.
    """

    def __init__(self, ledger: Ledger, threads: int = 2) -> None:
        self.ledger = ledger
        self._lock = threading.Lock()
        self._jobs: list[_Job] = []
        self._wake = threading.Event()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, name=f"ledger-batches-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    async def carry_out(
        self, prepare: Callable[..., Reads[Prepared]], *args: Any, **kwargs: Any
    ) -> Saved:
        """`prepare(*args, **kwargs)` on the batch thread, then append and answer."""
        job = _Job(prepare, args, kwargs)
        with self._lock:
            self._jobs.append(job)
        self._wake.set()
        return await job.future

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                jobs, self._jobs = self._jobs, []
                if not self._stopping:
                    self._wake.clear()
            if jobs:
                try:
                    outcomes = self._carry_out(jobs)
                except Exception as error:  # a bug: still, no caller waits forever
                    outcomes = [error] * len(jobs)
                _answer(jobs, outcomes)
            elif self._stopping:
                return

    def _carry_out(self, jobs: list[_Job]) -> list[Outcome]:
        outcomes = self._prepare(jobs)
        prepared = [o for o in outcomes if isinstance(o, Prepared)]
        events = [p.aggregate.collect_events() for p in prepared]
        appended = iter(self.ledger.commits.append_each(events))
        return [
            job.context.run(_answer_one, outcome, next(appended))
            if isinstance(outcome, Prepared)
            else outcome
            for job, outcome in zip(jobs, outcomes, strict=True)
        ]

    def _prepare(self, jobs: list[_Job]) -> list[Outcome | Prepared]:
        """Every job's reads, step by step, each step one statement for all."""
        # Each placeholder is replaced: by what the job prepared, or why it failed.
        outcomes: list[Outcome | Prepared] = [NotImplementedError()] * len(jobs)
        waiting: dict[int, tuple[Reads[Prepared], list[Any]]] = {}

        def step(i: int, reads: Reads[Prepared], sent: Any) -> None:
            try:
                waiting[i] = (reads, reads.send(sent))
            except StopIteration as stop:
                outcomes[i] = stop.value
            except Exception as error:  # answered to its caller
                outcomes[i] = error

        for i, job in enumerate(jobs):
            try:
                step(i, job.prepare(*job.args, **job.kwargs), None)
            except Exception as error:
                outcomes[i] = error
        while waiting:
            steps, waiting = waiting, {}
            queries = [q for _, wanted in steps.values() for q in wanted]
            try:
                state, results = self.ledger.view.read(queries)
            except Exception as error:
                for i in steps:
                    outcomes[i] = error
                break
            for i, (reads, wanted) in steps.items():
                step(i, reads, (state, results[: len(wanted)]))
                results = results[len(wanted) :]
        return outcomes


def _answer_one(prepared: Prepared, appended: Any) -> Outcome:
    try:
        return prepared.answer(appended)
    except Exception as error:
        return error


def _answer(jobs: list[_Job], outcomes: list[Outcome]) -> None:
    loops = {job.loop for job in jobs}
    for loop in loops:
        mine = [(j, o) for j, o in zip(jobs, outcomes, strict=True) if j.loop is loop]
        # A closed loop has no one waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, mine)


def _settle(answers: list[tuple[_Job, Outcome]]) -> None:
    for job, outcome in answers:
        if job.future.done():  # the request was cancelled meanwhile
            continue
        if isinstance(outcome, BaseException):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)
