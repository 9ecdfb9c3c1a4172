"""Replies: an SMS a user sends back to a sender, queued, tried and sent.

A reply is queued in the same transaction as the request that asks for it,
then sent through the account's SMS provider by the delivery workers, which
record every try. Once the provider accepts it, it is that user's SMS note
to each contact the decision matched (ROUTING.md, replies): `Sent` is folded
as a note by the view and by replay alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from smsledger.domain.errors import Conflict
from smsledger.domain.ids import scoped_id

# A provider that refuses a reply (4xx) is asked as often as a mail server
# that refuses a mail, then the reply has failed for good.
from smsledger.domain.inbound import MAX_REFUSALS


class Dispatch(Aggregate):
    if TYPE_CHECKING:  # made by the metaclass from the @event names below
        Queued: ClassVar[type[Aggregate.Event]]
        Attempted: ClassVar[type[Aggregate.Event]]
        Sent: ClassVar[type[Aggregate.Event]]
        Failed: ClassVar[type[Aggregate.Event]]

    @staticmethod
    def create_id(account_id: str, message_id: str, reply_id: str, **_: Any) -> UUID:
        return scoped_id(account_id, "dispatch", f"{message_id}\x1f{reply_id}")

    @event("Queued")
    def __init__(
        self,
        account_id: str,
        message_id: str,
        reply_id: str,
        user_id: str,
        body: str,
        from_number: str,
        to: str,
        contact_ids: list[str],
        queued_at: datetime,
    ) -> None:
        self.account_id = account_id
        self.message_id = message_id
        self.reply_id = reply_id
        self.user_id = user_id
        self.body = body
        self.from_number = from_number
        self.to = to
        self.contact_ids = list(contact_ids)
        self.queued_at = queued_at
        self.status = "queued"
        self.attempts = 0
        self.refusals = 0
        self.last_error: str | None = None
        self.provider_id: str | None = None

    def record_sent(self, provider_id: str, sent_at: datetime) -> None:
        """The provider accepted the reply, as `provider_id`."""
        self.check_queued()
        self._sent(
            self.account_id,
            self.message_id,
            self.reply_id,
            self.user_id,
            self.from_number,
            self.to,
            self.contact_ids,
            self.body,
            provider_id,
            self.attempts + 1,
            sent_at,
        )

    def record_failed_attempt(
        self, permanent: bool, error: str, retry_at: datetime
    ) -> None:
        """A try that did not send; after MAX_REFUSALS refusals, give up."""
        self.check_queued()
        outcome = "permanent" if permanent else "transient"
        attempt = self.attempts + 1
        self._attempted(self.account_id, self.message_id, self.reply_id, attempt,
                        outcome, error, retry_at)  # fmt: skip
        if self.refusals >= MAX_REFUSALS:
            self._failed(self.account_id, self.message_id, self.reply_id, error,
                         attempt)  # fmt: skip

    def check_queued(self) -> None:
        if self.status != "queued":
            raise Conflict(f"reply {self.reply_id!r} is {self.status}, not queued")

    # Every event names its account, message and reply, so the ledger reads
    # on its own.

    @event("Attempted")
    def _attempted(
        self,
        account_id: str,
        message_id: str,
        reply_id: str,
        attempt: int,
        outcome: str,
        error: str,
        retry_at: datetime,
    ) -> None:
        self.attempts = attempt
        self.last_error = error
        if outcome == "permanent":
            self.refusals += 1

    @event("Sent")
    def _sent(
        self,
        account_id: str,
        message_id: str,
        reply_id: str,
        user_id: str,
        from_number: str,
        to: str,
        contact_ids: list[str],
        body: str,
        provider_id: str,
        attempts: int,
        occurred_at: datetime,
    ) -> None:
        self.status = "sent"
        self.provider_id = provider_id
        self.attempts = attempts

    @event("Failed")
    def _failed(
        self,
        account_id: str,
        message_id: str,
        reply_id: str,
        reason: str,
        attempts: int,
    ) -> None:
        self.status = "failed"
        self.attempts = attempts
        self.last_error = reason

    def same_as(self, user_id: str, body: str) -> bool:
        return (self.user_id, self.body) == (user_id, body)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reply_id": self.reply_id,
            "message_id": self.message_id,
            "user_id": self.user_id,
            "body": self.body,
            "from": self.from_number,
            "to": self.to,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "provider_id": self.provider_id,
            "queued_at": self.queued_at,
        }
