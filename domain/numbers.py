"""Inbound numbers: held by one account at a time, each with a backup email."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from smsledger.domain.errors import Conflict
from smsledger.domain.ids import number_id


class InboundNumber(Aggregate):
    if TYPE_CHECKING:  # made by the metaclass from the @event names below
        Configured: ClassVar[type[Aggregate.Event]]
        Reconfigured: ClassVar[type[Aggregate.Event]]
        Released: ClassVar[type[Aggregate.Event]]

    @staticmethod
    def create_id(number: str, **_: Any) -> UUID:
        return number_id(number)

    @event("Configured")
    def __init__(
        self, number: str, account_id: str, backup_email: str, label: str | None
    ) -> None:
        self.number = number
        self.account_id: str | None = account_id
        self.backup_email = backup_email
        self.label = label

    def configure(self, account_id: str, backup_email: str, label: str | None) -> bool:
        """Configure for `account_id`; True when the number was not its own before."""
        if self.account_id not in (None, account_id):
            raise Conflict(f"{self.number} is held by another account")
        claimed = self.account_id is None
        if claimed or (self.backup_email, self.label) != (backup_email, label):
            self._reconfigure(self.number, account_id, backup_email, label)
        return claimed

    @event("Reconfigured")
    def _reconfigure(
        self, number: str, account_id: str, backup_email: str, label: str | None
    ) -> None:
        self.account_id = account_id
        self.backup_email = backup_email
        self.label = label

    def release(self) -> None:
        assert self.account_id is not None
        self._release(self.number, self.account_id)

    @event("Released")
    def _release(self, number: str, account_id: str) -> None:
        self.account_id = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "backup_email": self.backup_email,
            "label": self.label,
        }
