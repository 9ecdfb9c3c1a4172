"""Which decisions the console and `GET /v1/decisions` list: the filter, and
the statement for a page of them, newest first, each filter by its index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smsledger.projections.keys import Keys


@dataclass(frozen=True)
class DecisionFilter:
    """Which decisions to list; None is no filter. Times are RFC 3339 text
    in UTC, `since` inclusive and `until` exclusive."""

    rule: str | None = None
    recipient: str | None = None
    status: str | None = None
    delivery: str | None = None
    sender: str | None = None
    since: str | None = None
    until: str | None = None


HELD_RULE = "number_not_configured"


def decisions_query(
    keys: Keys,
    account_id: str,
    only: DecisionFilter,
    before: tuple[int, str] | None,
    limit: int,
) -> tuple[str, tuple[Any, ...]]:
    """The statement for a page of decisions, newest first, and its values."""
    where = ["account_id = %s"]
    params: list[Any] = [account_id]

    def add(condition: str, *values: Any) -> None:
        where.append(condition)
        params.extend(values)

    if only.rule is not None:
        add("rule = %s", only.rule)
    # A decision is held exactly when its rule says so, and the rule is
    # indexed: held ones are found through it.
    if only.status == "held":
        add("rule = %s", HELD_RULE)
    elif only.status is not None:
        add("status = %s", only.status)
    if only.recipient is not None:
        add("lower(recipient_email) = lower(%s)", only.recipient)
    if only.delivery is not None:
        add(f"{keys.delivery} = %s", only.delivery)
    if only.sender is not None:
        add(f"{keys.sender} = %s", only.sender)
    if only.since is not None:
        add(f"{keys.received} >= %s", only.since)
    if only.until is not None:
        add(f"{keys.received} < %s", only.until)
    if before is not None:
        # Spelt out, not as a row value: the index range is then on
        # position alone, whichever index the filters pick.
        position, message_id = before
        add(
            "position <= %s AND (position < %s OR message_id < %s)",
            position,
            position,
            message_id,
        )
    statement = (
        "SELECT document FROM {decisions} WHERE "
        + " AND ".join(where)
        + " ORDER BY position DESC, message_id DESC LIMIT %s"
    )
    return statement, (*params, limit)
