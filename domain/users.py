"""Users: the team members an inbound SMS can be routed to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from smsledger.domain.ids import scoped_id


class User(Aggregate):
    if TYPE_CHECKING:  # made by the metaclass from the @event names below
        Registered: ClassVar[type[Aggregate.Event]]
        Updated: ClassVar[type[Aggregate.Event]]

    @staticmethod
    def create_id(account_id: str, user_id: str, **_: Any) -> UUID:
        return scoped_id(account_id, "user", user_id)

    @event("Registered")
    def __init__(
        self, account_id: str, user_id: str, email: str, name: str | None, active: bool
    ) -> None:
        self.account_id = account_id
        self.user_id = user_id
        self.email = email
        self.name = name
        self.active = active

    def update(self, email: str, name: str | None, active: bool) -> None:
        self._update(self.account_id, self.user_id, email, name, active)

    # Every event names its account and user, so the ledger reads on its own.
    @event("Updated")
    def _update(
        self, account_id: str, user_id: str, email: str, name: str | None, active: bool
    ) -> None:
        self.email = email
        self.name = name
        self.active = active

    def differs(self, email: str, name: str | None, active: bool) -> bool:
        return (self.email, self.name, self.active) != (email, name, active)

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "name": self.name,
            "active": self.active,
        }
