"""The routing view: its tables, how events fold into them, and its queries.

Each job has its own module, and `RoutingView` stands on them all:
`projections/view_base.py` (SQL for a version, time keys), `schema.py` (tables
and versions), `fold.py` (events into writes), `queries.py` (lookups), and here
the read routing makes for every inbound SMS.
"""

from __future__ import annotations

from typing import Any, cast

from smsledger.domain.routing import (
    ContactFact,
    Facts,
    NoteFact,
    NumberFact,
    UserFact,
)
from smsledger.projections.queries import ViewQueries
from smsledger.projections.view_base import (
    TIME_FORMAT,
    Query,
    Reads,
    Snapshot,
    T,
    Tx,
    from_time_key,
    time_key,
    to_json,
)

__all__ = ["TIME_FORMAT", "Query", "Reads", "RoutingView", "Snapshot", "Tx",
           "from_time_key", "time_key", "to_json"]  # fmt: skip


class RoutingView(ViewQueries):
    """Backend-neutral fold and queries; subclasses say how to talk SQL."""

    def run_reads(self, reads: Reads[T]) -> T:
        """Carry out reads one step at a time, each step in one snapshot."""
        try:
            queries = next(reads)
            while True:
                queries = reads.send(self.read(queries))
        except StopIteration as stop:
            return cast(T, stop.value)

    def gather_facts(self, account_id: str, to: str, sender: str) -> tuple[Facts, int]:
        """The facts routing needs, read in one snapshot, and that snapshot's head."""
        facts, position, _ = self.run_reads(self.routing_read(account_id, to, sender))
        return facts, position

    def routing_read(
        self, account_id: str, to: str, sender: str, key_hash: str | None = None
    ) -> Reads[tuple[Facts, int, dict[str, Any]]]:
        """The facts, the head and the account's settings, in one snapshot; the
        settings say `key_live`: whether `key_hash`, if given, is a live key of
        the account.

        Every read is a primary-key or index lookup; none grows with the ledger.
        """
        queries = [
            (self.SELECT_ACCOUNT, (account_id,)),
            (self.SELECT_NUMBER, (to,)),
            (self.SELECT_MATCHES, (account_id, sender)),
            (self.SELECT_NOTES, (account_id, account_id, sender)),
        ]
        if key_hash is not None:
            queries.append((self.SELECT_LIVE_KEY, (key_hash, account_id)))
        state, (accounts, numbers, matches, noted, *keys) = yield queries
        position = int(state["head"] or 0)
        account = self._account(dict(accounts[0]))
        assert account is not None
        account["key_live"] = key_hash is None or bool(keys[0])
        if not numbers or numbers[0]["account_id"] != account_id:
            return Facts(sender=sender, number=None), position, account
        number = NumberFact(number=to, backup_email=numbers[0]["backup_email"])
        users: dict[str, UserFact] = {}
        contacts = []
        for row in matches:
            contacts.append(
                ContactFact(
                    contact_id=row["contact_id"],
                    name=row["name"],
                    owner_user_id=row["owner_user_id"],
                    registered_position=int(row["registered_position"]),
                )
            )
            if row["email"] is not None:
                users[row["owner_user_id"]] = _user(row, row["owner_user_id"])
        notes = []
        for row in noted:
            notes.append(
                NoteFact(
                    interaction_id=row["interaction_id"],
                    kind=row["kind"],
                    contact_id=row["contact_id"],
                    user_id=row["user_id"],
                    reply=row["reply"],
                    occurred_at=from_time_key(row["occurred_at"]),
                    position=int(row["position"]),
                    handed_off=row["handed_off"],
                    handed_by=row["handed_by"],
                )
            )
            if row["email"] is not None:
                users[row["user_id"]] = _user(row, row["user_id"])
        # In ledger order, whichever order the plan returned them in.
        contacts.sort(key=lambda c: c.registered_position)
        notes.sort(key=lambda n: n.position)
        facts = Facts(sender, number, tuple(contacts), tuple(notes), users)
        return facts, position, account


def _user(row: Any, user_id: str) -> UserFact:
    return UserFact(user_id, row["email"], row["user_name"], bool(row["active"]))
