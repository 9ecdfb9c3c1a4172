"""Each backend's expressions for the values of a decision's JSON document
that the console filters and sorts by, and the indexes on them.

The expressions differ by backend, so each backend names its own (`Keys`);
the indexes are part of the view's tables, so every filter is answered by
one (a test says so).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """A backend's SQL for the values the console filters and sorts by."""

    sender: str  # a decision's `from`
    received: str  # its `received_at`, RFC 3339 text in UTC
    delivery: str  # its `delivery.email`
    delivery_error: str  # its `delivery.last_error`, the last try's
    name: str  # a contact's name, lower case, compared code point by code point


SQLITE_KEYS = Keys(
    sender="json_extract(document, '$.from')",
    received="json_extract(document, '$.received_at')",
    delivery="json_extract(document, '$.delivery.email')",
    delivery_error="json_extract(document, '$.delivery.last_error')",
    name="lower(name)",
)
POSTGRES_KEYS = Keys(
    sender="(document::jsonb ->> 'from')",
    received="(document::jsonb ->> 'received_at')",
    delivery="(document::jsonb -> 'delivery' ->> 'email')",
    delivery_error="(document::jsonb -> 'delivery' ->> 'last_error')",
    name='(lower(name) COLLATE "C")',
)


def indexes(keys: Keys) -> tuple[str, ...]:
    """The indexes behind the console's filters, added to the view's tables."""
    return (
        "CREATE INDEX IF NOT EXISTS {decisions}_by_rule"
        " ON {decisions} (account_id, rule, position, message_id)",
        # Addresses match whatever their case, as mail systems match them.
        "CREATE INDEX IF NOT EXISTS {decisions}_by_recipient_ci ON {decisions}"
        " (account_id, (lower(recipient_email)), position, message_id)",
        "CREATE INDEX IF NOT EXISTS {decisions}_by_sender"
        f" ON {{decisions}} (account_id, ({keys.sender}), position, message_id)",
        "CREATE INDEX IF NOT EXISTS {decisions}_by_received"
        f" ON {{decisions}} (account_id, ({keys.received}))",
        "CREATE INDEX IF NOT EXISTS {decisions}_by_delivery"
        f" ON {{decisions}} (account_id, ({keys.delivery}), position, message_id)",
        "CREATE INDEX IF NOT EXISTS {contacts}_by_name"
        f" ON {{contacts}} (account_id, ({keys.name}))",
        "CREATE INDEX IF NOT EXISTS {contacts}_by_owner"
        " ON {contacts} (account_id, owner_user_id, contact_id)",
        "CREATE INDEX IF NOT EXISTS {numbers}_by_account"
        " ON {numbers} (account_id, number)",
    )
