"""Deterministic aggregate ids, so a client's own ids map to one aggregate each.

Deriving the id from (account, kind, client id) makes a repeated create collide
in the ledger itself, which is what makes retries idempotent across processes.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

_ROOT = uuid5(NAMESPACE_URL, "https://smsledger.dev/ids")


def scoped_id(account_id: str, kind: str, key: str) -> UUID:
    return uuid5(_ROOT, f"{account_id}\x1f{kind}\x1f{key}")


def number_id(number: str) -> UUID:
    """Inbound numbers are global: one number belongs to one account at a time."""
    return uuid5(_ROOT, f"number\x1f{number}")
