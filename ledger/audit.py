"""Check recorded decisions against the ledger: replay, verify, what-if.

All three recompute decisions with the one decision function, from facts
folded straight from ledger events (domain/history.py), never from the view.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from domain.history import AccountHistory
from domain.routing import Decision, decide

# What a decision says, as opposed to when and about which message.
DECIDED = ("status", "rule", "contact_ids", "recipient", "evidence", "skipped",
           "explanation", "policy")  # fmt: skip
DECISION_EVENTS = ("InboundSms.Held", "InboundSms.Routed")


def decided(document: dict[str, Any]) -> dict[str, Any]:
    return {key: document.get(key) for key in DECIDED}


def as_recorded(decision: Decision, policy: str) -> dict[str, Any]:
    """A decision in the form it is recorded in, so the two compare equal."""
    plain = json.loads(json.dumps({**decision.as_dict(), "policy": policy},
                                  default=_iso))  # fmt: skip
    return decided(plain)


def _iso(value: Any) -> str:
    return str(value.isoformat().replace("+00:00", "Z"))


# Replay of one decision, through the ledger index.


def replay(ledger: Any, document: dict[str, Any]) -> dict[str, Any]:
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
        for attr in ("user_id", "owner_user_id"):
            if user_id := getattr(event, attr, None):
                keys.add(f"user:{user_id}")
    return keys


def _keys_named_by_seen(seen: dict[int, Any], new: dict[int, Any]) -> set[str]:
    old = [e for p, e in seen.items() if p not in new]
    return _keys_named_by(old)


# One streaming pass over the whole ledger.


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
    ledger: Any,
    policy: Callable[[dict[str, Any]], str],
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
        page = ledger.recorder.select_notifications(
            position, page_size, stop=head, inclusive_of_start=False
        )
        if not page:
            break
        for notification in page:
            event = ledger.mapper.to_domain_event(notification)
            stats.events += 1
            is_decision = type(event).__qualname__ in DECISION_EVENTS
            owner = (
                event.decision["account_id"]
                if is_decision
                else getattr(event, "account_id", None)
            )
            if owner is None or (account_id and owner != account_id):
                continue
            history = histories.setdefault(owner, AccountHistory(owner))
            if not is_decision:
                history.apply(event, notification.id)
            elif event.decision["position"] >= since:
                stats.decisions += 1
                yield _check(ledger, history, event.decision, policy, stats)
        position = page[-1].id
        if progress:
            progress(position, head)


def _check(
    ledger: Any,
    history: AccountHistory,
    document: dict[str, Any],
    policy: Callable[[dict[str, Any]], str],
    stats: StreamStats,
) -> Checked:
    chosen = policy(document)
    if history.position <= document["position"]:
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


def verify(ledger: Any, **options: Any) -> VerifyReport:
    report = VerifyReport()
    for checked in stream_decisions(ledger, lambda d: str(d["policy"]), **options):
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


def what_if(ledger: Any, policy: str, **options: Any) -> WhatIfReport:
    """Which past decisions would have gone elsewhere under `policy`."""
    report = WhatIfReport(policy)
    for checked in stream_decisions(ledger, lambda d: policy, **options):
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
