"""Reading the account's records a page at a time: the list endpoints and the
console's pages. Nothing here changes the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from smsledger.domain.errors import InvalidInput
from smsledger.domain.inbound import InboundSms
from smsledger.domain.values import parse_phone
from smsledger.domain.vocabulary import RULES
from smsledger.ledger.application import AccountContext, Ledger
from smsledger.projections.browse import MessagesPage
from smsledger.projections.decision_filter import DecisionFilter

STATUSES = ("routed", "held")
DELIVERIES = ("pending", "sent", "failed")


def decision_filter(
    ctx: AccountContext,
    *,
    rule: str | None = None,
    recipient: str | None = None,
    status: str | None = None,
    delivery: str | None = None,
    sender: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> DecisionFilter:
    """A filter from what a client sent: the sender in any format the
    account's region reads, the times with an offset."""
    for field, value, allowed in (
        ("rule", rule, RULES),
        ("status", status, STATUSES),
        ("delivery", delivery, DELIVERIES),
    ):
        if value is not None and value not in allowed:
            raise InvalidInput(field, f"must be one of {', '.join(allowed)}")
    return DecisionFilter(
        rule=rule,
        recipient=recipient.strip() if recipient else None,
        status=status,
        delivery=delivery,
        sender=parse_phone(sender, ctx.default_region, "sender") if sender else None,
        since=_utc_text(since, "since") if since else None,
        until=_utc_text(until, "until") if until else None,
    )


def _utc_text(moment: datetime, field: str) -> str:
    """A bound in the form decisions store their times, which compares as
    text in time order; its own second, with nothing after it, sorts first."""
    if moment.tzinfo is None:
        raise InvalidInput(field, "must have a UTC offset")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def list_decisions(
    ledger: Ledger,
    ctx: AccountContext,
    only: DecisionFilter,
    before: tuple[int, str] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """A page of the account's decisions, newest first."""
    return ledger.browse.decisions(ctx.account_id, only, before, limit)


def messages_page(
    ledger: Ledger,
    ctx: AccountContext,
    only: DecisionFilter,
    before: tuple[int, str] | None = None,
    limit: int = 50,
) -> MessagesPage:
    """What the console's messages page shows, read at once."""
    return ledger.browse.messages_page(ctx.account_id, only, before, limit)


def list_users(
    ledger: Ledger,
    ctx: AccountContext,
    active: bool | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """A page of the account's users, by `user_id`."""
    return ledger.browse.users(ctx.account_id, active, after, limit)


def list_contacts(
    ledger: Ledger,
    ctx: AccountContext,
    *,
    phone: str | None = None,
    name_prefix: str | None = None,
    owner_user_id: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """A page of the account's contacts, by `contact_id`; `phone` in any
    format the account's region reads."""
    return ledger.browse.contacts(
        ctx.account_id,
        phone=parse_phone(phone, ctx.default_region, "phone") if phone else None,
        name_prefix=name_prefix.strip() if name_prefix else None,
        owner_user_id=owner_user_id,
        after=after,
        limit=limit,
    )


def list_numbers(
    ledger: Ledger, ctx: AccountContext, after: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """A page of the account's inbound numbers."""
    return ledger.browse.numbers(ctx.account_id, after, limit)


def names(
    ledger: Ledger,
    ctx: AccountContext,
    user_ids: set[str],
    contact_ids: set[str],
) -> tuple[dict[str, str], dict[str, str]]:
    """What to call these users and contacts: their names, else their ids."""
    return ledger.browse.names(ctx.account_id, user_ids, contact_ids)


def delivery_history(
    ledger: Ledger, ctx: AccountContext, message_id: str
) -> list[dict[str, Any]]:
    """Each try to mail a decision, oldest first: when, how it went, and why."""
    aggregate_id = InboundSms.create_id(ctx.account_id, message_id)
    tries = []
    for stored in ledger.recorder.select_events(aggregate_id):
        event: Any = ledger.mapper.to_domain_event(stored)
        kind = type(event)
        if kind is InboundSms.DeliveryAttempted:
            tries.append(
                {
                    "at": event.timestamp,
                    "outcome": "refused" if event.outcome == "permanent" else "failed",
                    "error": event.error,
                    "retry_at": event.retry_at,
                }
            )
        elif kind is InboundSms.Delivered:
            tries.append({"at": event.timestamp, "outcome": "sent", "error": None})
        elif kind is InboundSms.DeliveryFailed:
            tries.append(
                {"at": event.timestamp, "outcome": "given up", "error": event.reason}
            )
    return tries


def first_position_since(ledger: Ledger, ctx: AccountContext, since: datetime) -> int:
    """Where the account's decisions received from `since` on begin in the
    ledger; past the head when there are none."""
    found = ledger.browse.first_position_since(
        ctx.account_id, _utc_text(since, "since")
    )
    return found if found is not None else ledger.head() + 1


def operations(ledger: Ledger, ctx: AccountContext) -> dict[str, Any]:
    """What an operator watches: readiness, the routing view against the
    ledger, and the account's mail queue."""
    head = ledger.head()
    with ledger.view.datastore.transaction(commit=False) as curs:
        live = ledger.view.live_version(curs)
        builds = ledger.view.builds(curs)
    return {
        "problems": ledger.readiness(),
        "head": head,
        "live_version": live,
        # The live view is folded in the transaction of each append.
        "position": head,
        "lag": 0,
        "builds": [
            {"version": v, "position": p, "lag": head - p}
            for v, p in builds
            if v > live
        ],
        "mail": ledger.browse.mail_queue(ctx.account_id),
    }
