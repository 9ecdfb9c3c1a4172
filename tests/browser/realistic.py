"""A month of a small sales team's texting, for the console's screenshots:
people with names, a campaign, an owner who left, unknown senders, a message
to a number nobody set up, and mail that did not always go through."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from smsledger.ledger.application import Ledger
from tests.browser.conftest import Account

SALES = "+14155550100"
SUPPORT = "+14155550160"
TEAM = [
    ("ann", "Ann Lee"),
    ("bob", "Bob Stone"),
    ("carmen", "Carmen Diaz"),
    ("dev", "Dev Patel"),
    ("eve", "Eve Martin"),
]
CONTACTS = [
    "Jane Roe",
    "Omar Haddad",
    "Lucy Chen",
    "Marco Rossi",
    "Priya Shah",
    "Tom Baker",
    "Sofia Alves",
    "Kenji Sato",
    "Grace Okafor",
    "Liam Walsh",
    "Nora Berg",
    "Hugo Laurent",
]
SAID = [
    "Yes, Tuesday works",
    "Can you send the quote again?",
    "Running 10 min late, sorry",
    "Is the blue one still in stock?",
    "Thanks, got it!",
    "Who should I talk to about billing?",
    "Can we move the call to Friday?",
    "Sounds good, see you at 3",
    "Please call me back when you can",
    "What's the delivery date?",
]
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _working_hours(moment: datetime) -> datetime:
    """The same moment, or the next morning's if it falls outside 9 to 6 in
    New York (14:00 to 23:00 UTC in November)."""
    if 14 <= moment.hour < 23:
        return moment
    next_day = moment if moment.hour < 14 else moment + timedelta(days=1)
    return next_day.replace(hour=14, minute=moment.minute)


def phone(n: int) -> str:
    return f"+1415555{n:04d}"


def build(account: Account, database_url: str) -> None:
    """Record the month through the API; then the mail outcomes, as the
    delivery workers would have recorded them."""
    rng = random.Random(20261129)
    a = account
    a.ok(
        "PUT",
        f"/v1/inbound-numbers/{SALES}",
        {"backup_email": "sales-desk@acme.example", "label": "Sales line"},
    )
    a.ok(
        "PUT",
        f"/v1/inbound-numbers/{SUPPORT}",
        {"backup_email": "support@acme.example", "label": "Support"},
    )
    for user_id, name in TEAM:
        email = f"{name.split()[0].lower()}@acme.example"
        a.ok("PUT", f"/v1/users/{user_id}", {"email": email, "name": name})
    owners = [u for u, _ in TEAM]
    for i, name in enumerate(CONTACTS):
        phones = [phone(111 + i)] + ([phone(211 + i)] if i % 5 == 0 else [])
        a.ok(
            "PUT",
            f"/v1/contacts/c{100 + i}",
            {"name": name, "phones": phones, "owner_user_id": owners[i % 5]},
        )
    moment = START
    messages = []
    for step in range(70):
        moment = _working_hours(moment + timedelta(minutes=rng.randrange(60, 400)))
        c = rng.randrange(len(CONTACTS))
        to = phone(111 + c)
        number = SUPPORT if c % 4 == 3 else SALES
        roll = rng.random()
        at = moment.isoformat().replace("+00:00", "Z")
        if roll < 0.25:
            user = rng.choice(owners[:4])
            a.ok(
                "POST",
                "/v1/interactions/sms",
                {
                    "user_id": user,
                    "contact_id": f"c{100 + c}",
                    "to": to,
                    "from": number,
                    "occurred_at": at,
                    "body": rng.choice(
                        [
                            "Following up on our call",
                            "Here is the quote you asked for",
                            "Does Tuesday work for a demo?",
                        ]
                    ),
                },
            )
        elif roll < 0.55:
            user = rng.choice(owners[:4])
            a.ok(
                "POST",
                "/v1/interactions/calls",
                {
                    "user_id": user,
                    "contact_id": f"c{100 + c}",
                    "to": to,
                    "from": number,
                    "occurred_at": at,
                },
            )
        elif roll < 0.58:
            a.ok(
                "POST",
                "/v1/interactions/campaign-sms",
                {
                    "contact_id": f"c{100 + c}",
                    "to": to,
                    "from": number,
                    "reply": "spring-offer@acme.example",
                    "occurred_at": at,
                    "body": "Spring offer: 20% off until Friday",
                },
            )
        else:
            sender = to if rng.random() < 0.85 else phone(900 + step)
            message_id = f"SM{step:03d}"
            a.ok(
                "POST",
                "/v1/inbound-sms",
                {
                    "from": sender,
                    "to": number,
                    "body": rng.choice(SAID),
                    "message_id": message_id,
                    "received_at": at,
                },
            )
            messages.append(message_id)
        if step == 40:  # Eve leaves: her contacts' messages go elsewhere.
            a.ok(
                "PUT",
                "/v1/users/eve",
                {"email": "eve@acme.example", "name": "Eve Martin", "active": False},
            )
    a.ok(
        "POST",
        "/v1/inbound-sms",
        {
            "from": phone(115),
            "to": "+14155550199",
            "body": "Hello? Anyone there?",
            "message_id": "SM-held",
            "received_at": _working_hours(moment + timedelta(minutes=30)).isoformat(),
        },
    )
    _mail_outcomes(database_url, account.account_id, messages, rng)


def _mail_outcomes(
    database_url: str, account_id: str, messages: list[str], rng: random.Random
) -> None:
    ledger = Ledger(database_url)
    try:
        later = datetime.now(UTC) + timedelta(minutes=5)
        for i, message_id in enumerate(messages):
            if i in (len(messages) - 9, len(messages) - 20):
                for _ in range(3):
                    ledger.record_delivery_failure(
                        account_id,
                        message_id,
                        permanent=True,
                        error="550 5.1.1 Recipient rejected: mailbox unavailable",
                        retry_at=later,
                    )
            elif i >= len(messages) - 2:
                ledger.record_delivery_failure(
                    account_id,
                    message_id,
                    permanent=False,
                    error="Connection refused by mail.acme.example:25",
                    retry_at=later,
                )
            else:
                ledger.record_delivered(account_id, message_id, f"<{message_id}@x>")
    finally:
        ledger.close()
