"""The HTTP routes, one module per resource; each route calls one ledger verb."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response

from smsledger.api.schemas.fields import Text
from smsledger.api.settings import Settings
from smsledger.domain.errors import InvalidInput
from smsledger.ledger.application import Saved

# The paging parameters every list takes.
PageLimit = Annotated[int, Query(ge=1, le=200)]
PageCursor = Annotated[
    Text | None, Query(alias="cursor", description="`next_cursor` of a page.")
]


def answer(saved: Saved, response: Response) -> dict[str, Any]:
    """201 when this request created the thing, 200 when it was already there."""
    response.status_code = 201 if saved.created else 200
    return saved.value


def check_not_future(moment: datetime | None, field: str, settings: Settings) -> None:
    """A moment at most `max_future_seconds` past this server's clock."""
    ahead = settings.max_future_seconds
    # Timestamps, not datetimes: this runs on every note; they cost far less.
    if moment is not None and moment.timestamp() > time.time() + ahead:
        raise InvalidInput(
            field, f"must not be more than {ahead} seconds in the future"
        )
