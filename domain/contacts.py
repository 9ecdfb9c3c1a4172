"""Contacts: CRM records, matched to an inbound SMS by their phones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from smsledger.domain.ids import scoped_id


class Contact(Aggregate):
    if TYPE_CHECKING:  # made by the metaclass from the @event names below
        Renamed: ClassVar[type[Aggregate.Event]]
        PhonesChanged: ClassVar[type[Aggregate.Event]]
        OwnerChanged: ClassVar[type[Aggregate.Event]]

    @staticmethod
    def create_id(account_id: str, contact_id: str, **_: Any) -> UUID:
        return scoped_id(account_id, "contact", contact_id)

    class Registered(Aggregate.Created):
        """Version 2: a contact has a list of phones; version 1 had one `phone`."""

        class_version = 2
        account_id: str
        contact_id: str
        name: str | None
        phones: list[str]
        owner_user_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            phone = state.pop("phone", None)
            state["phones"] = [phone] if phone else []

    @event(Registered)
    def __init__(
        self,
        account_id: str,
        contact_id: str,
        name: str | None,
        phones: list[str],
        owner_user_id: str | None,
    ) -> None:
        self.account_id = account_id
        self.contact_id = contact_id
        self.name = name
        self.phones = phones
        self.owner_user_id = owner_user_id

    # Every event names its account and contact, so the ledger reads on its own.
    @event("Renamed")
    def _rename(self, account_id: str, contact_id: str, name: str | None) -> None:
        self.name = name

    @event("PhonesChanged")
    def _change_phones(
        self, account_id: str, contact_id: str, phones: list[str]
    ) -> None:
        self.phones = phones

    @event("OwnerChanged")
    def _change_owner(
        self, account_id: str, contact_id: str, owner_user_id: str | None
    ) -> None:
        self.owner_user_id = owner_user_id

    def revise(
        self, name: str | None, phones: list[str], owner_user_id: str | None
    ) -> None:
        """Record only what changed, so the history reads as what happened."""
        key = (self.account_id, self.contact_id)
        if name != self.name:
            self._rename(*key, name)
        if phones != self.phones:
            self._change_phones(*key, phones)
        if owner_user_id != self.owner_user_id:
            self._change_owner(*key, owner_user_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "name": self.name,
            "phones": list(self.phones),
            "owner_user_id": self.owner_user_id,
        }
