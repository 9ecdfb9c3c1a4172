"""The ledger application: each public method is one use case.

The verbs live by job: `ledger/accounts.py` (accounts, keys, secrets),
`ledger/directory.py` (users, contacts, numbers), `ledger/routing.py` (notes,
inbound SMS), `ledger/outcomes.py` (delivery, decisions read back),
`ledger/operations.py` (replay, what-if, status, rebuild, readiness),
`ledger/handoffs.py` (hand-offs), `ledger/replies.py` (replies),
`ledger/signin.py` (sign-in links), `ledger/inbox.py` (the inbox's reads), on
the groundwork of `ledger/base.py`.
"""

from __future__ import annotations

from smsledger.ledger.base import (
    API_KEY_PREFIX,
    KEY_USE_INTERVAL,
    SHOWN_PREFIX,
    AccountContext,
    Prepared,
    Saved,
    hash_key,
)
from smsledger.ledger.inbox import InboxReads

__all__ = [
    "API_KEY_PREFIX",
    "KEY_USE_INTERVAL",
    "SHOWN_PREFIX",
    "AccountContext",
    "Ledger",
    "Prepared",
    "Saved",
    "hash_key",
]


class Ledger(InboxReads):
    name = "Ledger"
