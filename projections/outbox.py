"""What delivery reads from the routing view: mails to send, alerts to stream.

The outbox (`sl<N>_outbox`) and the alerts (`sl<N>_alerts`) are tables of the
routing view, folded from the ledger with everything else, so they are rebuilt
with it. A worker claims due mails in ledger order and holds a lease on each
while it sends; the lease is a note in the view, not in the ledger, and the
outcome recorded in the ledger releases it. A rebuilt view has no leases of its
own, so the switch to it carries the live ones over (`carry_leases`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smsledger.projections.persistence import RoutingView, from_time_key, time_key
from smsledger.projections.queue import dispatches, handoff_mails
from smsledger.projections.tables import fill


@dataclass(frozen=True)
class Claimed:
    """A routed decision whose mail a worker may now send."""

    account_id: str
    message_id: str
    position: int
    routed_at: datetime


class Outbox:
    # Renewing also proves the lease is still this worker's: one whose lease
    # ran out must not send, as another may be sending the same mail.
    EXTEND = (
        "UPDATE {outbox} SET lease_until = %s"
        " WHERE account_id = %s AND message_id = %s AND lease_owner = %s"
        " AND status = 'pending'"
    )
    RENEW = EXTEND + " RETURNING message_id"
    # The leases of one version given to the same mails in another, which
    # only a rebuild's switch writes: {old[outbox]} is the live version's table.
    CARRY_LEASES = (
        "UPDATE {outbox} SET lease_owner = o.lease_owner, lease_until = o.lease_until"
        " FROM {old[outbox]} AS o WHERE o.account_id = {outbox}.account_id"
        " AND o.message_id = {outbox}.message_id AND o.lease_owner IS NOT NULL"
        " AND {outbox}.status = 'pending'"
    )
    SELECT_ALERTS = (
        "SELECT a.position, d.document FROM {alerts} a"
        " JOIN {decisions} d"
        "  ON d.account_id = a.account_id AND d.message_id = a.message_id"
        " WHERE a.account_id = %s AND a.user_id = %s AND a.position > %s"
        " ORDER BY a.position LIMIT %s"
    )
    COUNT_BY_STATUS = "SELECT status, COUNT(*) AS n FROM {outbox} GROUP BY status"

    def __init__(self, view: RoutingView) -> None:
        self.view = view
        # Passing over the rows other workers are claiming, where the
        # backend can (`SKIP_LOCKED`).
        self.claim_sql = (
            "UPDATE {outbox} SET lease_owner = %s, lease_until = %s"
            " WHERE (account_id, message_id) IN ("
            " SELECT account_id, message_id FROM {outbox}"
            " WHERE status = 'pending' AND next_attempt_at <= %s"
            " AND (lease_until IS NULL OR lease_until <= %s)"
            f" ORDER BY position LIMIT %s{view.SKIP_LOCKED})"
            " RETURNING account_id, message_id, position, routed_at"
        )

    def claim(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Claimed]:
        """Lease up to `limit` due mails to `owner`, oldest decision first."""
        with self.view.writing() as tx:
            tx.curs.execute(
                self.view.sql(self.claim_sql, tx.version),
                (owner, time_key(lease_until), time_key(now), time_key(now), limit),
            )
            rows = tx.fetchall()
        claimed = [
            Claimed(
                account_id=row["account_id"],
                message_id=row["message_id"],
                position=int(row["position"]),
                routed_at=from_time_key(row["routed_at"]),
            )
            for row in rows
        ]
        return sorted(claimed, key=lambda c: c.position)

    def renew(self, claimed: Claimed, owner: str, lease_until: datetime) -> bool:
        """Extend `owner`'s lease; False if it is no longer theirs to send."""
        with self.view.writing() as tx:
            tx.curs.execute(
                self.view.sql(self.RENEW, tx.version),
                (time_key(lease_until), claimed.account_id, claimed.message_id, owner),
            )
            return tx.fetchone() is not None

    def renew_all(
        self, claimed: Sequence[Claimed], owner: str, lease_until: datetime
    ) -> None:
        """Extend `owner`'s leases on those of `claimed` that are still its own
        and not yet sent: the heartbeat of a worker busy with a batch."""
        with self.view.writing() as tx:
            until = time_key(lease_until)
            statement = self.view.sql(self.EXTEND, tx.version)
            for item in claimed:
                tx.curs.execute(
                    statement, (until, item.account_id, item.message_id, owner)
                )

    def counts(self) -> dict[str, int]:
        """How many mails are pending, sent and failed."""
        with self.view.snapshot() as tx:
            tx.curs.execute(self.view.sql(self.COUNT_BY_STATUS, tx.version))
            return {row["status"]: int(row["n"]) for row in tx.fetchall()}

    def alerts(
        self, account_id: str, user_id: str, after: int, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """A user's alerts after ledger position `after`: (position, decision)."""
        with self.view.snapshot() as tx:
            tx.curs.execute(
                self.view.sql(self.SELECT_ALERTS, tx.version),
                (account_id, user_id, after, limit),
            )
            rows = tx.fetchall()
        return [(int(row["position"]), json.loads(row["document"])) for row in rows]


def carry_leases(view: RoutingView, curs: Any, old: int, new: int) -> None:
    """Give version `new`'s pending mails the leases they hold in `old`.

    Run in the rebuild's switch, so that a mail being sent when it happens is
    not claimed again from the new version and sent twice. A worker that
    claims or renews on the old version after this reads the new one before
    it sends (`Outbox.renew`), and finds its lease there or gives way.
    """
    curs.execute(view.dialect(fill(Outbox.CARRY_LEASES, new, old=old)))
    for queue in (handoff_mails(view), dispatches(view)):
        queue.carry_leases(curs, old, new)
