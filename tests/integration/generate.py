"""A generated history: users, contacts, notes, ownership changes, deactivations,
inbound SMS, hand-offs and sent replies, recorded through the ledger's own
verbs and aggregates."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from smsledger.domain.errors import DomainError
from smsledger.domain.interactions import Interaction
from smsledger.ledger.application import AccountContext, Ledger

START = datetime(2026, 1, 1, tzinfo=UTC)


def phone(n: int) -> str:
    return f"+1415555{n:04d}"


def generate(
    ledger: Ledger,
    ctx: AccountContext,
    *,
    interactions: int,
    inbound: int,
    seed: int = 7,
    users: int = 12,
    contacts: int = 300,
    batch: int = 200,
) -> list[str]:
    """Record a history and return the message ids of its inbound SMS."""
    rng = random.Random(seed)
    number = phone(9000 + rng.randrange(999))
    ledger.put_number(ctx, number, "desk@example.org")
    user_ids = [f"u{i}" for i in range(users)]
    for user_id in user_ids:
        ledger.put_user(ctx, user_id, f"{user_id}@example.org", user_id.upper())
    for c in range(contacts):
        phones = [phone(c), phone(c + 1)] if c % 7 == 0 else [phone(c)]
        ledger.put_contact(ctx, f"c{c}", phones, f"Contact {c}", rng.choice(user_ids))
    kinds = ["sms"] * 5 + ["call"] * 4 + ["campaign_sms"]
    message_ids: list[str] = []
    routes_every = max(1, interactions // inbound)
    pending: list[Interaction] = []
    for i in range(interactions):
        kind = rng.choice(kinds)
        c = rng.randrange(contacts)
        fields = {
            "interaction_id": f"i{i}",
            "contact_id": f"c{c}",
            "to": phone(c),
            "body": None,
            "reply" if kind == "campaign_sms" else "user_id": (
                "campaign@example.org" if kind == "campaign_sms"
                else rng.choice(user_ids)
            ),
        }  # fmt: skip
        pending.append(
            Interaction.note(
                kind,
                ctx.account_id,
                from_number=number,
                occurred_at=START + timedelta(minutes=rng.randrange(500_000)),
                **fields,
            )
        )
        if len(pending) == batch or i == interactions - 1:
            ledger.save(*pending)  # a bulk import: one transaction per batch
            pending.clear()
        if i % routes_every == 0 and len(message_ids) < inbound:
            _change_something(ledger, ctx, rng, user_ids, contacts)
            sender = phone(rng.randrange(contacts + 20))  # some unknown senders
            message_id = f"SM{len(message_ids)}"
            ledger.route_inbound_sms(ctx, sender, number, "hi", message_id=message_id)
            message_ids.append(message_id)
            _answer(ledger, ctx, rng, user_ids, message_ids, i)
    return message_ids


def _answer(ledger, ctx, rng, user_ids, message_ids, i) -> None:
    """Now and then, hand an earlier message on, or reply to one (as the
    delivery worker records a reply Twilio accepted)."""
    roll = rng.random()
    message_id = rng.choice(message_ids)
    try:
        if roll < 0.25:
            ledger.hand_off(ctx, message_id, to_user_id=rng.choice(user_ids),
                            note="yours?")  # fmt: skip
        elif roll < 0.40:
            holder = ledger._inbound(ctx, message_id).holder
            if holder is not None:
                ledger.record_sent_reply(
                    ctx, message_id, reply_id=f"r{i}", user_id=holder, body="ok",
                    provider_id=f"SM-r{i}", sent_at=datetime.now(UTC),
                )  # fmt: skip
    except DomainError:
        pass  # held, to its holder, or to an inactive user: not this time


def _change_something(ledger, ctx, rng, user_ids, contacts) -> None:
    roll = rng.random()
    if roll < 0.05:
        user_id = rng.choice(user_ids)
        active = rng.random() < 0.5
        ledger.put_user(ctx, user_id, f"{user_id}@example.org", user_id.upper(),
                        active)  # fmt: skip
    elif roll < 0.10:
        c = rng.randrange(contacts)
        owner = rng.choice([None, *user_ids])
        ledger.put_contact(ctx, f"c{c}", [phone(c)], f"Contact {c}", owner)
