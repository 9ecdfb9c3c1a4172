"""How events fold into the routing view: the handler of each event class.

A handler is given an event and its position and returns the writes it makes
(`projections/writes.py`; each table's operations are in `view_writes.py`).
It never reads and never sees a cursor, so the same writes go row by row,
batched or set-wise, on either backend, live or in a rebuild. The handlers
are by area: `fold_directory.py`, `fold_decisions.py`, `fold_inbox.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from eventsourcing.domain import DomainEvent

from smsledger.domain.accounts import Account
from smsledger.domain.contacts import Contact
from smsledger.domain.dispatches import Dispatch
from smsledger.domain.idempotency import IdempotencyKey
from smsledger.domain.inbound import InboundSms
from smsledger.domain.interactions import Interaction
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.signin import SignInLink
from smsledger.domain.users import User
from smsledger.projections import fold_decisions as decisions
from smsledger.projections import fold_directory as directory
from smsledger.projections import fold_inbox as inbox
from smsledger.projections.schema import ViewSchema
from smsledger.projections.writers import BatchWriter, write_rows
from smsledger.projections.writes import Write

# How one event class is folded: the event and its position in, writes out.
Handler = Callable[[Any, int], list[Write]]

# The events the view folds, by class, and those it leaves alone: every event
# class of every aggregate is in one or the other (a test says so).
HANDLERS: dict[type[DomainEvent], Handler] = {
    Account.Opened: directory.account_opened,
    Account.SettingsChanged: directory.account_changed,
    Account.SecretsChanged: directory.secrets_changed,
    Account.SecretsResealed: directory.secrets_changed,
    Account.ApiKeyIssued: directory.key_issued,
    Account.ApiKeyRevoked: directory.key_revoked,
    User.Registered: directory.user,
    User.Updated: directory.user,
    Contact.Registered: directory.contact_registered,
    Contact.Renamed: directory.contact_renamed,
    Contact.OwnerChanged: directory.owner_changed,
    Contact.PhonesChanged: directory.set_phones,
    Interaction.SmsSent: directory.note,
    Interaction.CampaignSmsSent: directory.note,
    Interaction.CallMade: directory.note,
    InboundNumber.Configured: directory.number,
    InboundNumber.Reconfigured: directory.number,
    InboundNumber.Released: directory.number_released,
    InboundSms.Held: decisions.decision,
    InboundSms.Routed: decisions.routed,
    InboundSms.DeliveryAttempted: decisions.delivery_attempted,
    InboundSms.Delivered: decisions.delivered,
    InboundSms.DeliveryFailed: decisions.delivery_failed,
    InboundSms.HandedOff: inbox.handed_off,
    InboundSms.HandoffMailAttempted: inbox.handoff_mail_attempted,
    InboundSms.HandoffMailed: inbox.handoff_mailed,
    InboundSms.HandoffMailFailed: inbox.handoff_mail_failed,
    Dispatch.Queued: inbox.reply_queued,
    Dispatch.Attempted: inbox.reply_attempted,
    Dispatch.Sent: inbox.reply_sent,
    Dispatch.Failed: inbox.reply_failed,
}
# Sign-in links are read from their own aggregate, never from the view.
IGNORED: frozenset[type[DomainEvent]] = frozenset(
    {InboundSms.Received, IdempotencyKey.Used, SignInLink.Issued, SignInLink.Used}
)


def writes(events: Iterable[tuple[Any, int]]) -> Iterator[Write]:
    """The writes that fold these events, each with its position, in order."""
    handlers = HANDLERS
    for event, position in events:
        handler = handlers.get(type(event))
        if handler is not None:
            yield from handler(event, position)


class ViewFold(ViewSchema):
    """The fold as the view runs it: its writes sent to a version's tables."""

    HANDLERS = HANDLERS
    IGNORED = IGNORED
    batch_writer: type[BatchWriter] = BatchWriter

    def apply(self, curs: Any, events: Iterable[tuple[Any, int]]) -> None:
        """Fold events into the live version, in the transaction that appends them."""
        self.apply_to(curs, self.live_version(curs), events)

    def apply_to(
        self,
        curs: Any,
        version: int,
        events: Iterable[tuple[Any, int]],
        batched: bool = False,
    ) -> None:
        """Fold events into one version, row by row or batched by table."""
        sql = self.statements.version(version)
        if batched:
            self.batch_writer(curs, sql).write_all(writes(events))
        else:
            write_rows(curs, sql, writes(events))
