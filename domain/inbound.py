"""Inbound SMS: what arrived, and the routing decision recorded for it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from smsledger.domain.errors import Conflict
from smsledger.domain.ids import scoped_id

# A mail the server refuses outright (5xx) is tried this many times, in case the
# refusal was a passing misconfiguration, then recorded as failed for good.
MAX_REFUSALS = 3


class InboundSms(Aggregate):
    if TYPE_CHECKING:  # made by the metaclass from the @event names below
        Received: ClassVar[type[Aggregate.Event]]
        Held: ClassVar[type[Aggregate.Event]]
        Routed: ClassVar[type[Aggregate.Event]]
        DeliveryAttempted: ClassVar[type[Aggregate.Event]]
        Delivered: ClassVar[type[Aggregate.Event]]
        DeliveryFailed: ClassVar[type[Aggregate.Event]]

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
        # The decision's email: None until routed, then pending, sent or failed.
        self.delivery: str | None = None
        self.delivery_attempts = 0
        self.refusals = 0

    @event("Held")
    def hold(self, decision: dict[str, Any]) -> None:
        self.decision = decision

    @event("Routed")
    def route(self, decision: dict[str, Any]) -> None:
        self.decision = decision
        self.delivery = "pending"

    # Delivery of the decision's email. Every event names its account and
    # message, so the ledger reads on its own.

    def record_delivered(self, mail_id: str) -> None:
        """The mail server accepted the mail whose Message-ID is `mail_id`."""
        self.check_pending()
        attempts = self.delivery_attempts + 1
        self._delivered(self.account_id, self.message_id, mail_id, attempts)

    def record_failed_attempt(
        self, permanent: bool, error: str, retry_at: datetime
    ) -> None:
        """A try that did not deliver; after MAX_REFUSALS refusals, give up."""
        self.check_pending()
        outcome = "permanent" if permanent else "transient"
        attempt = self.delivery_attempts + 1
        self._attempted(
            self.account_id, self.message_id, attempt, outcome, error, retry_at
        )
        if self.refusals >= MAX_REFUSALS:
            self._failed(self.account_id, self.message_id, error, attempt)

    def check_pending(self) -> None:
        if self.delivery != "pending":
            raise Conflict(
                f"message {self.message_id!r} has no mail pending ({self.delivery})"
            )

    @event("DeliveryAttempted")
    def _attempted(
        self,
        account_id: str,
        message_id: str,
        attempt: int,
        outcome: str,
        error: str,
        retry_at: datetime,
    ) -> None:
        self.delivery_attempts = attempt
        if outcome == "permanent":
            self.refusals += 1

    @event("Delivered")
    def _delivered(
        self, account_id: str, message_id: str, mail_id: str, attempts: int
    ) -> None:
        self.delivery = "sent"
        self.delivery_attempts = attempts

    @event("DeliveryFailed")
    def _failed(
        self, account_id: str, message_id: str, reason: str, attempts: int
    ) -> None:
        self.delivery = "failed"
        self.delivery_attempts = attempts

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
