"""Recording the mails a mail server accepted, without holding the next one back.

A worker sends a batch's mails one after another over one session. Each mail,
once the server answers `250`, is handed here; a thread of the batch's own
appends what it has been handed, all of it in one transaction, while the
worker sends the next mail. So a mail is recorded about one commit after the
server took it, as when each was recorded before the next was sent, but a busy
worker commits a batch at a time, not a mail at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")  # what is recorded: the ledger's `Accepted`


class Records(Generic[T]):
    """A batch's records, appended on a thread of their own; `with` waits for
    every one handed in to be appended, and raises what the appends raised."""

    def __init__(self, record_all: Callable[[Sequence[T]], None]) -> None:
        self._record_all = record_all
        self._waiting: list[T] = []
        self._error: BaseException | None = None
        self._closing = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, name="smsledger-records", daemon=True
        )

    def __enter__(self) -> Records[T]:
        self._thread.start()
        return self

    def put(self, accepted: T) -> None:
        """Record `accepted` soon. If an earlier append failed, its error is
        raised here: the database is likely away, so the batch stops."""
        with self._changed:
            if self._error is not None:
                raise self._error
            self._waiting.append(accepted)
            self._changed.notify()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join()
        if self._error is not None and error is None:
            raise self._error

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._closing:
                    self._changed.wait()
                taken, self._waiting = self._waiting, []
                if not taken:
                    return  # closing, and nothing left
            try:
                self._record_all(taken)
            except BaseException as error:
                with self._changed:
                    self._error = error
                    self._waiting = []  # sent, not recorded: sent again later
                return
