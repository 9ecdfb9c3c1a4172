"""What the delivery workers send beside decisions' mails: hand-off mails and
replies. Each is a lane: its queue in the view (`projections/queue.py`) and
how one item of it is sent and its outcome recorded in the ledger."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from smsledger.ledger.application import Ledger
from smsledger.ledger.mail import (
    PermanentFailure,
    Rendered,
    TransientFailure,
    Transport,
)
from smsledger.ledger.mail_bytes import render
from smsledger.ledger.sms import TwilioSender
from smsledger.ledger.telemetry import MAIL_TRIES, REPLY_TRIES
from smsledger.projections.queue import Item, Queue

log = logging.getLogger("smsledger.delivery")
Backoff = Callable[[int], datetime]  # the time of the try after try `n`


def _reason(error: Exception) -> str:
    if isinstance(error, PermanentFailure | TransientFailure):
        return str(error)
    return f"{type(error).__name__}: {error}"


class HandoffMails:
    """The mail of each hand-off, to the user it was handed to."""

    def __init__(
        self,
        ledger: Ledger,
        transport: Transport,
        mail_from: str,
        base_url: str | None,
        retry_at: Backoff,
    ) -> None:
        self.ledger = ledger
        self.queue: Queue = ledger.handoff_mails
        self.transport = transport
        self.mail_from = mail_from
        self.base_url = base_url
        self.retry_at = retry_at

    def send(self, item: Item) -> None:
        sent = False

        def accepted() -> None:
            nonlocal sent
            sent = True
            MAIL_TRIES.labels("sent").inc()
            self.ledger.record_handoff_mailed(
                item.account_id, item.message_id, item.item_id, mail.message_id
            )

        try:
            mail = self._compose(item)
            self.transport.send(mail, accepted)
        except Exception as error:
            if sent:
                raise  # delivered, not recorded: sent again, as the same mail
            permanent = isinstance(error, PermanentFailure)
            MAIL_TRIES.labels("permanent" if permanent else "transient").inc()
            attempts = self._attempts(item)
            log.warning("hand-off mail %s of %s not delivered (try %d): %s",
                        item.item_id, item.message_id, attempts + 1,
                        _reason(error))  # fmt: skip
            self.ledger.record_handoff_mail_failure(
                item.account_id,
                item.message_id,
                item.item_id,
                permanent=permanent,
                error=_reason(error),
                retry_at=self.retry_at(attempts + 1),
            )

    def _attempts(self, item: Item) -> int:
        return self.ledger.handoff_mail_attempts(
            item.account_id, item.message_id, item.item_id
        )

    def _compose(self, item: Item) -> Rendered:
        view = self.ledger.view
        decision = view.decision(item.account_id, item.message_id)
        if decision is None:
            raise PermanentFailure("the decision is not in the routing view")
        handoff = next(
            (
                h
                for h in decision.get("handoffs", [])
                if h["handoff_id"] == item.item_id
            ),
            None,
        )
        if handoff is None:
            raise PermanentFailure("the hand-off is not in the routing view")
        contacts = [
            view.contact(item.account_id, cid) or {"contact_id": cid, "name": None}
            for cid in decision["contact_ids"]
        ]
        return render(decision, contacts, mail_from=self.mail_from,
                       decided_at=datetime.fromisoformat(handoff["at"]),
                       handoff=handoff, base_url=self.base_url)  # fmt: skip


class Replies:
    """Each reply, through Twilio with the account's SID and auth token."""

    def __init__(self, ledger: Ledger, sender: TwilioSender, retry_at: Backoff):
        self.ledger = ledger
        self.queue: Queue = ledger.dispatches
        self.sender = sender
        self.retry_at = retry_at

    def send(self, item: Item) -> None:
        account_id, message_id, reply_id = (
            item.account_id,
            item.message_id,
            item.item_id,
        )
        try:
            reply = self._reply(item)
            sid = self.ledger.provider_secret(account_id, "twilio_account_sid")
            token = self.ledger.provider_secret(account_id, "twilio_auth_token")
            if sid is None or token is None:
                raise TransientFailure("the account has no Twilio SID and auth token")
            provider_id = self.sender.send(
                sid, token, reply["from"], reply["to"], reply["body"]
            )
        except Exception as error:
            permanent = isinstance(error, PermanentFailure)
            REPLY_TRIES.labels("permanent" if permanent else "transient").inc()
            attempts = self._attempts(item)
            log.warning("reply %s to %s not sent (try %d): %s", reply_id,
                        message_id, attempts + 1, _reason(error))  # fmt: skip
            self.ledger.record_reply_failure(
                account_id,
                message_id,
                reply_id,
                permanent=permanent,
                error=_reason(error),
                retry_at=self.retry_at(attempts + 1),
            )
            return
        REPLY_TRIES.labels("sent").inc()
        self.ledger.record_reply_sent(account_id, message_id, reply_id, provider_id)

    def _reply(self, item: Item) -> dict[str, str]:
        dispatch = self.ledger.dispatch(item.account_id, item.message_id, item.item_id)
        return {"from": dispatch.from_number, "to": dispatch.to, "body": dispatch.body}

    def _attempts(self, item: Item) -> int:
        dispatch = self.ledger.dispatch(item.account_id, item.message_id, item.item_id)
        return dispatch.attempts
