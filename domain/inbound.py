"""Inbound SMS: what arrived, and the routing decision recorded for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import scoped_id


class InboundSms(Aggregate):
    @staticmethod
    def create_id(account_id: str, message_id: str, **_: Any) -> UUID:
        return scoped_id(account_id, "inbound", message_id)

    @event("Received")
    def __init__(
        self,
        account_id: str,
        message_id: str,
        sender: str,
        to: str,
        body: str,
        received_at: datetime,
    ) -> None:
        self.account_id = account_id
        self.message_id = message_id
        self.sender = sender
        self.to = to
        self.body = body
        self.received_at = received_at
        self.decision: dict[str, Any] | None = None

    @event("Held")
    def hold(self, decision: dict[str, Any]) -> None:
        self.decision = decision

    @event("Routed")
    def route(self, decision: dict[str, Any]) -> None:
        self.decision = decision

    @property
    def held(self) -> bool:
        return self.decision is not None and self.decision["status"] == "held"

    def message(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "from": self.sender,
            "to": self.to,
            "body": self.body,
            "received_at": self.received_at,
        }
