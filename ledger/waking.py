"""Waking a process's delivery workers when a decision is routed in another.

A server routes; `smsledger deliver`, a process of its own, sends. Where the
database can tell it (PostgreSQL's LISTEN), each commit that gives delivery
something to send wakes one worker, in turn, at most every `GAP` seconds, so
that mails due close together go out as one batch. Elsewhere the workers poll.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator, Sequence

from smsledger.ledger.application import Ledger
from smsledger.ledger.delivery import DeliveryWorker

log = logging.getLogger("smsledger.delivery")
GAP = 0.05


class Waker:
    def __init__(self, ledger: Ledger, workers: Sequence[DeliveryWorker]) -> None:
        self.ledger = ledger
        self.workers = workers
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Listen in a background thread; False where the backend cannot."""
        notices = self.ledger.backend.due_notices(self._stop)
        if notices is None:
            return False
        self._thread = threading.Thread(
            target=self._run, args=(notices,), name="smsledger-wake", daemon=True
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self, notices: Iterator[None]) -> None:
        turn = itertools.cycle(self.workers)
        try:
            for _ in notices:
                next(turn).wake()
                if self._stop.wait(GAP):
                    return
        except Exception:  # the workers still poll
            log.exception("listening for due mails failed")
