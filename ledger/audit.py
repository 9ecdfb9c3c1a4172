"""Check recorded decisions against the ledger: replay, verify, what-if.

All three recompute decisions with the one decision function, from facts
folded straight from ledger events (domain/history.py), never from the view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic

if TYPE_CHECKING:
    from smsledger.ledger.base import LedgerBase

from smsledger.domain.decision import as_recorded, decided
from smsledger.domain.history import AccountHistory
from smsledger.domain.inbound import InboundSms
from smsledger.domain.routing import decide
from smsledger.domain.vocabulary import Policy, check_policy

__all__ = ["as_recorded", "decided"]  # and the checks below

DECISION_EVENTS: frozenset[type[DomainEvent]] = frozenset(
    {InboundSms.Held, InboundSms.Routed}
)


# Replay of one decision, through the ledger index.


def replay(ledger: LedgerBase, document: dict[str, Any]) -> dict[str, Any]:
    """Recompute a recorded decision from the ledger as it stood at its position.

    Only the events the index names for this account's number, sender, the
    contacts that ever had that phone, and their users are read.
    """
    account_id, position = document["account_id"], document["position"]
    history = AccountHistory(account_id)
    keys = {f"number:{document['to']}", f"phone:{document['from']}"}
    seen: dict[int, Any] = {}
    while keys:
        positions = ledger.view.positions_for(account_id, sorted(keys), position)
        new = sorted(set(positions) - seen.keys())
        events = dict(ledger.events_at(new)) if new else {}
        seen.update(events)
        keys = _keys_named_by(events.values()) - _keys_named_by_seen(seen, events)
    history.apply_all((seen[p], p) for p in sorted(seen))
    facts = history.facts(document["to"], document["from"])
    return as_recorded(decide(facts, document["policy"]), document["policy"])


def _keys_named_by(events: Any) -> set[str]:
    """Further index keys an event leads to: its contact, and users involved."""
    keys = set()
    for event in events:
        if contact_id := getattr(event, "contact_id", None):
            keys.add(f"contact:{contact_id}")
        # A hand-off's or a reply's notes, on each contact of their decision.
        for contact_id in getattr(event, "contact_ids", None) or ():
            keys.add(f"contact:{contact_id}")
        for attr in ("user_id", "owner_user_id", "to_user_id"):
            if user_id := getattr(event, attr, None):
                keys.add(f"user:{user_id}")
    return keys


def _keys_named_by_seen(seen: dict[int, Any], new: dict[int, Any]) -> set[str]:
    old = [e for p, e in seen.items() if p not in new]
    return _keys_named_by(old)


# One streaming pass over the whole ledger, or over one account's events.


@dataclass
class Checked:
    message_id: str
    account_id: str
    position: int
    recorded: dict[str, Any]
    replayed: dict[str, Any]

    @property
    def consistent(self) -> bool:
        return self.recorded == self.replayed


@dataclass
class StreamStats:
    events: int = 0
    decisions: int = 0
    by_index: int = 0  # decisions whose position fell between other events


def stream_decisions(
    ledger: LedgerBase,
    policy: Callable[[dict[str, Any]], Policy],
    account_id: str | None = None,
    since: int = 0,
    page_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
    stats: StreamStats | None = None,
) -> Iterator[Checked]:
    """Every recorded decision, recomputed under `policy(document)`, in one pass.

    The fold runs alongside the read, so each decision is recomputed from the
    state just before it. A decision made while other writes of its account
    were landing (the fold is already past the position it was made at) is
    replayed through the index instead, from exactly the state it saw.
    """
    stats = stats or StreamStats()
    histories: dict[str, AccountHistory] = {}
    head = ledger.head()
    position = 0
    while position < head:
        page = ledger.backend.select_notifications(
            position, page_size, stop=head, inclusive_of_start=False
        )
        if not page:
            break
        for notification in page:
            event: Any = ledger.mapper.to_domain_event(notification)
            stats.events += 1
            owner = (
                event.decision["account_id"]
                if type(event) in DECISION_EVENTS
                else getattr(event, "account_id", None)
            )
            if owner is None or (account_id and owner != account_id):
                continue
            history = histories.setdefault(owner, AccountHistory(owner))
            checked = _step(ledger, history, event, notification.id, policy, since,
                            stats)  # fmt: skip
            if checked is not None:
                yield checked
        position = page[-1].id
        if progress:
            progress(position, head)


# Replaying one decision through the index reads a few events in a few round
# trips; it costs about as much as folding this many events (on PostgreSQL,
# ~5 ms against ~17 us an event).
REPLAY_COST = 300


def account_decisions(
    ledger: LedgerBase,
    policy: Callable[[dict[str, Any]], Policy],
    account_id: str,
    since: int = 0,
    page_size: int = 2000,
    stats: StreamStats | None = None,
) -> Iterator[Checked]:
    """As `stream_decisions` for one account, reading only that account's events.

    The ledger index names every event the facts are folded from (users,
    contacts and their notes, numbers), and the account's decisions name
    their own aggregates: so the cost follows the account's history, however
    long the ledger is, and no other account's event is read. An account
    with few decisions on a long history has each replayed through the index
    instead, from the few events that decision depends on.
    """
    stats = stats or StreamStats()
    head = ledger.head()
    decisions = _decision_positions(ledger, account_id, head)
    facts = ledger.view.account_positions(account_id, head)
    if len(decisions) * REPLAY_COST < len(facts):
        for _, event in _events(ledger, decisions, page_size):
            stats.events += 1
            if event.decision["position"] >= since:
                stats.decisions += 1
                yield _check(ledger, None, event.decision, policy, stats)
        return
    history = AccountHistory(account_id)
    for position, event in _events(ledger, sorted({*facts, *decisions}), page_size):
        stats.events += 1
        checked = _step(ledger, history, event, position, policy, since, stats)
        if checked is not None:
            yield checked


def _events(ledger: LedgerBase, positions: list[int], page_size: int) -> Iterator[Any]:
    for start in range(0, len(positions), page_size):
        yield from ledger.events_at(positions[start : start + page_size])


_DECISION_TOPICS = [get_topic(cls) for cls in (InboundSms.Held, InboundSms.Routed)]


def _decision_positions(ledger: LedgerBase, account_id: str, upto: int) -> list[int]:
    """The positions, up to `upto`, of the account's decision events."""
    ids = [
        InboundSms.create_id(account_id, message_id)
        for message_id in ledger.view.decision_message_ids(account_id)
    ]
    found = ledger.backend.positions_of(ids, _DECISION_TOPICS, upto) if ids else []
    return sorted(found)


