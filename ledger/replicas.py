"""Reads that may lag, served by hot standbys; by the primary when none can.

PostgreSQL's streaming replication keeps each standby a moment behind the
primary. Reads that may be that moment late (audits, decision lists, a
contact's history) go to a standby, in turn; routing, recording and what a
client must read back at once stay on the primary.

A client that must see its own write passes the write's `position` as
`min_position`: a standby serves the read only once it holds that position
(its own newest notification id: positions are notification ids, which a
standby's WAL replay position cannot be mapped to). It is given a short while
to replay that far; then the primary serves. A standby that fails is passed
over for a few seconds and its read is carried out again on the next one,
else on the primary.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from prometheus_client import Counter

from smsledger.ledger.application import Ledger
from smsledger.ledger.storage import UNAVAILABLE

T = TypeVar("T")
log = logging.getLogger("smsledger.replicas")

# How often a read waiting for a standby to replay looks again.
POLL_SECONDS = 0.01
# How long a standby that failed is passed over.
RETRY_SECONDS = 2.0

READS = Counter(
    "smsledger_lagging_reads",
    "Reads that may lag, by who served them: a standby, or the primary"
    " (no standby configured, none had replayed far enough, or none answered).",
    ["served_by"],
)


class Standby:
    """One hot standby, and until when it is passed over."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.name = f"{parts.hostname}:{parts.port or 5432}"
        self.ledger = Ledger(url, standby=True)
        self.passed_over_until = 0.0

    @property
    def usable(self) -> bool:
        return time.monotonic() >= self.passed_over_until

    def failed(self, error: BaseException) -> None:
        log.warning("standby %s failed a read, served by another: %s", self.name, error)
        self.passed_over_until = time.monotonic() + RETRY_SECONDS


class Replicas:
    """The primary's ledger and its standbys' (none: every read is the
    primary's). `wait` is how long a read waits for `min_position`."""

    def __init__(self, primary: Ledger, urls: Sequence[str], wait: float = 0.5) -> None:
        self.primary = primary
        self.standbys = [Standby(url) for url in urls]
        self.wait = wait
        self._turn = itertools.count()

    def read(self, read: Callable[[Ledger], T], min_position: int = 0) -> T:
        """`read` on a standby that holds `min_position`, else on the primary."""
        deadline = time.monotonic() + self.wait
        while True:
            standbys = [s for s in self._in_turn() if s.usable]
            for standby in standbys:
                try:
                    if min_position and standby.ledger.head() < min_position:
                        continue
                    result = read(standby.ledger)
                except UNAVAILABLE as error:
                    standby.failed(error)
                    continue
                READS.labels("standby").inc()
                return result
            if not standbys or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)  # the standby is replaying: look again
        READS.labels("primary").inc()
        return read(self.primary)

    def lags(self) -> Iterator[tuple[str, int | None]]:
        """Each standby's name and how many events it is behind the primary;
        None for one that does not answer."""
        head = self.primary.head()
        for standby in self.standbys:
            try:
                yield standby.name, max(0, head - standby.ledger.head())
            except UNAVAILABLE:
                yield standby.name, None

    def close(self) -> None:
        for standby in self.standbys:
            standby.ledger.close()

    def _in_turn(self) -> list[Standby]:
        """The standbys, starting from the next in turn: reads spread over them."""
        if not self.standbys:
            return []
        start = next(self._turn) % len(self.standbys)
        return self.standbys[start:] + self.standbys[:start]
