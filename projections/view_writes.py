"""The writes each table of the routing view takes, declared once for the fold.

Each is an operation of `projections/writes.py` on a table of
`projections/schema.py`, named without its version's prefix. The fold calls
them with their values, in the order of their columns (then, for an update
or a delete, the key's).
"""

from __future__ import annotations

from smsledger.projections.writes import Delete, Insert, SetField, Update, Upsert

ACCOUNT_COLUMNS = ("name", "default_region", "routing_policy", "enhanced_inbound")
INSERT_ACCOUNT = Insert("accounts", ("account_id", *ACCOUNT_COLUMNS))
# A setting changes one column at a time, as the event says.
UPDATE_ACCOUNT = {
    column: Update("accounts", (column,), key=("account_id",))
    for column in ACCOUNT_COLUMNS
}

INSERT_KEY = Insert(
    "api_keys", ("account_id", "key_id", "key_hash", "name", "prefix", "created_at")
)
DELETE_KEY = Delete("api_keys", key=("account_id", "key_id"))

UPSERT_SECRET = Upsert(
    "account_secrets",
    ("account_id", "name", "sealed"),
    key=("account_id", "name"),
    update=("sealed",),
)

UPSERT_USER = Upsert(
    "users",
    ("account_id", "user_id", "email", "name", "active"),
    key=("account_id", "user_id"),
    update=("email", "name", "active"),
)

INSERT_CONTACT = Insert(
    "contacts",
    ("account_id", "contact_id", "name", "owner_user_id", "registered_position"),
)
RENAME_CONTACT = Update("contacts", ("name",), key=("account_id", "contact_id"))
SET_OWNER = Update("contacts", ("owner_user_id",), key=("account_id", "contact_id"))

DELETE_PHONES = Delete("contact_phones", key=("account_id", "contact_id"))
INSERT_PHONE = Insert("contact_phones", ("account_id", "phone", "contact_id"))

_NOTE_KEY = ("account_id", "contact_id", "channel", "actor")
# A hand-off note says which decision was handed off, and by whom.
_NOTE_VALUES = ("interaction_id", "kind", "user_id", "reply", "occurred_at", "position",
                "handed_off", "handed_by")  # fmt: skip
# A note replaces the kept one only when it is more recent: a backfilled
# older note never displaces a newer one.
UPSERT_NOTE = Upsert(
    "notes",
    (*_NOTE_KEY, *_NOTE_VALUES),
    key=_NOTE_KEY,
    update=_NOTE_VALUES,
    newer_by=("occurred_at", "position"),
)

UPSERT_NUMBER = Upsert(
    "numbers",
    ("number", "account_id", "backup_email", "label"),
    key=("number",),
    update=("account_id", "backup_email", "label"),
)
DELETE_NUMBER = Delete("numbers", key=("number",))

# The number a decision was sent to never changes.
UPSERT_DECISION = Upsert(
    "decisions",
    (
        "account_id",
        "message_id",
        "position",
        "status",
        "rule",
        "recipient_email",
        "to_number",
        "document",
    ),
    key=("account_id", "message_id"),
    update=("position", "status", "rule", "recipient_email", "document"),
)
# The decision document's `delivery`, set without reading the document.
SET_DELIVERY = SetField(
    "decisions", "document", "delivery", key=("account_id", "message_id")
)

INSERT_INDEX = Insert(
    "ledger_index", ("account_id", "key", "position"), ignore_conflict=True
)

INSERT_OUTBOX = Insert(
    "outbox",
    (
        "account_id",
        "message_id",
        "position",
        "routed_at",
        "status",
        "attempts",
        "next_attempt_at",
    ),
    ignore_conflict=True,
)
# An outcome releases the worker's lease on the mail.
RETRY_OUTBOX = Update(
    "outbox",
    ("attempts", "next_attempt_at", "lease_owner", "lease_until"),
    key=("account_id", "message_id"),
)
CLOSE_OUTBOX = Update(
    "outbox",
    ("status", "attempts", "lease_owner", "lease_until"),
    key=("account_id", "message_id"),
)

INSERT_ALERT = Insert(
    "alerts", ("account_id", "user_id", "position", "message_id"), ignore_conflict=True
)

# The inbox (hand-offs and replies).

# The decision document's `handoffs`, set whole without reading the document.
SET_HANDOFFS = SetField(
    "decisions", "document", "handoffs", key=("account_id", "message_id")
)
# A message reaching a user again (handed back) is new in their inbox again.
UPSERT_INBOX = Upsert(
    "inbox",
    ("account_id", "user_id", "message_id", "position", "reached_at", "handoff_id",
     "by_user_id", "note"),
    key=("account_id", "user_id", "message_id"),
    update=("position", "reached_at", "handoff_id", "by_user_id", "note"),
)  # fmt: skip
UPSERT_HOLDER = Upsert(
    "holders",
    ("account_id", "message_id", "user_id"),
    key=("account_id", "message_id"),
    update=("user_id",),
)
INSERT_THREAD = Insert(
    "thread",
    ("account_id", "contact_id", "position", "kind", "occurred_at", "user_id",
     "message_id", "body", "by_user_id", "item_id"),
    ignore_conflict=True,
)  # fmt: skip

INSERT_HANDOFF_MAIL = Insert(
    "handoff_mails",
    ("account_id", "message_id", "handoff_id", "position", "status", "attempts",
     "next_attempt_at"),
    ignore_conflict=True,
)  # fmt: skip
_HANDOFF_MAIL = ("account_id", "message_id", "handoff_id")
RETRY_HANDOFF_MAIL = Update(
    "handoff_mails",
    ("attempts", "next_attempt_at", "lease_owner", "lease_until"),
    key=_HANDOFF_MAIL,
)
CLOSE_HANDOFF_MAIL = Update(
    "handoff_mails",
    ("status", "attempts", "lease_owner", "lease_until"),
    key=_HANDOFF_MAIL,
)

INSERT_DISPATCH = Insert(
    "dispatches",
    ("account_id", "message_id", "reply_id", "position", "user_id", "body",
     "queued_at", "status", "attempts", "next_attempt_at"),
    ignore_conflict=True,
)  # fmt: skip
_DISPATCH = ("account_id", "message_id", "reply_id")
RETRY_DISPATCH = Update(
    "dispatches",
    ("attempts", "last_error", "next_attempt_at", "lease_owner", "lease_until"),
    key=_DISPATCH,
)
CLOSE_DISPATCH = Update(
    "dispatches",
    ("status", "attempts", "provider_id", "last_error", "lease_owner", "lease_until"),
    key=_DISPATCH,
)
