"""A generated history as import lines: users, contacts, notes and changes."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from tests.integration.generate import START, phone


def history_lines(
    notes: int, *, seed: int = 3, contacts: int = 60
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    users = [f"u{i}" for i in range(6)]
    lines: list[dict[str, Any]] = [
        {"type": "user", "user_id": u, "email": f"{u}@example.org", "name": u.upper()}
        for u in users
    ]
    for c in range(contacts):
        phones = [phone(c), phone(c + 1)] if c % 7 == 0 else [phone(c)]
        owner = rng.choice(users)
        lines.append({"type": "contact", "contact_id": f"c{c}",
                      "name": f"Contact {c}", "phones": phones,
                      "owner_user_id": owner})  # fmt: skip
    kinds = ["sms"] * 5 + ["call"] * 4 + ["campaign_sms"]
    for i in range(notes):
        kind = rng.choice(kinds)
        c = rng.randrange(contacts)
        at = START + timedelta(minutes=rng.randrange(50_000))
        line: dict[str, Any] = {
            "type": kind, "interaction_id": f"i{i}", "contact_id": f"c{c}",
            "to": phone(c),
            "occurred_at": at.isoformat(),
        }  # fmt: skip
        if kind == "campaign_sms":
            line["reply"] = "campaign@example.org"
        else:
            line["user_id"] = rng.choice(users)
        if kind != "call":
            line["from"] = "+14155559000"
        lines.append(line)
        if i % 50 == 25:  # now and then a user leaves or a contact changes hands
            u = rng.choice(users)
            lines.append({"type": "user", "user_id": u, "email": f"{u}@example.org",
                          "name": u.upper(), "active": rng.random() < 0.6})  # fmt: skip
    return lines
