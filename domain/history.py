"""The routing facts folded straight from ledger events, without any view.

Replay feeds it the few events an index names; the audit feeds it the whole
ledger in one pass. Either way it yields the same `Facts` the live view yields,
which is what lets a recorded decision be checked against the ledger.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.domain import DomainEvent

from smsledger.domain.accounts import Account
from smsledger.domain.contacts import Contact
from smsledger.domain.dispatches import Dispatch
from smsledger.domain.idempotency import IdempotencyKey
from smsledger.domain.inbound import InboundSms
from smsledger.domain.interactions import Interaction
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.routing import (
    ContactFact,
    Facts,
    NoteFact,
    NumberFact,
    UserFact,
    note_slot,
)
from smsledger.domain.signin import SignInLink
from smsledger.domain.users import User
from smsledger.domain.vocabulary import NOTE_KINDS

# A whole ledger's latest notes must fit in memory, so each is packed into one
# bytes object and becomes a NoteFact only when it is asked for: its recency
# (occurred_at in microseconds, shifted to be unsigned, and position) big-endian,
# so that notes compare as bytes in the order they compare in time; its kind;
# the length of its interaction id; then the id and the reply (a hand-off
# note's: the message handed off and who handed it, apart by _APART), as UTF-8.
_HEAD = struct.Struct(">QQBI")
_KINDS = NOTE_KINDS
_SHIFT = 1 << 63
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_KEYS: dict[tuple[str, str], tuple[str, str]] = {}
_APART = "\x1f"


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
    notes: dict[str, dict[tuple[str, str], bytes]] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    # The position of the last event that changed any of the above.
    position: int = 0

    def apply_all(self, events: Iterable[tuple[Any, int]]) -> None:
        for event, position in events:
            self.apply(event, position)

    def apply(self, event: Any, position: int) -> None:
        if getattr(event, "account_id", None) != self.account_id:
            return
        fold = FOLDS.get(type(event))
        if fold is not None:
            fold(self, event, position)
            self.position = position

    def _user(self, event: Any, position: int) -> None:
        self.users[event.user_id] = UserFact(
            event.user_id, event.email, event.name, event.active
        )

    def _contact_registered(self, event: Any, position: int) -> None:
        self.contacts[event.contact_id] = _Contact(
            event.name, [], event.owner_user_id, position
        )
        self._set_phones(event.contact_id, event.phones)

    def _contact_renamed(self, event: Any, position: int) -> None:
        self.contacts[event.contact_id].name = event.name

    def _owner_changed(self, event: Any, position: int) -> None:
        self.contacts[event.contact_id].owner_user_id = event.owner_user_id

    def _phones_changed(self, event: Any, position: int) -> None:
        self._set_phones(event.contact_id, event.phones)

    def _number(self, event: Any, position: int) -> None:
        self.numbers[event.number] = event.backup_email

    def _number_released(self, event: Any, position: int) -> None:
        self.numbers.pop(event.number, None)

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
        user_id = getattr(event, "user_id", None)
        reply = getattr(event, "reply", None) or ""
        self._keep(event.contact_id, event.kind, user_id, event.interaction_id,
                   event.occurred_at, position, reply)  # fmt: skip

    def _handed_off(self, event: Any, position: int) -> None:
        """A hand-off note of the new user on each contact the decision matched."""
        tail = f"{event.message_id}{_APART}{event.by_user_id or ''}"
        for contact_id in event.contact_ids:
            self._keep(contact_id, "handoff", event.to_user_id, event.handoff_id,
                       event.at, position, tail)  # fmt: skip

    def _reply_sent(self, event: Any, position: int) -> None:
        """A reply the provider accepted: its user's SMS note to each contact."""
        for contact_id in event.contact_ids:
            self._keep(contact_id, "sms", event.user_id, event.reply_id,
                       event.occurred_at, position, "")  # fmt: skip

    def _keep(
        self,
        contact_id: str,
        kind: str,
        user_id: str | None,
        interaction_id: str,
        occurred_at: datetime,
        position: int,
        tail: str,
    ) -> None:
        encoded = interaction_id.encode()
        moment = (occurred_at - _EPOCH) // _MICROSECOND + _SHIFT
        note = (
            _HEAD.pack(moment, position, _KINDS.index(kind), len(encoded))
            + encoded
            + tail.encode()
        )
        kept = self.notes.setdefault(contact_id, {})
        key: tuple[str, str] = note_slot(kind, user_id)
        key = _KEYS.setdefault(key, key)  # one tuple per key, shared by contacts
        if key not in kept or note > kept[key]:
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
            _note_fact(note, cid, actor)
            for cid in ids
            for (_, actor), note in self.notes.get(cid, {}).items()
        )
        wanted = {n.user_id for n in notes} | {c.owner_user_id for c in contacts}
        users = {u: self.users[u] for u in wanted if u in self.users}
        return Facts(sender, NumberFact(number, backup), contacts, notes, users)


