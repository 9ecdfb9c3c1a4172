"""How inbound SMS events fold into the view: decisions, their mail, alerts,
and the inbox and thread each routed decision reaches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from smsledger.domain.decision import as_stored, recipient_email
from smsledger.projections import view_writes as w
from smsledger.projections.view_base import time_key, to_json
from smsledger.projections.writes import Write


def decision(e: Any, position: int) -> list[Write]:
    return [store_decision(e.decision)]


def store_decision(d: dict[str, Any]) -> Write:
    return w.UPSERT_DECISION(
        d["account_id"],
        d["message_id"],
        d["position"],
        d["status"],
        d["rule"],
        recipient_email(d),
        d["to"],
        to_json(d),
    )


def routed(e: Any, position: int) -> list[Write]:
    """A routed decision gets a mail to send, and an alert if it says so."""
    d = e.decision
    routed_at = time_key(e.timestamp)
    account_id, message_id = d["account_id"], d["message_id"]
    writes = [
        store_decision(as_stored(d)),
        w.INSERT_OUTBOX(
            account_id, message_id, position, routed_at, "pending", 0, routed_at
        ),
    ]
    # A contact's history lists the decisions about it (not replay's keys:
    # replay reads no decisions).
    writes += [
        w.INSERT_INDEX(account_id, f"decision:{contact_id}", position)
        for contact_id in d["contact_ids"]
    ]
    user_id = d["recipient"].get("user_id")
    if d.get("alert") and user_id:
        writes.append(w.INSERT_ALERT(account_id, user_id, position, message_id))
    if user_id:
        writes += [
            w.UPSERT_INBOX(account_id, user_id, message_id, position, routed_at,
                           None, None, None),
            w.UPSERT_HOLDER(account_id, message_id, user_id),
        ]  # fmt: skip
    received = time_key(datetime.fromisoformat(d["received_at"]))
    writes += [
        w.INSERT_THREAD(account_id, contact_id, position, "inbound", received, None,
                        message_id, d["body"], None, None)
        for contact_id in d["contact_ids"]
    ]  # fmt: skip
    return writes


def delivery_attempted(e: Any, position: int) -> list[Write]:
    delivery = {
        "email": "pending",
        "attempts": e.attempt,
        "last_error": e.error,
        "next_attempt_at": e.retry_at,
    }
    retry = w.RETRY_OUTBOX(
        e.attempt, time_key(e.retry_at), None, None, e.account_id, e.message_id
    )
    return [retry, set_delivery(e, delivery)]


def delivered(e: Any, position: int) -> list[Write]:
    close = w.CLOSE_OUTBOX("sent", e.attempts, None, None, e.account_id, e.message_id)
    return [close, set_delivery(e, {"email": "sent", "attempts": e.attempts})]


def delivery_failed(e: Any, position: int) -> list[Write]:
    close = w.CLOSE_OUTBOX("failed", e.attempts, None, None, e.account_id, e.message_id)
    delivery = {"email": "failed", "attempts": e.attempts, "last_error": e.reason}
    return [close, set_delivery(e, delivery)]


def set_delivery(e: Any, delivery: dict[str, Any]) -> Write:
    return w.SET_DELIVERY(to_json(delivery), e.account_id, e.message_id)
