"""The ledger's verbs on decisions made: their mail's outcome, and reading them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from smsledger.domain.errors import NotFound
from smsledger.domain.inbound import InboundSms
from smsledger.ledger import telemetry
from smsledger.ledger.accounts import AccountCommands
from smsledger.ledger.base import AccountContext
from smsledger.projections.decision_filter import DecisionFilter


@dataclass(frozen=True)
class Accepted:
    """A mail the mail server accepted, with its decision as read before it
    was sent: what recording it needs."""

    inbound: InboundSms
    mail_id: str


class DeliveryCommands(AccountCommands):
    def record_delivered(self, account_id: str, message_id: str, mail_id: str) -> None:
        """The decision's mail was accepted by the mail server."""
        self._record_delivery(
            account_id, message_id, lambda sms: sms.record_delivered(mail_id)
        )

    def prepare_delivered(
        self, account_id: str, message_id: str, mail_id: str
    ) -> Accepted:
        """`record_delivered`, with its read done now: hand the answer to
        `record_accepted` once the mail server has the mail. A crash between
        the two sends the mail again, so the less time between them, the
        better."""
        inbound: InboundSms = self.repository.get(
            InboundSms.create_id(account_id, message_id)
        )
        return Accepted(inbound, mail_id)

    def record_accepted(self, accepted: Sequence[Accepted]) -> None:
        """Record mails the mail server accepted, in one transaction unless
        one of them conflicts (another worker recorded it meanwhile): that
        one is read again, the others still go together."""
        pending = [a for a in accepted if a.inbound.delivery == "pending"]
        for a in pending:
            a.inbound.record_delivered(a.mail_id)
        outcomes = self.commits.append_each(
            [a.inbound.collect_events() for a in pending]
        )
        for a, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, IntegrityError):
                inbound = a.inbound
                self.record_delivered(inbound.account_id, inbound.message_id, a.mail_id)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                _count_tries(a.inbound)

    def record_delivery_failure(
        self,
        account_id: str,
        message_id: str,
        *,
        permanent: bool,
        error: str,
        retry_at: datetime,
    ) -> None:
        """A try that did not deliver; the mail is tried again from `retry_at`."""
        self._record_delivery(
            account_id,
            message_id,
            lambda sms: sms.record_failed_attempt(permanent, error, retry_at),
        )

    def _record_delivery(
        self, account_id: str, message_id: str, change: Callable[[InboundSms], None]
    ) -> None:
        for tries_left in (1, 0):
            inbound: InboundSms = self.repository.get(
                InboundSms.create_id(account_id, message_id)
            )
            if inbound.delivery != "pending":
                return  # another worker recorded the outcome first
            change(inbound)
            try:
                self._save(inbound)
            except IntegrityError:
                if not tries_left:
                    raise
            else:
                _count_tries(inbound)
                return

    def alerts(
        self, ctx: AccountContext, user_id: str, after: int, limit: int = 100
    ) -> list[tuple[int, dict[str, Any]]]:
        """Decisions alerted to a user after ledger position `after`, in order."""
        return self.outbox.alerts(ctx.account_id, user_id, after, limit)

    def get_decision(self, ctx: AccountContext, message_id: str) -> dict[str, Any]:
        decision = self.view.decision(ctx.account_id, message_id)
        if decision is None:
            raise NotFound(f"no decision for message {message_id!r}")
        return decision

    def list_decisions(
        self,
        ctx: AccountContext,
        rule: str | None = None,
        recipient: str | None = None,
        limit: int = 50,
        before: tuple[int, str] | None = None,
    ) -> list[dict[str, Any]]:
        only = DecisionFilter(rule=rule, recipient=recipient)
        return self.browse.decisions(ctx.account_id, only, before, limit)


def _count_tries(inbound: InboundSms) -> None:
    """Once a mail is sent or has failed for good, how many tries it took."""
    if inbound.delivery != "pending":
        telemetry.MAIL_TRIES_PER_MAIL.labels(inbound.delivery).observe(
            inbound.delivery_attempts
        )
