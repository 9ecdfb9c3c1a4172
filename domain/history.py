"""The routing facts folded straight from ledger events, without any view.

Replay feeds it the few events an index names; the audit feeds it the whole
ledger in one pass. Either way it yields the same `Facts` the live view yields,
which is what lets a recorded decision be checked against the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.routing import ContactFact, Facts, NoteFact, NumberFact, UserFact


@dataclass
class _Contact:
    name: str | None
    phones: list[str]
    owner_user_id: str | None
    registered_position: int


@dataclass
class AccountHistory:
    """One account's routing facts as of the last event applied."""

    account_id: str
    users: dict[str, UserFact] = field(default_factory=dict)
    contacts: dict[str, _Contact] = field(default_factory=dict)
    by_phone: dict[str, set[str]] = field(default_factory=dict)
    # Each actor's latest note per contact and channel: all routing can use.
    notes: dict[str, dict[tuple[str, str], NoteFact]] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    # The position of the last event that changed any of the above.
    position: int = 0

    def apply_all(self, events: Iterable[tuple[Any, int]]) -> None:
        for event, position in events:
            self.apply(event, position)

    def apply(self, event: Any, position: int) -> None:
        if getattr(event, "account_id", None) != self.account_id:
            return
        name = type(event).__qualname__
        if name in ("User.Registered", "User.Updated"):
            self.users[event.user_id] = UserFact(
                event.user_id, event.email, event.name, event.active
            )
        elif name == "Contact.Registered":
            self.contacts[event.contact_id] = _Contact(
                event.name, [], event.owner_user_id, position
            )
            self._set_phones(event.contact_id, event.phones)
        elif name == "Contact.Renamed":
            self.contacts[event.contact_id].name = event.name
        elif name == "Contact.OwnerChanged":
            self.contacts[event.contact_id].owner_user_id = event.owner_user_id
        elif name == "Contact.PhonesChanged":
            self._set_phones(event.contact_id, event.phones)
        elif name.startswith("Interaction."):
            self._note(event, position)
        elif name in ("InboundNumber.Configured", "InboundNumber.Reconfigured"):
            self.numbers[event.number] = event.backup_email
        elif name == "InboundNumber.Released":
            self.numbers.pop(event.number, None)
        else:
            return
        self.position = position

    def _set_phones(self, contact_id: str, phones: list[str]) -> None:
        contact = self.contacts[contact_id]
        for phone in contact.phones:
            self.by_phone.get(phone, set()).discard(contact_id)
        contact.phones = list(phones)
        for phone in phones:
            self.by_phone.setdefault(phone, set()).add(contact_id)

    def _note(self, event: Any, position: int) -> None:
        details = event.details()
        note = NoteFact(
            interaction_id=details["interaction_id"],
            kind=details["kind"],
            contact_id=details["contact_id"],
            user_id=details["user_id"],
            reply=details["reply"],
            occurred_at=details["occurred_at"],
            position=position,
        )
        kept = self.notes.setdefault(note.contact_id, {})
        key = (note.channel, note.actor)
        if key not in kept or note.recency > kept[key].recency:
            kept[key] = note

    def facts(self, number: str, sender: str) -> Facts:
        backup = self.numbers.get(number)
        if backup is None:
            return Facts(sender=sender, number=None)
        ids = sorted(self.by_phone.get(sender, ()))
        contacts = tuple(
            ContactFact(
                cid,
                self.contacts[cid].name,
                self.contacts[cid].owner_user_id,
                self.contacts[cid].registered_position,
            )
            for cid in ids
        )
        notes = tuple(n for cid in ids for n in self.notes.get(cid, {}).values())
        wanted = {n.user_id for n in notes} | {c.owner_user_id for c in contacts}
        users = {u: self.users[u] for u in wanted if u in self.users}
        return Facts(sender, NumberFact(number, backup), contacts, notes, users)
