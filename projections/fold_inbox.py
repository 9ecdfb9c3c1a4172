"""How hand-offs and replies fold into the view: hand-off notes, the inbox,
the thread, the hand-off mails and the replies' queue."""

from __future__ import annotations

from typing import Any

from smsledger.domain.routing import note_slot
from smsledger.projections import view_writes as w
from smsledger.projections.view_base import time_key, to_json
from smsledger.projections.writes import Write


def handed_off(e: Any, position: int) -> list[Write]:
    """A hand-off: the decision's list, a note on each of its contacts, the
    new user's inbox, a mail to them and (enhanced inbound) an alert."""
    account_id, message_id, to = e.account_id, e.message_id, e.to_user_id
    at = time_key(e.at)
    channel, actor = note_slot("handoff", to)
    writes = [w.SET_HANDOFFS(to_json(e.handoffs), account_id, message_id)]
    for contact_id in e.contact_ids:
        writes += [
            w.UPSERT_NOTE(account_id, contact_id, channel, actor, e.handoff_id,
                          "handoff", to, None, at, position, message_id,
                          e.by_user_id),
            w.INSERT_INDEX(account_id, f"contact:{contact_id}", position),
            w.INSERT_THREAD(account_id, contact_id, position, "handoff", at, to,
                            message_id, e.note, e.by_user_id, e.handoff_id),
        ]  # fmt: skip
    writes += [
        w.UPSERT_INBOX(account_id, to, message_id, position, at, e.handoff_id,
                       e.by_user_id, e.note),
        w.UPSERT_HOLDER(account_id, message_id, to),
        w.INSERT_HANDOFF_MAIL(account_id, message_id, e.handoff_id, position,
                              "pending", 0, at),
    ]  # fmt: skip
    if e.alert:
        writes.append(w.INSERT_ALERT(account_id, to, position, message_id))
    return writes


# Each outcome releases the worker's lease.


def handoff_mail_attempted(e: Any, position: int) -> list[Write]:
    return [
        w.RETRY_HANDOFF_MAIL(e.attempt, time_key(e.retry_at), None, None,
                             e.account_id, e.message_id, e.handoff_id)
    ]  # fmt: skip


def handoff_mailed(e: Any, position: int) -> list[Write]:
    return [
        w.CLOSE_HANDOFF_MAIL("sent", e.attempts, None, None, e.account_id,
                             e.message_id, e.handoff_id)
    ]  # fmt: skip


def handoff_mail_failed(e: Any, position: int) -> list[Write]:
    return [
        w.CLOSE_HANDOFF_MAIL("failed", e.attempts, None, None, e.account_id,
                             e.message_id, e.handoff_id)
    ]  # fmt: skip


def reply_queued(e: Any, position: int) -> list[Write]:
    at = time_key(e.queued_at)
    queued = w.INSERT_DISPATCH(e.account_id, e.message_id, e.reply_id, position,
                               e.user_id, e.body, at, "queued", 0, at)  # fmt: skip
    return [queued] + [
        w.INSERT_THREAD(e.account_id, contact_id, position, "reply", at, e.user_id,
                        e.message_id, e.body, None, e.reply_id)
        for contact_id in e.contact_ids
    ]  # fmt: skip


def reply_attempted(e: Any, position: int) -> list[Write]:
    return [
        w.RETRY_DISPATCH(e.attempt, e.error, time_key(e.retry_at), None, None,
                         e.account_id, e.message_id, e.reply_id)
    ]  # fmt: skip


def reply_sent(e: Any, position: int) -> list[Write]:
    """Sent: its user's SMS note to each contact of the decision."""
    at = time_key(e.occurred_at)
    channel, actor = note_slot("sms", e.user_id)
    writes = [
        w.CLOSE_DISPATCH("sent", e.attempts, e.provider_id, None, None, None,
                         e.account_id, e.message_id, e.reply_id)
    ]  # fmt: skip
    for contact_id in e.contact_ids:
        writes += [
            w.UPSERT_NOTE(e.account_id, contact_id, channel, actor, e.reply_id,
                          "sms", e.user_id, None, at, position, None, None),
            w.INSERT_INDEX(e.account_id, f"contact:{contact_id}", position),
        ]  # fmt: skip
    return writes


def reply_failed(e: Any, position: int) -> list[Write]:
    return [
        w.CLOSE_DISPATCH("failed", e.attempts, None, e.reason, None, None,
                         e.account_id, e.message_id, e.reply_id)
    ]  # fmt: skip
