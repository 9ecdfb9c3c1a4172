"""Every event class of every aggregate: what each fold must handle or ignore."""

from __future__ import annotations

from eventsourcing.domain import DomainEvent

from smsledger.domain.accounts import Account
from smsledger.domain.contacts import Contact
from smsledger.domain.dispatches import Dispatch
from smsledger.domain.idempotency import IdempotencyKey
from smsledger.domain.inbound import InboundSms
from smsledger.domain.interactions import Interaction
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.signin import SignInLink
from smsledger.domain.users import User

AGGREGATES = (Account, Contact, Dispatch, IdempotencyKey, InboundNumber, InboundSms,
              Interaction, SignInLink, User)  # fmt: skip
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
