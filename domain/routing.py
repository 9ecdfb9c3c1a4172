"""The routing rules of ROUTING.md, once, as a pure function.

`decide` takes the facts about one inbound SMS and a policy and returns the
decision with its evidence, the candidates it skipped and why, and a sentence a
person can read. Live routing, replay and what-if all call it; they differ only
in how they gather the facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from smsledger.domain.vocabulary import (
    RULE_OF_NOTE,
    Channel,
    Policy,
    Rule,
    Status,
    channel_of,
    check_policy,
)

# The notes routing weighs: each person's latest note per contact and channel.
# A user's notes are all skipped or none are, so only the latest can decide;
# the view keeps just these (one row per slot, the newer by `recency` wins),
# and the replay fold keeps the same. A rule that needs older notes must
# change what the view keeps too (docs/ROUTING.md).


def actor_of(user_id: str | None) -> str:
    """Whose a note is: its user, or "" for a campaign."""
    return user_id or ""


def note_slot(kind: str, user_id: str | None) -> tuple[Channel, str]:
    """Where a note is kept for its contact: its channel and its actor."""
    return channel_of(kind), actor_of(user_id)


@dataclass(frozen=True, slots=True)
class NumberFact:
    number: str
    backup_email: str


@dataclass(frozen=True, slots=True)
class ContactFact:
    contact_id: str
    name: str | None
    owner_user_id: str | None
    registered_position: int

    @property
    def display(self) -> str:
        return self.name or self.contact_id


@dataclass(frozen=True, slots=True)
class NoteFact:
    interaction_id: str
    kind: str
    contact_id: str
    user_id: str | None
    reply: str | None
    occurred_at: datetime
    position: int
    # A hand-off note's decision handed off, and who handed it off.
    handed_off: str | None = None
    handed_by: str | None = None

    @property
    def channel(self) -> Channel:
        return channel_of(self.kind)

    @property
    def actor(self) -> str:
        """Whose note this is: a user, or the campaign (never skipped)."""
        return actor_of(self.user_id)

    @property
    def recency(self) -> tuple[datetime, int]:
        return (self.occurred_at, self.position)


@dataclass(frozen=True, slots=True)
class UserFact:
    user_id: str
    email: str
    name: str | None
    active: bool

    @property
    def display(self) -> str:
        return self.name or self.user_id


@dataclass(frozen=True, slots=True)
class Facts:
    """What the ledger knew about the sender when the decision was made."""

    sender: str
    number: NumberFact | None
    contacts: Sequence[ContactFact] = ()
    notes: Sequence[NoteFact] = ()
    users: Mapping[str, UserFact] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    status: Status
    rule: Rule
    contact_ids: list[str]
    recipient: dict[str, str] | None
    evidence: dict[str, Any] | None
    skipped: list[dict[str, str]]
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "rule": self.rule,
            "contact_ids": self.contact_ids,
            "recipient": self.recipient,
            "evidence": self.evidence,
            "skipped": self.skipped,
            "explanation": self.explanation,
        }


def latest_per_actor(notes: Iterable[NoteFact]) -> list[NoteFact]:
    """Each actor's latest note per channel, newest first.

    A user's notes are all skipped or none are, so only the latest can decide;
    the projections keep just these, and replay folds to the same.
    """
    latest: dict[tuple[str, str], NoteFact] = {}
    for note in notes:
        key = note_slot(note.kind, note.user_id)
        if key not in latest or note.recency > latest[key].recency:
            latest[key] = note
    return sorted(latest.values(), key=lambda n: n.recency, reverse=True)


def decide(facts: Facts, policy: Policy) -> Decision:
    """Who gets the message, by which rule, and why; an unknown policy is
    an error (InvalidInput), never some default."""
    check_policy(policy)
    if facts.number is None:
        return Decision(
            status="held",
            rule="number_not_configured",
            contact_ids=[],
            recipient=None,
            evidence=None,
            skipped=[],
            explanation=(
                "Held: the number it was sent to is not a configured inbound "
                "number; it will be routed when the number is configured."
            ),
        )
    contacts = sorted(facts.contacts, key=lambda c: c.registered_position)
    contact_ids = sorted(c.contact_id for c in contacts)
    backup = facts.number.backup_email
    if not contacts:
        return Decision(
            status="routed",
            rule="unknown_sender",
            contact_ids=[],
            recipient={"email": backup},
            evidence={"backup_email": backup, "number": facts.number.number},
            skipped=[],
            explanation=(
                f"Routed to {backup}, the backup email of {facts.number.number}: "
                f"{facts.sender} matches no contact."
            ),
        )
    names = {c.contact_id: c.display for c in contacts}
    skipped: list[dict[str, str]] = []
    for candidates in _note_rounds(facts.notes, policy):
        for note in candidates:
            user = facts.users.get(note.user_id) if note.user_id else None
            if note.user_id and (user is None or not user.active):
                skipped.append(
                    {
                        "interaction_id": note.interaction_id,
                        "user_id": note.user_id,
                        "reason": "user_inactive",
                    }
                )
                continue
            return _by_note(note, user, contact_ids, skipped, names)
    for contact in contacts:
        if contact.owner_user_id is None:
            continue
        owner = facts.users.get(contact.owner_user_id)
        if owner is None or not owner.active:
            skipped.append(
                {
                    "contact_id": contact.contact_id,
                    "user_id": contact.owner_user_id,
                    "reason": "owner_inactive",
                }
            )
            continue
        return Decision(
            status="routed",
            rule="contact_owner",
            contact_ids=contact_ids,
            recipient={"email": owner.email, "user_id": owner.user_id},
            evidence={"contact_id": contact.contact_id, "owner_user_id": owner.user_id},
            skipped=skipped,
            explanation=(
                f"Routed to {owner.email}: {owner.display} owns "
                f"{contact.display}, and no active team member had texted or "
                f"called them{_skipped_note(skipped)}."
            ),
        )
    who = " or ".join(names[c] for c in sorted(names))
    return Decision(
        status="routed",
        rule="no_owner",
        contact_ids=contact_ids,
        recipient={"email": backup},
        evidence={"backup_email": backup, "number": facts.number.number},
        skipped=skipped,
        explanation=(
            f"Routed to {backup}, the backup email of {facts.number.number}: "
            f"{who} has no active owner and no active team member had texted or "
            f"called them{_skipped_note(skipped)}."
        ),
    )


def _note_rounds(notes: Sequence[NoteFact], policy: Policy) -> list[list[NoteFact]]:
    """The candidate notes, newest first, in the order the policy tries them."""
    latest = latest_per_actor(notes)
    if policy == "most_recent_interaction":
        return [latest]
    return [
        [n for n in latest if n.channel == "sms"],
        [n for n in latest if n.channel == "call"],
    ]


_ACTS = {"sms": "sent the last SMS to", "call": "made the last call to"}


def _by_note(
    note: NoteFact,
    user: UserFact | None,
    contact_ids: list[str],
    skipped: list[dict[str, str]],
    names: Mapping[str, str],
) -> Decision:
    when = note.occurred_at.strftime("%Y-%m-%d %H:%M UTC")
    contact = names[note.contact_id]
    evidence: dict[str, Any] = {
        "interaction_id": note.interaction_id,
        "kind": note.kind,
        "user_id": note.user_id,
        "contact_id": note.contact_id,
        "occurred_at": note.occurred_at,
    }
    if user is None:
        assert note.reply is not None
        evidence["reply"] = note.reply
        recipient = {"email": note.reply}
        reason = f"a campaign sent the last SMS to {contact} on {when}"
    elif note.kind == "handoff":
        evidence["message_id"] = note.handed_off
        evidence["handed_off_by"] = note.handed_by
        recipient = {"email": user.email, "user_id": user.user_id}
        by = f" by {note.handed_by}" if note.handed_by else ""
        reason = (
            f"{contact}'s message {note.handed_off} was handed to "
            f"{user.display}{by} on {when}"
        )
    else:
        recipient = {"email": user.email, "user_id": user.user_id}
        reason = f"{user.display} {_ACTS[note.channel]} {contact} on {when}"
    return Decision(
        status="routed",
        rule=RULE_OF_NOTE[note.kind],
        contact_ids=contact_ids,
        recipient=recipient,
        evidence=evidence,
        skipped=skipped,
        explanation=(
            f"Routed to {recipient['email']}: {reason}{_skipped_note(skipped)}."
        ),
    )


def _skipped_note(skipped: list[dict[str, str]]) -> str:
    if not skipped:
        return ""
    users = sorted({s["user_id"] for s in skipped})
    return f" ({', '.join(users)} skipped: inactive)"
