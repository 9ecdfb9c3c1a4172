"""What /metrics reads from the routing view when scraped: the mail queue,
the hand-off mails and replies waiting, held messages and the ledger's head,
in one snapshot; each count by an index."""

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
    handoff_mail_pending: int
    handoff_mail_failed: int
    replies_queued: int
    replies_failed: int
    oldest_queued_reply: datetime | None  # when the oldest reply waiting was asked
    builds: list[tuple[int, int]]  # (version, position) of views being rebuilt


class ViewGauges:
    COUNT_PENDING = "SELECT COUNT(*) AS n FROM {outbox} WHERE status = 'pending'"
    COUNT_FAILED = "SELECT COUNT(*) AS n FROM {outbox} WHERE status = 'failed'"
    OLDEST_PENDING = (
        "SELECT routed_at FROM {outbox} WHERE status = 'pending'"
        " ORDER BY position LIMIT 1"
    )
    MOST_TRIES_PENDING = (
        "SELECT MAX(attempts) AS n FROM {outbox} WHERE status = 'pending'"
    )
    COUNT_HELD = "SELECT COUNT(*) AS n FROM {decisions} WHERE status = 'held'"
    # Each by the partial index on its status, which a literal matches.
    COUNT_HANDOFF_MAILS_PENDING = (
        "SELECT COUNT(*) AS n FROM {handoff_mails} WHERE status = 'pending'"
    )
    COUNT_HANDOFF_MAILS_FAILED = (
        "SELECT COUNT(*) AS n FROM {handoff_mails} WHERE status = 'failed'"
    )
    COUNT_REPLIES_QUEUED = (
        "SELECT COUNT(*) AS n FROM {dispatches} WHERE status = 'queued'"
    )
    COUNT_REPLIES_FAILED = (
        "SELECT COUNT(*) AS n FROM {dispatches} WHERE status = 'failed'"
    )
    OLDEST_QUEUED_REPLY = (
        "SELECT queued_at FROM {dispatches} WHERE status = 'queued'"
        " ORDER BY position LIMIT 1"
    )

    def __init__(self, view: RoutingView) -> None:
        self.view = view

    def read(self) -> Gauges:
        state, results = self.view.read(
            [
                (self.COUNT_PENDING, ()),
                (self.COUNT_FAILED, ()),
                (self.OLDEST_PENDING, ()),
                (self.MOST_TRIES_PENDING, ()),
                (self.COUNT_HELD, ()),
                (self.COUNT_HANDOFF_MAILS_PENDING, ()),
                (self.COUNT_HANDOFF_MAILS_FAILED, ()),
                (self.COUNT_REPLIES_QUEUED, ()),
                (self.COUNT_REPLIES_FAILED, ()),
                (self.OLDEST_QUEUED_REPLY, ()),
            ]
        )
        pending, failed, oldest, tries, held, *others = results
        mails_pending, mails_failed, queued, refused, oldest_reply = others
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
            handoff_mail_pending=int(mails_pending[0]["n"]),
            handoff_mail_failed=int(mails_failed[0]["n"]),
            replies_queued=int(queued[0]["n"]),
            replies_failed=int(refused[0]["n"]),
            oldest_queued_reply=(
                from_time_key(oldest_reply[0]["queued_at"]) if oldest_reply else None
            ),
            builds=builds,
        )
