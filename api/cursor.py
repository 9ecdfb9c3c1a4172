"""Opaque page cursors for the lists: the last item's place, encoded."""

from __future__ import annotations

import base64
import binascii

from smsledger.domain.errors import InvalidInput

MAX_POSITION = 2**63 - 1  # a BIGINT


def encode(position: int, message_id: str) -> str:
    raw = f"{position}:{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[int, str]:
    """The (position, message_id) a page ended at; 422 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position, message_id = raw.decode().split(":", 1)
        # int() would also take "+1" or " 1"; a cursor is exactly what encode made.
        if not position.isdigit() or not position.isascii() or not message_id:
            raise ValueError(position)
        place = (int(position), message_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor", "is not a cursor this API gave") from None
    if place[0] > MAX_POSITION or encode(*place) != cursor:
        raise InvalidInput("cursor", "is not a cursor this API gave")
    return place


def encode_key(key: str) -> str:
    """A cursor for lists kept in the order of one text key (users, contacts)."""
    return base64.urlsafe_b64encode(("k:" + key).encode()).decode().rstrip("=")


def decode_key(cursor: str) -> str:
    """The key a page ended at; 422 for anything `encode_key` did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor", "is not a cursor this API gave") from None
    if not raw.startswith("k:") or len(raw) < 3 or encode_key(raw[2:]) != cursor:
        raise InvalidInput("cursor", "is not a cursor this API gave")
    return raw[2:]
