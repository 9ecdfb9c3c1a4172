"""Interaction notes: the outbound SMS, campaign SMS and calls of the team.

Each note is immutable once recorded; its kind is the class of its one event.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, cast
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from smsledger.domain.ids import scoped_id


class Interaction(Aggregate):
    class Noted(Aggregate.Created):
        kind: ClassVar[str]
        account_id: str
        interaction_id: str
        contact_id: str
        to: str
        from_number: str | None
        occurred_at: datetime
        body: str | None

        def apply(self, aggregate: Interaction) -> None:
            aggregate.account_id = self.account_id
            aggregate.interaction_id = self.interaction_id
            aggregate.kind = self.kind
            aggregate.details = self.details()

        def details(self) -> dict[str, Any]:
            return {
                "interaction_id": self.interaction_id,
                "kind": self.kind,
                "contact_id": self.contact_id,
                "user_id": getattr(self, "user_id", None),
                "reply": getattr(self, "reply", None),
                "to": self.to,
                "from": self.from_number,
                "occurred_at": self.occurred_at,
                "body": self.body,
            }

    class SmsSent(Noted):
        kind = "sms"
        user_id: str

    class CampaignSmsSent(Noted):
        kind = "campaign_sms"
        reply: str

    class CallMade(Noted):
        kind = "call"
        user_id: str

    # Names, not classes: the aggregate's metaclass replaces the classes above.
    EVENTS: ClassVar[dict[str, str]] = {
        "sms": "SmsSent",
        "campaign_sms": "CampaignSmsSent",
        "call": "CallMade",
    }

    if TYPE_CHECKING:  # set by `Noted.apply`; not constructor arguments
        account_id: str
        interaction_id: str
        kind: str
        details: dict[str, Any]

    @staticmethod
    def id_for(account_id: str, interaction_id: str) -> UUID:
        return scoped_id(account_id, "interaction", interaction_id)

    @classmethod
    def note(cls, kind: str, account_id: str, **fields: Any) -> Interaction:
        return cls._create(
            getattr(cls, cls.EVENTS[kind]),
            id=cls.id_for(account_id, fields["interaction_id"]),
            account_id=account_id,
            **fields,
        )

    @classmethod
    def noted(
        cls, kind: str, account_id: str, timestamp: datetime, **fields: Any
    ) -> Interaction.Noted:
        """The event `note` would record, made without the aggregate: an
        import makes millions, and the aggregate's creation costs most of one.

        The event's attributes are set in its dataclass's field order, as its
        constructor sets them, so that it is stored byte for byte the same.
        """
        event_class: Any = getattr(cls, cls.EVENTS[kind])
        values = {
            "originator_id": cls.id_for(account_id, fields["interaction_id"]),
            "originator_version": 1,
            "timestamp": timestamp,
            "originator_topic": _TOPIC,
            "account_id": account_id,
            **fields,
        }
        event = object.__new__(event_class)
        event.__dict__.update(
            {name: values[name] for name in event_fields(event_class)}
        )
        return cast(Interaction.Noted, event)

    def same_as(self, details: dict[str, Any]) -> bool:
        """True when `details` say nothing this note does not already say.

        A retry that left `occurred_at` to default says nothing about it.
        """
        return all(self.details.get(key) == value for key, value in details.items())


_TOPIC = get_topic(Interaction)


@cache
def event_fields(event_class: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(event_class))
