"""Idempotency keys: a client's key for retrying a request, remembered with it.

A key is recorded in the same append as what its request created, under an id
derived from (scope, route, key): a second use of the key collides in the
ledger itself, in whichever process it arrives, and finds what the first said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from smsledger.domain.ids import scoped_id


class IdempotencyKey(Aggregate):
    if TYPE_CHECKING:  # made by the metaclass from the @event names below
        Used: ClassVar[type[Aggregate.Event]]

    @staticmethod
    def create_id(scope: str, route: str, key: str, **_: Any) -> UUID:
        return scoped_id(scope, "idempotency", f"{route}\x1f{key}")

    @event("Used")
    def __init__(
        self, scope: str, route: str, key: str, fingerprint: str, record: str
    ) -> None:
        # `scope` is the account, or "admin" for account creation; `record`
        # the id of what the request created (interaction, message, account).
        self.scope = scope
        self.route = route
        self.key = key
        self.fingerprint = fingerprint
        self.record = record