Fold = Callable[[AccountHistory, Any, int], None]
# The events routing's facts are folded from, by class.
FOLDS: dict[type[DomainEvent], Fold] = {
    User.Registered: AccountHistory._user,
    User.Updated: AccountHistory._user,
    Contact.Registered: AccountHistory._contact_registered,
    Contact.Renamed: AccountHistory._contact_renamed,
    Contact.OwnerChanged: AccountHistory._owner_changed,
    Contact.PhonesChanged: AccountHistory._phones_changed,
    Interaction.SmsSent: AccountHistory._note,
    Interaction.CampaignSmsSent: AccountHistory._note,
    Interaction.CallMade: AccountHistory._note,
    InboundNumber.Configured: AccountHistory._number,
    InboundNumber.Reconfigured: AccountHistory._number,
    InboundNumber.Released: AccountHistory._number_released,
    InboundSms.HandedOff: AccountHistory._handed_off,
    Dispatch.Sent: AccountHistory._reply_sent,
}
# Events the view folds that no routing fact comes from: the account's
# settings, keys and secrets, and the decisions themselves (which replay
# checks rather than folds) with their mail.
BESIDE_FACTS: frozenset[type[DomainEvent]] = frozenset(
    {
        Account.Opened,
        Account.SettingsChanged,
        Account.SecretsChanged,
        Account.SecretsResealed,
        Account.ApiKeyIssued,
        Account.ApiKeyRevoked,
        InboundSms.Held,
        InboundSms.Routed,
        InboundSms.DeliveryAttempted,
        InboundSms.Delivered,
        InboundSms.DeliveryFailed,
        InboundSms.HandoffMailAttempted,
        InboundSms.HandoffMailed,
        InboundSms.HandoffMailFailed,
        Dispatch.Queued,
        Dispatch.Attempted,
        Dispatch.Failed,
    }
)
# Events no fold reads: a message's arrival (its decision says all of it), a
# request's idempotency key, and sign-in links (read from their aggregate).
UNFOLDED: frozenset[type[DomainEvent]] = frozenset(
    {InboundSms.Received, IdempotencyKey.Used, SignInLink.Issued, SignInLink.Used}
)


def _note_fact(note: bytes, contact_id: str, actor: str) -> NoteFact:
    moment, position, kind, length = _HEAD.unpack_from(note)
    reply_at = _HEAD.size + length
    tail = note[reply_at:].decode()
    handed_off = handed_by = None
    if _KINDS[kind] == "handoff":
        handed_off, by = tail.split(_APART)
        handed_by, tail = by or None, ""
    return NoteFact(
        interaction_id=note[_HEAD.size : reply_at].decode(),
        kind=_KINDS[kind],
        contact_id=contact_id,
        user_id=actor or None,
        reply=tail or None,
        occurred_at=_EPOCH + (moment - _SHIFT) * _MICROSECOND,
        position=position,
        handed_off=handed_off,
        handed_by=handed_by,
    )
