"""Every event class of every aggregate: what each fold must handle or ignore."""

from __future__ import annotations

from eventsourcing.domain import DomainEvent

from domain.accounts import Account
from domain.contacts import Contact
from domain.idempotency import IdempotencyKey
from domain.inbound import InboundSms
from domain.interactions import Interaction
from domain.numbers import InboundNumber
from domain.users import User

AGGREGATES = (Account, Contact, IdempotencyKey, InboundNumber, InboundSms,
              Interaction, User)  # fmt: skip
# The library's base classes every aggregate gets, recorded by none of ours.
_BASES = ("Event", "Created")


def event_classes(aggregate: type) -> frozenset[type[DomainEvent]]:
    """The events an aggregate records: its event classes, less the bases
    others derive from (`Interaction.Noted`)."""
    found = {
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, DomainEvent)
        and name not in _BASES
    }
    bases = {b for cls in found for b in cls.__mro__[1:] if b in found}
    return frozenset(found - bases)


def all_event_classes() -> frozenset[type[DomainEvent]]:
    return frozenset(cls for a in AGGREGATES for cls in event_classes(a))