def _step(
    ledger: LedgerBase,
    history: AccountHistory,
    event: Any,
    position: int,
    policy: Callable[[dict[str, Any]], Policy],
    since: int,
    stats: StreamStats,
) -> Checked | None:
    """Fold one event of the account; a decision is checked, not folded."""
    if type(event) not in DECISION_EVENTS:
        history.apply(event, position)
        return None
    if event.decision["position"] < since:
        return None
    stats.decisions += 1
    return _check(ledger, history, event.decision, policy, stats)


def _check(
    ledger: LedgerBase,
    history: AccountHistory | None,
    document: dict[str, Any],
    policy: Callable[[dict[str, Any]], Policy],
    stats: StreamStats,
) -> Checked:
    """Recompute a decision from `history`, if it stands where the decision
    was made; else (or without one) replay it through the index."""
    chosen = policy(document)
    if history is not None and history.position <= document["position"]:
        facts = history.facts(document["to"], document["from"])
        replayed = as_recorded(decide(facts, chosen), chosen)
    else:
        stats.by_index += 1
        replayed = replay(ledger, {**document, "policy": chosen})
    return Checked(document["message_id"], document["account_id"],
                   document["position"], decided(document), replayed)  # fmt: skip


@dataclass
class VerifyReport:
    checked: int = 0
    consistent: int = 0
    inconsistent: list[str] = field(default_factory=list)


def verify(ledger: LedgerBase, **options: Any) -> VerifyReport:
    report = VerifyReport()
    for checked in stream_decisions(
        ledger, lambda d: check_policy(d["policy"]), **options
    ):
        report.checked += 1
        if checked.consistent:
            report.consistent += 1
        else:
            report.inconsistent.append(checked.message_id)
    return report


@dataclass
class WhatIfReport:
    policy: str
    checked: int = 0
    changes: dict[str, int] = field(default_factory=dict)
    changed: list[dict[str, Any]] = field(default_factory=list)


def what_if(ledger: LedgerBase, policy: Policy, **options: Any) -> WhatIfReport:
    """Which past decisions would have gone elsewhere under `policy`."""
    return _report(policy, stream_decisions(ledger, lambda d: policy, **options))


def account_what_if(
    ledger: LedgerBase, policy: Policy, account_id: str, since: int = 0
) -> WhatIfReport:
    """As `what_if` for one account, reading only that account's events."""
    decisions = account_decisions(ledger, lambda d: policy, account_id, since)
    return _report(policy, decisions)


def _report(policy: str, decisions: Iterable[Checked]) -> WhatIfReport:
    report = WhatIfReport(policy)
    for checked in decisions:
        report.checked += 1
        before, after = checked.recorded, checked.replayed
        if before["recipient"] == after["recipient"]:
            continue
        change = f"{before['rule']} -> {after['rule']}"
        report.changes[change] = report.changes.get(change, 0) + 1
        report.changed.append(
            {
                "message_id": checked.message_id,
                "account_id": checked.account_id,
                "position": checked.position,
                "recorded_rule": before["rule"],
                "recorded_recipient": (before["recipient"] or {}).get("email"),
                "what_if_rule": after["rule"],
                "what_if_recipient": (after["recipient"] or {}).get("email"),
            }
        )
    return report
