"""Queues beside the outbox: hand-off mails and replies, sent under leases.

Each is a table of the routing view whose rows are keyed by account, message
and item (a hand-off or a reply), with the outbox's lease columns; a worker
claims due rows in ledger order exactly as it claims mails (`outbox.py`), and
the outcome recorded in the ledger closes the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smsledger.projections.persistence import RoutingView, time_key
from smsledger.projections.tables import fill, ref


@dataclass(frozen=True)
class Item:
    """A hand-off mail or a reply that a worker may now send."""

    account_id: str
    message_id: str
    item_id: str
    position: int


class Queue:
    """One queue's statements, made for its table, the column naming its
    item, and the status of an item waiting to be sent."""

    def __init__(self, view: RoutingView, table: str, item: str, waiting: str) -> None:
        self.view = view
        t, old = ref(table), ref(table, old=True)
        self.claim_sql = (
            f"UPDATE {t} SET lease_owner = %s, lease_until = %s"
            f" WHERE (account_id, message_id, {item}) IN ("
            f" SELECT account_id, message_id, {item} FROM {t}"
            f" WHERE status = '{waiting}' AND next_attempt_at <= %s"
            " AND (lease_until IS NULL OR lease_until <= %s)"
            f" ORDER BY position LIMIT %s{view.SKIP_LOCKED})"
            f" RETURNING account_id, message_id, {item} AS item_id, position"
        )
        self.extend_sql = (
            f"UPDATE {t} SET lease_until = %s"
            f" WHERE account_id = %s AND message_id = %s AND {item} = %s"
            f" AND lease_owner = %s AND status = '{waiting}'"
        )
        self.count_sql = f"SELECT status, COUNT(*) AS n FROM {t} GROUP BY status"
        # The leases of the live version given to the same items in the new
        # one, in a rebuild's switch.
        self.carry_sql = (
            f"UPDATE {t} SET lease_owner = o.lease_owner, lease_until = o.lease_until"
            f" FROM {old} AS o WHERE o.account_id = {t}.account_id"
            f" AND o.message_id = {t}.message_id AND o.{item} = {t}.{item}"
            f" AND o.lease_owner IS NOT NULL AND {t}.status = '{waiting}'"
        )

    def claim(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Item]:
        """Lease up to `limit` due items to `owner`, oldest first."""
        with self.view.writing() as tx:
            tx.curs.execute(
                self.view.sql(self.claim_sql, tx.version),
                (owner, time_key(lease_until), time_key(now), time_key(now), limit),
            )
            rows = tx.fetchall()
        items = [
            Item(r["account_id"], r["message_id"], r["item_id"], int(r["position"]))
            for r in rows
        ]
        return sorted(items, key=lambda i: i.position)

    def renew(self, item: Item, owner: str, lease_until: datetime) -> bool:
        """Extend `owner`'s lease; False if it is no longer theirs to send."""
        with self.view.writing() as tx:
            tx.curs.execute(
                self.view.sql(self.extend_sql + " RETURNING position", tx.version),
                self._key(item, owner, lease_until),
            )
            return tx.fetchone() is not None

    def renew_all(
        self, items: Sequence[Item], owner: str, lease_until: datetime
    ) -> None:
        with self.view.writing() as tx:
            statement = self.view.sql(self.extend_sql, tx.version)
            for item in items:
                tx.curs.execute(statement, self._key(item, owner, lease_until))

    @staticmethod
    def _key(item: Item, owner: str, lease_until: datetime) -> tuple[Any, ...]:
        return (time_key(lease_until), item.account_id, item.message_id,
                item.item_id, owner)  # fmt: skip

    def counts(self) -> dict[str, int]:
        with self.view.snapshot() as tx:
            tx.curs.execute(self.view.sql(self.count_sql, tx.version))
            return {row["status"]: int(row["n"]) for row in tx.fetchall()}

    def carry_leases(self, curs: Any, old: int, new: int) -> None:
        """As `outbox.carry_leases`, for this queue, in a rebuild's switch."""
        curs.execute(self.view.dialect(fill(self.carry_sql, new, old=old)))


def handoff_mails(view: RoutingView) -> Queue:
    return Queue(view, "handoff_mails", "handoff_id", "pending")


def dispatches(view: RoutingView) -> Queue:
    return Queue(view, "dispatches", "reply_id", "queued")
