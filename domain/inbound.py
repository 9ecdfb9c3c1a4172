"""Inbound SMS: what arrived, and the routing decision recorded for it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from smsledger.domain.errors import Conflict, InvalidInput
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
        HandedOff: ClassVar[type[Aggregate.Event]]
        HandoffMailAttempted: ClassVar[type[Aggregate.Event]]
        HandoffMailed: ClassVar[type[Aggregate.Event]]
        HandoffMailFailed: ClassVar[type[Aggregate.Event]]

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
        # Hand-offs, oldest first, and the state of each one's mail.
        self.handoffs: list[dict[str, Any]] = []
        self.handoff_mail: dict[str, dict[str, Any]] = {}

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

    # Hand-offs (ROUTING.md): the decision stays as recorded; each hand-off
    # makes a note for every matched contact and is delivered once.

    @property
    def holder(self) -> str | None:
        """The user who holds the message now: the last one it was handed to,
        else the user it was routed to (None: a backup address, or held)."""
        if self.handoffs:
            return str(self.handoffs[-1]["to_user_id"])
        recipient = (self.decision or {}).get("recipient") or {}
        return recipient.get("user_id")

    def find_handoff(self, handoff_id: str) -> dict[str, Any] | None:
        return next((h for h in self.handoffs if h["handoff_id"] == handoff_id), None)

    def hand_off(
        self,
        handoff_id: str,
        to_user_id: str,
        to_email: str,
        by_user_id: str | None,
        note: str | None,
        at: datetime,
        alert: bool,
    ) -> None:
        """Hand the message to another user; `alert` for enhanced inbound."""
        if self.decision is None or self.held:
            raise Conflict(f"message {self.message_id!r} is held: nobody holds it")
        if to_user_id == self.holder:
            raise Conflict(f"message {self.message_id!r} is already {to_user_id}'s")
        if self.find_handoff(handoff_id) is not None:
            raise Conflict(f"hand-off {handoff_id!r} was recorded with other content")
        if not to_email:
            raise InvalidInput("to_user_id", "has no email")
        entry = {
            "handoff_id": handoff_id,
            "to_user_id": to_user_id,
            "to_email": to_email,
            "by_user_id": by_user_id,
            "note": note,
            "at": at,
        }
        self._handed_off(
            self.account_id,
            self.message_id,
            handoff_id,
            to_user_id,
            to_email,
            by_user_id,
            note,
            at,
            list(self.decision["contact_ids"]),
            alert,
            [*self.handoffs, entry],
        )

    @event("HandedOff")
    def _handed_off(
        self,
        account_id: str,
        message_id: str,
        handoff_id: str,
        to_user_id: str,
        to_email: str,
        by_user_id: str | None,
        note: str | None,
        at: datetime,
        contact_ids: list[str],
        alert: bool,
        handoffs: list[dict[str, Any]],
    ) -> None:
        # `handoffs`, the whole list, lets the view set it without reading.
        self.handoffs = list(handoffs)
        self.handoff_mail[handoff_id] = {"status": "pending", "attempts": 0,
                                         "refusals": 0}  # fmt: skip

    def record_handoff_mailed(self, handoff_id: str, mail_id: str) -> None:
        mail = self._pending_handoff_mail(handoff_id)
        self._handoff_mailed(self.account_id, self.message_id, handoff_id, mail_id,
                             mail["attempts"] + 1)  # fmt: skip

    def record_handoff_mail_failed(
        self, handoff_id: str, permanent: bool, error: str, retry_at: datetime
    ) -> None:
        mail = self._pending_handoff_mail(handoff_id)
        outcome = "permanent" if permanent else "transient"
        attempt = mail["attempts"] + 1
        self._handoff_mail_attempted(self.account_id, self.message_id, handoff_id,
                                     attempt, outcome, error, retry_at)  # fmt: skip
        if mail["refusals"] >= MAX_REFUSALS:
            self._handoff_mail_failed(self.account_id, self.message_id, handoff_id,
                                      error, attempt)  # fmt: skip

    def _pending_handoff_mail(self, handoff_id: str) -> dict[str, Any]:
        mail = self.handoff_mail.get(handoff_id)
        if mail is None or mail["status"] != "pending":
            raise Conflict(f"hand-off {handoff_id!r} has no mail pending")
        return mail

    @event("HandoffMailAttempted")
    def _handoff_mail_attempted(
        self,
        account_id: str,
        message_id: str,
        handoff_id: str,
        attempt: int,
        outcome: str,
        error: str,
        retry_at: datetime,
    ) -> None:
        mail = self.handoff_mail[handoff_id]
        mail["attempts"] = attempt
        if outcome == "permanent":
            mail["refusals"] += 1

    @event("HandoffMailed")
    def _handoff_mailed(
        self,
        account_id: str,
        message_id: str,
        handoff_id: str,
        mail_id: str,
        attempts: int,
    ) -> None:
        self.handoff_mail[handoff_id].update(status="sent", attempts=attempts)

    @event("HandoffMailFailed")
    def _handoff_mail_failed(
        self,
        account_id: str,
        message_id: str,
        handoff_id: str,
        reason: str,
        attempts: int,
    ) -> None:
        self.handoff_mail[handoff_id].update(status="failed", attempts=attempts)

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
