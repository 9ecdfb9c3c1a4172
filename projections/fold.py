"""How events fold into the routing view: one handler per event class, writes out.

A handler is given an event and its position and returns the writes it makes
(`projections/writes.py`, the tables' operations in `view_writes.py`). It
never reads, and never sees a cursor: the same writes go row by row, batched
or set-wise, whichever backend and whether live or in a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from eventsourcing.domain import DomainEvent

from smsledger.domain.accounts import (
    DEFAULT_KEY_NAME,
    FIRST_KEY_ID,
    SECRET_NAMES,
    Account,
)
from smsledger.domain.contacts import Contact
from smsledger.domain.decision import as_stored, recipient_email
from smsledger.domain.idempotency import IdempotencyKey
from smsledger.domain.inbound import InboundSms
from smsledger.domain.interactions import Interaction
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.routing import note_slot
from smsledger.domain.users import User
from smsledger.projections import view_writes as w
from smsledger.projections.schema import ViewSchema
from smsledger.projections.view_base import time_key, to_json
from smsledger.projections.writers import BatchWriter, RowWriter
from smsledger.projections.writes import Write

# How one event class is folded: the event and its position in, writes out.
Handler = Callable[[Any, int], list[Write]]


def _account_opened(e: Any, position: int) -> list[Write]:
    account_id = str(e.originator_id)
    writes = [
        w.INSERT_ACCOUNT(
            account_id, e.name, e.default_region, e.routing_policy, e.enhanced_inbound
        )
    ]
    key_hash = getattr(e, "api_key_hash", None)
    if key_hash:  # opened with its one key, before keys had names
        writes.append(
            w.INSERT_KEY(
                account_id,
                FIRST_KEY_ID,
                key_hash,
                DEFAULT_KEY_NAME,
                None,
                time_key(e.timestamp),
            )
        )
    return writes


def _account_changed(e: Any, position: int) -> list[Write]:
    account_id = str(e.originator_id)
    writes = []
    for column, value in e.changes.items():
        if column in SECRET_NAMES:
            # Sealed by the migration; one still in the clear never reaches
            # the view.
            if isinstance(value, dict):
                writes.append(w.UPSERT_SECRET(account_id, column, value["sealed"]))
            continue
        writes.append(w.UPDATE_ACCOUNT[column](value, account_id))
    return writes


def _secrets_changed(e: Any, position: int) -> list[Write]:
    account_id = str(e.originator_id)
    return [w.UPSERT_SECRET(account_id, n, sealed) for n, sealed in e.sealed.items()]


def _key_issued(e: Any, position: int) -> list[Write]:
    return [
        w.INSERT_KEY(
            str(e.originator_id),
            e.key_id,
            e.key_hash,
            e.name,
            e.prefix,
            time_key(e.timestamp),
        )
    ]


def _key_revoked(e: Any, position: int) -> list[Write]:
    return [w.DELETE_KEY(str(e.originator_id), e.key_id)]


def _user(e: Any, position: int) -> list[Write]:
    return [
        w.UPSERT_USER(e.account_id, e.user_id, e.email, e.name, e.active),
        w.INSERT_INDEX(e.account_id, f"user:{e.user_id}", position),
    ]


def _contact_registered(e: Any, position: int) -> list[Write]:
    contact = w.INSERT_CONTACT(
        e.account_id, e.contact_id, e.name, e.owner_user_id, position
    )
    return [contact, *_set_phones(e, position)]


def _contact_renamed(e: Any, position: int) -> list[Write]:
    return [
        w.RENAME_CONTACT(e.name, e.account_id, e.contact_id),
        _index_contact(e, position),
    ]


def _owner_changed(e: Any, position: int) -> list[Write]:
    return [
        w.SET_OWNER(e.owner_user_id, e.account_id, e.contact_id),
        _index_contact(e, position),
    ]


def _set_phones(e: Any, position: int) -> list[Write]:
    account_id, contact_id = e.account_id, e.contact_id
    writes = [w.DELETE_PHONES(account_id, contact_id)]
    writes += [
        w.INSERT_PHONE(account_id, phone, contact_id)
        for phone in dict.fromkeys(e.phones)
    ]
    writes.append(_index_contact(e, position))
    # A contact that had a phone at some position gained it at an event
    # indexed here; replay then folds that contact's own history, which holds
    # any later removal. So removals need no phone entry, and the fold needs
    # no read, which lets a rebuild stream its writes.
    writes += [
        w.INSERT_INDEX(account_id, f"phone:{phone}", position)
        for phone in sorted(set(e.phones))
    ]
    return writes


def _note(e: Any, position: int) -> list[Write]:
    user_id = getattr(e, "user_id", None)
    channel, actor = note_slot(e.kind, user_id)
    note = w.UPSERT_NOTE(
        e.account_id,
        e.contact_id,
        channel,
        actor,
        e.interaction_id,
        e.kind,
        user_id,
        getattr(e, "reply", None),
        time_key(e.occurred_at),
        position,
    )
    return [note, _index_contact(e, position)]


def _number(e: Any, position: int) -> list[Write]:
    return [
        w.UPSERT_NUMBER(e.number, e.account_id, e.backup_email, e.label),
        _index_number(e, position),
    ]


def _number_released(e: Any, position: int) -> list[Write]:
    return [w.DELETE_NUMBER(e.number), _index_number(e, position)]


def _decision(e: Any, position: int) -> list[Write]:
    return [_store_decision(e.decision)]


def _store_decision(d: dict[str, Any]) -> Write:
    return w.UPSERT_DECISION(
        d["account_id"],
        d["message_id"],
        d["position"],
        d["status"],
        d["rule"],
        recipient_email(d),
        d["to"],
        to_json(d),
    )


def _routed(e: Any, position: int) -> list[Write]:
    """A routed decision gets a mail to send, and an alert if it says so."""
    d = e.decision
    routed_at = time_key(e.timestamp)
    account_id, message_id = d["account_id"], d["message_id"]
    writes = [
        _store_decision(as_stored(d)),
        w.INSERT_OUTBOX(
            account_id, message_id, position, routed_at, "pending", 0, routed_at
        ),
    ]
    # A contact's history lists the decisions about it (not replay's keys:
    # replay reads no decisions).
    writes += [
        w.INSERT_INDEX(account_id, f"decision:{contact_id}", position)
        for contact_id in d["contact_ids"]
    ]
    user_id = d["recipient"].get("user_id")
    if d.get("alert") and user_id:
        writes.append(w.INSERT_ALERT(account_id, user_id, position, message_id))
    return writes


def _delivery_attempted(e: Any, position: int) -> list[Write]:
    delivery = {
        "email": "pending",
        "attempts": e.attempt,
        "last_error": e.error,
        "next_attempt_at": e.retry_at,
    }
    retry = w.RETRY_OUTBOX(
        e.attempt, time_key(e.retry_at), None, None, e.account_id, e.message_id
    )
    return [retry, _set_delivery(e, delivery)]


def _delivered(e: Any, position: int) -> list[Write]:
    close = w.CLOSE_OUTBOX("sent", e.attempts, None, None, e.account_id, e.message_id)
    return [close, _set_delivery(e, {"email": "sent", "attempts": e.attempts})]


def _delivery_failed(e: Any, position: int) -> list[Write]:
    close = w.CLOSE_OUTBOX("failed", e.attempts, None, None, e.account_id, e.message_id)
    delivery = {"email": "failed", "attempts": e.attempts, "last_error": e.reason}
    return [close, _set_delivery(e, delivery)]


def _set_delivery(e: Any, delivery: dict[str, Any]) -> Write:
    return w.SET_DELIVERY(to_json(delivery), e.account_id, e.message_id)


def _index_contact(e: Any, position: int) -> Write:
    return w.INSERT_INDEX(e.account_id, f"contact:{e.contact_id}", position)


def _index_number(e: Any, position: int) -> Write:
    return w.INSERT_INDEX(e.account_id, f"number:{e.number}", position)


# The events the view folds, by class, and those it leaves alone: every event
# class of every aggregate is in one or the other (a test says so).
HANDLERS: dict[type[DomainEvent], Handler] = {
    Account.Opened: _account_opened,
    Account.SettingsChanged: _account_changed,
    Account.SecretsChanged: _secrets_changed,
    Account.SecretsResealed: _secrets_changed,
    Account.ApiKeyIssued: _key_issued,
    Account.ApiKeyRevoked: _key_revoked,
    User.Registered: _user,
    User.Updated: _user,
    Contact.Registered: _contact_registered,
    Contact.Renamed: _contact_renamed,
    Contact.OwnerChanged: _owner_changed,
    Contact.PhonesChanged: _set_phones,
    Interaction.SmsSent: _note,
    Interaction.CampaignSmsSent: _note,
    Interaction.CallMade: _note,
    InboundNumber.Configured: _number,
    InboundNumber.Reconfigured: _number,
    InboundNumber.Released: _number_released,
    InboundSms.Held: _decision,
    InboundSms.Routed: _routed,
    InboundSms.DeliveryAttempted: _delivery_attempted,
    InboundSms.Delivered: _delivered,
    InboundSms.DeliveryFailed: _delivery_failed,
}
IGNORED: frozenset[type[DomainEvent]] = frozenset(
    {InboundSms.Received, IdempotencyKey.Used}
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
        writer = self.batch_writer if batched else RowWriter
        writer(curs, version, self.statements).write_all(writes(events))
