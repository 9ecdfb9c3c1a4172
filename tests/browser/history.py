"""Histories the browser tests build through the API, as a CRM would."""

from __future__ import annotations

import itertools
from typing import Any

from tests.browser.conftest import Account

JANE = "+14155550111"
STRANGER = "+14155550199"
# Each account sets up numbers of its own: a number belongs to one account.
_NUMBERS = (f"+1415555{n:04d}" for n in itertools.count(2000))


def new_number() -> str:
    return next(_NUMBERS)


def jane_case(account: Account) -> str:
    """Ann Lee texted Jane Roe on 20 Nov, Bob Stone called her the next day;
    then Jane texts three times (SM-0..SM-2) and a stranger once (SM-9).

    Texts first, so the policy now sends Jane's messages to Ann; the most
    recent interaction would send them to Bob. Answers the number they text.
    """
    a = account
    number = new_number()
    a.ok(
        "PUT",
        f"/v1/inbound-numbers/{number}",
        {"backup_email": "desk@acme.test", "label": "Sales"},
    )
    a.ok("PUT", "/v1/users/ann", {"email": "ann@acme.test", "name": "Ann Lee"})
    a.ok("PUT", "/v1/users/bob", {"email": "bob@acme.test", "name": "Bob Stone"})
    a.ok(
        "PUT",
        "/v1/contacts/c1",
        {"name": "Jane Roe", "phones": [JANE], "owner_user_id": "bob"},
    )
    a.ok(
        "POST",
        "/v1/interactions/sms",
        {
            "interaction_id": "i-ann",
            "user_id": "ann",
            "contact_id": "c1",
            "to": JANE,
            "from": number,
            "occurred_at": "2026-11-20T14:03:00Z",
            "body": "Does Tuesday work for the demo?",
        },
    )
    a.ok(
        "POST",
        "/v1/interactions/calls",
        {
            "interaction_id": "i-bob",
            "user_id": "bob",
            "contact_id": "c1",
            "to": JANE,
            "from": number,
            "occurred_at": "2026-11-21T09:30:00Z",
        },
    )
    for i, body in enumerate(["Yes, Tuesday works", "At 10?", "See you then"]):
        inbound(a, JANE, body, f"SM-{i}", f"2026-11-22T1{i}:00:00Z", number)
    inbound(a, STRANGER, "Who is this?", "SM-9", "2026-11-22T15:00:00Z", number)
    return number


def inbound(
    account: Account, sender: str, body: str, message_id: str, at: str, to: str
) -> dict[str, Any]:
    decision: dict[str, Any] = account.ok(
        "POST",
        "/v1/inbound-sms",
        {
            "from": sender,
            "to": to,
            "body": body,
            "message_id": message_id,
            "received_at": at,
        },
    )
    return decision
