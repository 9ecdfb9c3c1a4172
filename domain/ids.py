"""Deterministic aggregate ids, so a client's own ids map to one aggregate each.

Deriving the id from (account, kind, client id) makes a repeated create collide
in the ledger itself, which is what makes retries idempotent across processes.
"""

from __future__ import annotations

from hashlib import sha1
from uuid import NAMESPACE_URL, UUID, uuid5

_ROOT = uuid5(NAMESPACE_URL, "https://smsledger.dev/ids")
_ROOT_BYTES = _ROOT.bytes


def scoped_id(account_id: str, kind: str, key: str) -> UUID:
    return _uuid5(f"{account_id}\x1f{kind}\x1f{key}")


def number_id(number: str) -> UUID:
    """Inbound numbers are global: one number belongs to one account at a time."""
    return _uuid5(f"number\x1f{number}")


def _uuid5(name: str) -> UUID:
    """`uuid5(_ROOT, name)`, without its costs per call (an import, the
    namespace's bytes): an import makes two ids a note."""
    return UUID(bytes=sha1(_ROOT_BYTES + name.encode()).digest()[:16], version=5)
