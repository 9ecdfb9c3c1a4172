"""The ledger's verbs for replies: a `Dispatch`, queued in the request's own
transaction, sent later by the delivery workers, its outcome recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import IntegrityError

from smsledger.domain.decision import plain
from smsledger.domain.dispatches import Dispatch
from smsledger.domain.errors import Conflict, InvalidInput
from smsledger.ledger.base import AccountContext, Saved, _required_text
from smsledger.ledger.handoffs import HandoffCommands

# Twilio's own limit on a message body.
BODY_MAX = 1600


class ReplyCommands(HandoffCommands):
    def reply(
        self,
        ctx: AccountContext,
        message_id: str,
        *,
        user_id: str,
        body: str,
        reply_id: str | None = None,
        as_user: str | None = None,
        now: datetime | None = None,
    ) -> Saved:
        """Queue a reply from the message's holder to its sender."""
        body = _required_text(body, "body")
        if len(body) > BODY_MAX:
            raise InvalidInput("body", f"must be at most {BODY_MAX} characters")
        inbound = self._inbound(ctx, message_id)
        self._check_reached(inbound, as_user)
        reply_id = reply_id or f"r-{uuid4().hex}"
        found = self._find(
            Dispatch, Dispatch.create_id(ctx.account_id, message_id, reply_id)
        )
        if found is not None:
            return self._repeated_reply(found, user_id, body)
        self._check_holder(inbound, as_user)
        if inbound.holder != user_id:
            raise Conflict(f"message {message_id!r} is not {user_id}'s to answer")
        for name in ("twilio_account_sid", "twilio_auth_token"):
            if self.view.secret(ctx.account_id, name) is None:
                raise InvalidInput(name, "the account has no SMS provider set")
        assert inbound.decision is not None
        dispatch = Dispatch(
            account_id=ctx.account_id,
            message_id=message_id,
            reply_id=reply_id,
            user_id=user_id,
            body=body,
            from_number=inbound.to,
            to=inbound.sender,
            contact_ids=list(inbound.decision["contact_ids"]),
            queued_at=now or datetime.now(UTC),
        )
        try:
            self._save(dispatch)
        except IntegrityError:
            found = self.repository.get(dispatch.id)
            return self._repeated_reply(found, user_id, body)
        return Saved(_reply(dispatch), created=True)

    def record_sent_reply(
        self,
        ctx: AccountContext,
        message_id: str,
        *,
        reply_id: str,
        user_id: str,
        body: str,
        provider_id: str,
        sent_at: datetime,
    ) -> Saved:
        """A reply that went out elsewhere (the source of an import): queued
        and sent in one transaction, so it is never sent from here."""
        inbound = self._inbound(ctx, message_id)
        found = self._find(
            Dispatch, Dispatch.create_id(ctx.account_id, message_id, reply_id)
        )
        if found is not None:
            return self._repeated_reply(found, user_id, body)
        assert inbound.decision is not None
        dispatch = Dispatch(ctx.account_id, message_id, reply_id, user_id, body,
                            inbound.to, inbound.sender,
                            list(inbound.decision["contact_ids"]), sent_at)  # fmt: skip
        dispatch.record_sent(provider_id, sent_at)
        self._save(dispatch)
        return Saved(_reply(dispatch), created=True)

    def _repeated_reply(self, found: Dispatch, user_id: str, body: str) -> Saved:
        if not found.same_as(user_id, body):
            raise Conflict(f"reply {found.reply_id!r} was recorded with other content")
        return Saved(_reply(found), created=False)

    def replies(
        self, ctx: AccountContext, message_id: str, as_user: str | None = None
    ) -> list[dict[str, Any]]:
        """A message's replies, oldest first, with where each one stands."""
        inbound = self._inbound(ctx, message_id)
        self._check_reached(inbound, as_user)
        return self.inbox_view.replies(inbound.account_id, message_id)

    def dispatch(self, account_id: str, message_id: str, reply_id: str) -> Dispatch:
        """A reply as the ledger holds it."""
        dispatch: Dispatch = self.repository.get(
            Dispatch.create_id(account_id, message_id, reply_id)
        )
        return dispatch

    def record_reply_sent(
        self, account_id: str, message_id: str, reply_id: str, provider_id: str
    ) -> None:
        """The provider accepted the reply: it is now its user's SMS note."""
        self._change_dispatch(
            account_id,
            message_id,
            reply_id,
            lambda d: d.record_sent(provider_id, datetime.now(UTC)),
        )

    def record_reply_failure(
        self,
        account_id: str,
        message_id: str,
        reply_id: str,
        *,
        permanent: bool,
        error: str,
        retry_at: datetime,
    ) -> None:
        self._change_dispatch(
            account_id,
            message_id,
            reply_id,
            lambda d: d.record_failed_attempt(permanent, error, retry_at),
        )

    def _change_dispatch(
        self,
        account_id: str,
        message_id: str,
        reply_id: str,
        change: Callable[[Dispatch], None],
    ) -> None:
        for tries_left in (1, 0):
            dispatch: Dispatch = self.repository.get(
                Dispatch.create_id(account_id, message_id, reply_id)
            )
            if dispatch.status != "queued":
                return  # another worker recorded the outcome first
            change(dispatch)
            try:
                self._save(dispatch)
            except IntegrityError:
                if not tries_left:
                    raise
            else:
                return


def _reply(dispatch: Dispatch) -> dict[str, Any]:
    value: dict[str, Any] = plain(dispatch.as_dict())
    return value
