"""What /metrics reads from the routing view when scraped: the mail queue,
held messages and the ledger's head, in one snapshot; each count by an index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smsledger.projections.persistence import RoutingView, from_time_key


@dataclass(frozen=True)
class Gauges:
    head: int
    mail_pending: int
    mail_failed: int
    oldest_pending: datetime | None  # when the oldest mail waiting was routed
    most_tries_pending: int  # the most tries any mail waiting has had
    held: int
    builds: list[tuple[int, int]]  # (version, position) of views being rebuilt


class ViewGauges:
    COUNT_PENDING = "SELECT COUNT(*) AS n FROM sl_outbox WHERE status = 'pending'"
    COUNT_FAILED = "SELECT COUNT(*) AS n FROM sl_outbox WHERE status = 'failed'"
    OLDEST_PENDING = (
        "SELECT routed_at FROM sl_outbox WHERE status = 'pending'"
        " ORDER BY position LIMIT 1"
    )
    MOST_TRIES_PENDING = (
        "SELECT MAX(attempts) AS n FROM sl_outbox WHERE status = 'pending'"
    )
    COUNT_HELD = "SELECT COUNT(*) AS n FROM sl_decisions WHERE status = 'held'"

    def __init__(self, view: RoutingView) -> None:
        self.view = view

    def read(self) -> Gauges:
        state, (pending, failed, oldest, tries, held) = self.view.read(
            [
                (self.COUNT_PENDING, ()),
                (self.COUNT_FAILED, ()),
                (self.OLDEST_PENDING, ()),
                (self.MOST_TRIES_PENDING, ()),
                (self.COUNT_HELD, ()),
            ]
        )
        with self.view.transaction() as curs:
            live = self.view.live_version(curs)
            builds = [b for b in self.view.builds(curs) if b[0] > live]
        return Gauges(
            head=int(state["head"] or 0),
            mail_pending=int(pending[0]["n"]),
            mail_failed=int(failed[0]["n"]),
            oldest_pending=from_time_key(oldest[0]["routed_at"]) if oldest else None,
            most_tries_pending=int(tries[0]["n"] or 0),
            held=int(held[0]["n"]),
            builds=builds,
        )
