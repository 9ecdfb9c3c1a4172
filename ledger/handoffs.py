"""The ledger's verbs for hand-offs (ROUTING.md, "not mine").

A hand-off is recorded on the message's own aggregate, so that two hand-offs
of one message are serialised by the ledger: the second sees the first's
holder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.persistence import IntegrityError

from smsledger.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from smsledger.domain.inbound import InboundSms
from smsledger.ledger import telemetry
from smsledger.ledger.base import AccountContext, Saved
from smsledger.ledger.mail import mail_id
from smsledger.ledger.operations import Operations

NOTE_MAX = 1000


class HandoffCommands(Operations):
    def _inbound(self, ctx: AccountContext, message_id: str) -> InboundSms:
        inbound = self._find(
            InboundSms, InboundSms.create_id(ctx.account_id, message_id)
        )
        if inbound is None or inbound.decision is None:
            raise NotFound(f"no decision for message {message_id!r}")
        return inbound

    def _check_reached(self, inbound: InboundSms, as_user: str | None) -> None:
        """A user acting for themselves (a web session) is told that a message
        that never reached them does not exist."""
        if as_user is None or inbound.holder == as_user:
            return
        reached = self.inbox_view.reached(
            inbound.account_id, as_user, inbound.message_id
        )
        if reached is None:
            raise NotFound(f"no decision for message {inbound.message_id!r}")

    def _check_holder(self, inbound: InboundSms, as_user: str | None) -> None:
        """A user acting for themselves must hold the message (a retry of what
        they did while they held it is answered before this is asked)."""
        self._check_reached(inbound, as_user)
        if as_user is not None and inbound.holder != as_user:
            raise Forbidden(f"message {inbound.message_id!r} is not yours to act on")

    # Hand-offs.

    def hand_off(
        self,
        ctx: AccountContext,
        message_id: str,
        *,
        to_user_id: str,
        by_user_id: str | None = None,
        note: str | None = None,
        handoff_id: str | None = None,
        as_user: str | None = None,
        now: datetime | None = None,
        mailed: bool = False,
    ) -> Saved:
        """Hand a routed message to another active user of the account.

        `mailed`: the hand-off's mail went out elsewhere (the source of an
        import), so it is recorded sent in the same transaction."""
        note = (note or "").strip() or None
        if note is not None and len(note) > NOTE_MAX:
            raise InvalidInput("note", f"must be at most {NOTE_MAX} characters")
        handoff_id = handoff_id or f"h-{uuid4().hex}"
        for tries_left in (2, 1, 0):
            inbound = self._inbound(ctx, message_id)
            self._check_reached(inbound, as_user)
            if (known := inbound.find_handoff(handoff_id)) is not None:
                said = (known["to_user_id"], known["by_user_id"], known["note"])
                if said != (to_user_id, by_user_id, note):
                    raise Conflict(
                        f"hand-off {handoff_id!r} was recorded with other content"
                    )
                return Saved(self.get_decision(ctx, message_id), created=False)
            self._check_holder(inbound, as_user)
            user = self.view.user(ctx.account_id, to_user_id)
            if user is None or not user["active"]:
                raise InvalidInput("to_user_id", f"no active user {to_user_id!r}")
            if (
                by_user_id is not None
                and self.view.user(ctx.account_id, by_user_id) is None
            ):
                raise InvalidInput("by_user_id", f"no user {by_user_id!r}")
            account = self.view.account(ctx.account_id)
            assert account is not None
            inbound.hand_off(
                handoff_id,
                to_user_id,
                user["email"],
                by_user_id,
                note,
                now or datetime.now(UTC),
                alert=bool(account["enhanced_inbound"]),
            )
            if mailed:
                mail = mail_id(ctx.account_id, message_id, handoff_id)
                inbound.record_handoff_mailed(handoff_id, mail)
            try:
                self._save(inbound)
            except IntegrityError:
                if tries_left:
                    continue  # a worker or another hand-off was first: again
                raise
            telemetry.HANDOFFS.inc()
            return Saved(self.get_decision(ctx, message_id), created=True)
        raise AssertionError("unreachable")

    def record_handoff_mailed(
        self, account_id: str, message_id: str, handoff_id: str, mail_id: str
    ) -> None:
        """The hand-off's mail was accepted by the mail server."""
        self._change_inbound(
            account_id,
            message_id,
            handoff_id,
            lambda sms: sms.record_handoff_mailed(handoff_id, mail_id),
        )

    def record_handoff_mail_failure(
        self,
        account_id: str,
        message_id: str,
        handoff_id: str,
        *,
        permanent: bool,
        error: str,
        retry_at: datetime,
    ) -> None:
        self._change_inbound(
            account_id,
            message_id,
            handoff_id,
            lambda sms: sms.record_handoff_mail_failed(
                handoff_id, permanent, error, retry_at
            ),
        )

    def handoff_mail_attempts(
        self, account_id: str, message_id: str, handoff_id: str
    ) -> int:
        """How often the hand-off's mail was tried."""
        inbound: InboundSms = self.repository.get(
            InboundSms.create_id(account_id, message_id)
        )
        return int(inbound.handoff_mail[handoff_id]["attempts"])

    def _change_inbound(
        self,
        account_id: str,
        message_id: str,
        handoff_id: str,
        change: Callable[[InboundSms], None],
    ) -> None:
        for tries_left in (2, 1, 0):
            inbound: InboundSms = self.repository.get(
                InboundSms.create_id(account_id, message_id)
            )
            mail = inbound.handoff_mail.get(handoff_id)
            if mail is None or mail["status"] != "pending":
                return  # another worker recorded the outcome first
            change(inbound)
            try:
                self._save(inbound)
            except IntegrityError:
                if not tries_left:
                    raise
            else:
                return
