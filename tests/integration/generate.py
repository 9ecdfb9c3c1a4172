"""A generated history: users, contacts, notes, ownership changes, deactivations
and inbound SMS, recorded through the ledger's own verbs and aggregates."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

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
    return message_ids


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
