"""The routing facts folded straight from ledger events, without any view.

Replay feeds it the few events an index names; the audit feeds it the whole
ledger in one pass. Either way it yields the same `Facts` the live view yields,
which is what lets a recorded decision be checked against the ledger.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.routing import ContactFact, Facts, NoteFact, NumberFact, UserFact

# A note as (occurred_at in microseconds, position, interaction id, kind, reply).
_Note = tuple[int, int, str, str, str | None]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_KEYS: dict[tuple[str, str], tuple[str, str]] = {}


@dataclass(slots=True)
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
    # Tuples, not sets: most phones belong to one contact, and a set costs 4x.
    by_phone: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Each actor's latest note per contact and channel: all routing can use.
    notes: dict[str, dict[tuple[str, str], _Note]] = field(default_factory=dict)
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
            left = tuple(c for c in self.by_phone.get(phone, ()) if c != contact_id)
            self.by_phone[phone] = left
        contact.phones = list(phones)
        for phone in phones:
            known = self.by_phone.get(phone, ())
            if contact_id not in known:
                self.by_phone[phone] = (*known, contact_id)

    def _note(self, event: Any, position: int) -> None:
        details = event.details()
        kind = details["kind"]
        user_id = details["user_id"]
        # Kept as a plain tuple: a whole ledger's worth of latest notes must
        # fit in memory, and each becomes a NoteFact only when it is asked for.
        note: _Note = (
            (details["occurred_at"] - _EPOCH) // _MICROSECOND,
            position,
            details["interaction_id"],
            sys.intern(kind),
            sys.intern(details["reply"]) if details["reply"] else None,
        )
        kept = self.notes.setdefault(details["contact_id"], {})
        key = ("call" if kind == "call" else "sms", user_id or "")
        key = _KEYS.setdefault(key, key)  # one tuple per key, shared by contacts
        if key not in kept or note[:2] > kept[key][:2]:
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
        notes = tuple(
            NoteFact(
                interaction_id=interaction_id,
                kind=kind,
                contact_id=cid,
                user_id=actor or None,
                reply=reply,
                occurred_at=_EPOCH + moment * _MICROSECOND,
                position=position,
            )
            for cid in ids
            for (_, actor), (moment, position, interaction_id, kind, reply) in (
                self.notes.get(cid, {}).items()
            )
        )
        wanted = {n.user_id for n in notes} | {c.owner_user_id for c in contacts}
        users = {u: self.users[u] for u in wanted if u in self.users}
        return Facts(sender, NumberFact(number, backup), contacts, notes, users)
