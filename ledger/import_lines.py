"""An import's lines carried out one at a time, each by the verb its request
calls: changes to users and contacts recorded already, numbers, the account's
settings, inbound SMS (routed again), hand-offs and replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smsledger.api.lines import Line, Rejected
from smsledger.domain.errors import DomainError, NotFound
from smsledger.domain.inbound import MAX_REFUSALS
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.values import parse_phone
from smsledger.ledger import audit
from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.import_notes import rejected
from smsledger.ledger.import_people import Histories, aggregate_id, line_state
from smsledger.ledger.mail import mail_id


@dataclass
class ImportReport:
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    derived: int = 0  # events the import made itself from an earlier line
    rejected: list[Rejected] = field(default_factory=list)
    # Inbound SMS routed here otherwise than the file says the source did.
    redecided: list[int] = field(default_factory=list)

    def count(self, outcome: str | Rejected) -> None:
        if isinstance(outcome, Rejected):
            self.rejected.append(outcome)
        elif outcome == "accepted":
            self.accepted += 1
        elif outcome == "duplicate":
            self.duplicates += 1
        else:
            self.derived += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "derived": self.derived,
            "rejected": [r.as_dict() for r in self.rejected],
            "redecided": self.redecided,
        }


class OneByOne:
    """Carries out single lines by the ledger's verbs; `ctx` follows the
    account's settings as `account` lines change them."""

    def __init__(
        self,
        ledger: Ledger,
        ctx: AccountContext,
        histories: Histories,
        report: ImportReport,
    ) -> None:
        self.ledger, self.ctx = ledger, ctx
        self.histories, self.report = histories, report

    def one(self, line: Line) -> None:
        head = self.ledger.head()
        try:
            outcome = self._carry_out(line)
        except DomainError as error:
            self.report.count(rejected(line, error))
            return
        if outcome is None:
            outcome = "accepted" if self.ledger.head() != head else "duplicate"
        self.report.count(outcome)

    def _carry_out(self, line: Line) -> str | None:
        ledger, ctx, body = self.ledger, self.ctx, line.body
        if line.type in ("user", "contact"):
            key = aggregate_id(ctx, line)
            if not self.histories.known(key):
                self.histories.load(key, ledger.repository.event_store.get(key))
            if self.histories.restated(key, line_state(ctx, line)):
                return "duplicate"
            if line.type == "user":
                saved = ledger.put_user(
                    ctx, body.user_id, body.email, body.name, body.active
                )
            else:
                saved = ledger.put_contact(
                    ctx, body.contact_id, body.phones, body.name, body.owner_user_id
                )
            self.histories.changed(key, line.type, saved.value)
            return None
        if line.type == "number":
            ledger.put_number(ctx, body.number, body.backup_email, body.label)
        elif line.type == "number_released":
            return self._release(body.number)
        elif line.type == "account":
            changes = body.model_dump(exclude_none=True)
            ledger.change_account(ctx.account_id, **changes)
            self.ctx = ledger.context(ctx.account_id)
        elif line.type == "inbound_sms":
            return self._inbound(line)
        elif line.type == "handoff":
            saved = ledger.hand_off(
                ctx, body.message_id, to_user_id=body.to_user_id,
                by_user_id=body.by_user_id, note=body.note,
                handoff_id=body.handoff_id, now=body.at, mailed=True,
            )  # fmt: skip
            return "accepted" if saved.created else "duplicate"
        elif line.type == "reply":
            saved = ledger.record_sent_reply(
                ctx, body.message_id, reply_id=body.reply_id, user_id=body.user_id,
                body=body.body, provider_id=body.provider_id, sent_at=body.sent_at,
            )  # fmt: skip
            return "accepted" if saved.created else "duplicate"
        else:
            return "derived"
        return None

    def _release(self, number: str) -> str | None:
        try:
            self.ledger.delete_number(self.ctx, number)
        except NotFound:
            e164 = parse_phone(number, self.ctx.default_region, "number")
            inbound = self.ledger._find(InboundNumber, InboundNumber.create_id(e164))
            if inbound is None or inbound.account_id is not None:
                raise
            return "duplicate"  # released already
        return None

    def _inbound(self, line: Line) -> str:
        """Route an inbound SMS where it falls in the history, carrying over
        its mail's outcome in the same transaction, so none is sent again."""
        body, ledger = line.body, self.ledger
        prepared = ledger.view.run_reads(
            ledger.prepare_route(
                self.ctx, body.sender, body.to, body.body, body.message_id,
                body.received_at,
            )
        )  # fmt: skip
        inbound = prepared.aggregate
        delivery = body.delivery or (body.decision or {}).get("delivery")
        status = getattr(delivery, "email", None) or (delivery or {}).get("email")
        if inbound.delivery == "pending" and status == "sent":
            inbound.record_delivered(mail_id(self.ctx.account_id, body.message_id))
        elif inbound.delivery == "pending" and status == "failed":
            error = getattr(delivery, "error", None) or "failed in the source ledger"
            for _ in range(MAX_REFUSALS):
                inbound.record_failed_attempt(True, error, datetime.now(UTC))
        saved = ledger.carry_out(prepared)
        if body.decision and audit.decided(saved.value) != audit.decided(body.decision):
            self.report.redecided.append(line.number)
        return "accepted" if saved.created else "duplicate"
