"""Apply the steps of routing-cases.json to a ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from smsledger.ledger.application import AccountContext, Ledger


def apply_step(ledger: Ledger, ctx: AccountContext, step: dict[str, Any]) -> None:
    """Record one step; an undated note happens when it is recorded."""
    ((kind, data),) = step.items()
    if kind == "number":
        ledger.put_number(ctx, data["number"], data["backup_email"], data.get("label"))
    elif kind == "user":
        ledger.put_user(
            ctx,
            data["user_id"],
            data["email"],
            data.get("name"),
            data.get("active", True),
        )
    elif kind == "contact":
        ledger.put_contact(
            ctx,
            data["contact_id"],
            data["phones"],
            data.get("name"),
            data.get("owner_user_id"),
        )
    elif kind in ("sms", "campaign_sms", "call"):
        ledger.record_interaction(
            ctx,
            kind,
            contact_id=data["contact_id"],
            to=data["to"],
            from_number=data.get("from"),
            user_id=data.get("user_id"),
            reply=data.get("reply"),
            interaction_id=data.get("interaction_id"),
            occurred_at=(
                datetime.fromisoformat(data["occurred_at"])
                if "occurred_at" in data
                else None
            ),
        )
    elif kind == "inbound":
        ledger.route_inbound_sms(
            ctx, data["from"], data["to"], data.get("body", "hello"), data["message_id"]
        )
    elif kind == "handoff":
        ledger.hand_off(
            ctx,
            data["message_id"],
            to_user_id=data["to_user_id"],
            by_user_id=data.get("by_user_id"),
            note=data.get("note"),
        )
    else:
        raise AssertionError(f"unknown step {kind}")
