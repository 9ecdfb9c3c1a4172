"""The ledger's groundwork: who is asking, what a command answers, and the
append that folds the view in the same transaction."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.persistence import IntegrityError, Recording, StoredEvent

from smsledger.domain.accounts import (
    check_policy,
)
from smsledger.domain.decision import plain
from smsledger.domain.dispatches import Dispatch
from smsledger.domain.errors import Conflict, InvalidInput
from smsledger.domain.inbound import InboundSms
from smsledger.domain.vocabulary import Policy
from smsledger.ledger.commit import GroupCommit
from smsledger.ledger.sealing import Sealer
from smsledger.ledger.storage import persistence_env
from smsledger.projections.backend import ledger_recorder
from smsledger.projections.browse import Browse
from smsledger.projections.inbox import InboxView
from smsledger.projections.outbox import Outbox
from smsledger.projections.persistence import (
    RoutingView,
)
from smsledger.projections.queue import dispatches, handoff_mails

API_KEY_PREFIX = "sl_"
# How much of a key is kept to tell keys apart: "sl_" and 7 of its 43 random
# characters, which leaves over 200 bits unknown.
SHOWN_PREFIX = 10
# A key's last use is recorded at most this often per process, so that using
# a key adds no write to each request.
KEY_USE_INTERVAL = 60.0
log = logging.getLogger("smsledger.ledger")
T = TypeVar("T")
# Events that give delivery something to send or a user an alert: listeners in
# this process are woken at once rather than at their next poll.
WAKING = frozenset({InboundSms.Routed, InboundSms.HandedOff, Dispatch.Queued})


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class AccountContext:
    """Who is asking: the account a request acts for, and its settings."""

    account_id: str
    default_region: str
    routing_policy: Policy
    enhanced_inbound: bool
    # The hash of the API key the request came with; None for a request no
    # key made (a signed webhook, a command of the operator).
    key_hash: str | None = None


@dataclass(frozen=True)
class Saved:
    """An outcome and whether this request created it (201) or found it (200)."""

    value: dict[str, Any]
    created: bool


@dataclass(frozen=True)
class Prepared:
    """A command checked and decided, its events not yet appended.

    `done` answers once they are, given the position of the last; `repeated`
    answers if the append conflicted: the command had been carried out before.
    """

    aggregate: Any
    done: Callable[[int], Saved]
    repeated: Callable[[], Saved]

    def answer(self, appended: Sequence[Recording[UUID]] | BaseException) -> Saved:
        """The answer, given the events' recordings or why they were not made."""
        if isinstance(appended, IntegrityError):
            return self.repeated()
        if isinstance(appended, BaseException):
            raise appended
        return self.done(int(appended[-1].notification.id))


class LedgerBase(Application[UUID]):
    """The event store, the view it folds, and the helpers every verb uses."""

    def __init__(
        self,
        database_url: str,
        sealer: Sealer | None = None,
        *,
        standby: bool = False,
    ) -> None:
        """`standby`: a hot standby's copy, read only: nothing is created there."""
        env = persistence_env(database_url)
        if standby:
            env["CREATE_TABLE"] = "no"
        super().__init__(env=env)
        # The library types its recorder as its own; ours says what it adds.
        self.backend = ledger_recorder(self.recorder)
        self.view: RoutingView = self.backend.view
        self.commits = GroupCommit(lambda events: self.save(*events))
        self.outbox = Outbox(self.view)
        self.handoff_mails = handoff_mails(self.view)
        self.dispatches = dispatches(self.view)
        self.inbox_view = InboxView(self.view)
        self._sealer = sealer
        self.browse = Browse(self.view)
        # A key once seen names its account until it is revoked; the hot
        # commands check it is still live in their own read (`known_account`).
        self._key_accounts: dict[str, str] = {}
        self._key_used: dict[str, float] = {}  # when this process last recorded
        self._settings: dict[str, AccountContext] = {}
        # Called after a decision is routed here, so that delivery and alert
        # streams in this process need not wait for their next poll.
        self.on_routed: list[Callable[[], None]] = []

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        # The view is folded in the transaction that appends the events.
        processing_event.saved_kwargs["events_to_fold"] = processing_event.events
        due = any(type(e) in WAKING for e in processing_event.events)
        # Where the backend can, delivery in other processes hears of it too.
        processing_event.saved_kwargs["due"] = due
        recordings = super()._record(processing_event)
        if due:
            for listener in list(self.on_routed):
                try:
                    listener()
                except Exception:  # the events are recorded whatever it does
                    log.exception("on_routed listener failed")
        return recordings

    def _save(self, *aggregates: Any) -> int:
        """Append the aggregates' new events durably; the last one's position."""
        events = [e for aggregate in aggregates for e in aggregate.collect_events()]
        if not events:
            return self.head()
        recordings = self.commits.append(events)
        return int(recordings[-1].notification.id)

    def append_bulk(self, stored: Sequence[StoredEvent], events: Sequence[Any]) -> None:
        """Append new aggregates' events, encoded already, in one transaction,
        their fold written set-wise: an import's chunk (as `save`, for less
        CPU)."""
        self.recorder.insert_events(list(stored), events_to_fold=events, bulk=True)

    def head(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def events_at(self, positions: list[int]) -> list[tuple[int, Any]]:
        if not positions:
            return []
        rows = self.backend.select_positions(positions)
        return [(int(row["position"]), self._decode(row)) for row in rows]

    def _decode(self, row: Any) -> Any:
        return self.mapper.to_domain_event(
            StoredEvent(
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
        )

    # Helpers.

    def _find(self, cls: type[T], aggregate_id: UUID) -> T | None:
        try:
            return cast(T, self.repository.get(aggregate_id))
        except AggregateNotFoundError:
            return None

    def _create(self, aggregate: Any, on_conflict: Any) -> Saved:
        """Save a new aggregate; a concurrent twin that won the race is no error."""
        try:
            self._save(aggregate)
        except IntegrityError:
            return Saved(on_conflict(), created=False)
        return Saved(aggregate.as_dict(), created=True)


def _context(row: dict[str, Any]) -> AccountContext:
    return AccountContext(
        account_id=row["account_id"],
        default_region=row["default_region"],
        routing_policy=check_policy(row["routing_policy"]),
        enhanced_inbound=bool(row["enhanced_inbound"]),
    )


def _repeated(
    decision: dict[str, Any],
    sender: str,
    to: str,
    body: str,
    received: datetime | None,
) -> Saved:
    """A message id seen before: its first decision, if it is the same message."""
    said: dict[str, Any] = {"from": sender, "to": to, "body": body}
    if received is not None:
        said["received_at"] = _plain(received)
    if any(decision[key] != value for key, value in said.items()):
        raise Conflict(
            f"message {decision['message_id']!r} was recorded with other content"
        )
    return Saved(decision, created=False)


def _required_text(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "must not be empty")
    return value.strip()


def _utc(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput(field, "must have a UTC offset")
    return moment.astimezone(UTC)


_plain = plain  # JSON-ready values, so a decision reads the same everywhere


def _event_data(event: Any) -> dict[str, Any]:
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in event.__dict__.items() if k not in skip}
