"""The HTTP routes, one module per resource; each route calls one ledger verb."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from ledger.application import Saved


def answer(saved: Saved, response: Response) -> dict[str, Any]:
    """201 when this request created the thing, 200 when it was already there."""
    response.status_code = 201 if saved.created else 200
    return saved.value
