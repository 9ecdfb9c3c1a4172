"""What the inbox reads from the routing view: a user's messages, a contact's
thread, replies, colleagues; and the one write it makes, a read mark."""

from __future__ import annotations

import json
from typing import Any

from smsledger.projections.persistence import RoutingView


class InboxView:
    SELECT_REACHED = (
        "SELECT position FROM {inbox}"
        " WHERE account_id = %s AND user_id = %s AND message_id = %s"
    )
    SELECT_INBOX = (
        "SELECT i.message_id, i.position, i.reached_at, i.by_user_id, i.note,"
        " d.document, h.user_id AS holder, r.read_position, b.name AS by_name"
        " FROM {inbox} i"
        " JOIN {decisions} d"
        "  ON d.account_id = i.account_id AND d.message_id = i.message_id"
        " LEFT JOIN {holders} h"
        "  ON h.account_id = i.account_id AND h.message_id = i.message_id"
        " LEFT JOIN smsledger_inbox_reads r ON r.account_id = i.account_id"
        "  AND r.user_id = i.user_id AND r.message_id = i.message_id"
        " LEFT JOIN {users} b"
        "  ON b.account_id = i.account_id AND b.user_id = i.by_user_id"
        " WHERE i.account_id = %s AND i.user_id = %s AND i.position < %s"
        " ORDER BY i.position DESC LIMIT %s"
    )
    COUNT_UNREAD = (
        "SELECT COUNT(*) AS n FROM {inbox} i"
        " LEFT JOIN smsledger_inbox_reads r ON r.account_id = i.account_id"
        "  AND r.user_id = i.user_id AND r.message_id = i.message_id"
        " WHERE i.account_id = %s AND i.user_id = %s"
        " AND (r.read_position IS NULL OR r.read_position < i.position)"
    )
    # Later marks only: a page open in two tabs may mark twice.
    MARK_READ = (
        "INSERT INTO smsledger_inbox_reads (account_id, user_id, message_id,"
        " read_position) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (account_id, user_id, message_id) DO UPDATE"
        " SET read_position = excluded.read_position"
        " WHERE excluded.read_position > smsledger_inbox_reads.read_position"
    )
    SELECT_HOLDER = (
        "SELECT user_id FROM {holders} WHERE account_id = %s AND message_id = %s"
    )
    SELECT_REPLIES = (
        "SELECT reply_id, message_id, user_id, body, status, attempts, last_error,"
        " provider_id, queued_at, next_attempt_at, position FROM {dispatches}"
        " WHERE account_id = %s AND message_id = %s ORDER BY position"
    )
    SELECT_THREAD = (
        "SELECT t.contact_id, t.position, t.kind, t.occurred_at, t.user_id,"
        " t.message_id, t.body, t.by_user_id, t.item_id, u.name AS user_name,"
        " s.status FROM {thread} t"
        " LEFT JOIN {users} u ON u.account_id = t.account_id AND u.user_id = t.user_id"
        " LEFT JOIN {dispatches} s ON t.kind = 'reply'"
        "  AND s.account_id = t.account_id AND s.message_id = t.message_id"
        "  AND s.reply_id = t.item_id"
        " WHERE t.account_id = %s AND t.contact_id = %s"
    )
    SELECT_CONTACT_CARD = (
        "SELECT c.contact_id, c.name, c.owner_user_id, u.name AS owner_name"
        " FROM {contacts} c LEFT JOIN {users} u"
        "  ON u.account_id = c.account_id AND u.user_id = c.owner_user_id"
        " WHERE c.account_id = %s AND c.contact_id = %s"
    )
    SELECT_PHONES = (
        "SELECT phone FROM {contact_phones}"
        " WHERE account_id = %s AND contact_id = %s ORDER BY phone"
    )
    SELECT_COLLEAGUES = (
        "SELECT user_id, name, email FROM {users}"
        " WHERE account_id = %s AND active = %s AND user_id <> %s"
        " AND (LOWER(COALESCE(name, '')) LIKE %s OR LOWER(user_id) LIKE %s"
        "  OR LOWER(email) LIKE %s)"
        " ORDER BY COALESCE(name, user_id), user_id LIMIT %s"
    )
    SELECT_USERS_BY_EMAIL = (
        "SELECT account_id, user_id FROM {users}"
        " WHERE lower(email) = lower(%s) AND active = %s"
        " ORDER BY account_id, user_id"
    )
    SELECT_USER_NAMES = "SELECT user_id, name FROM {users} WHERE account_id = %s"

    def __init__(self, view: RoutingView) -> None:
        self.view = view

    def reached(self, account_id: str, user_id: str, message_id: str) -> int | None:
        """When the message last reached the user (a position); None if never."""
        row = self.view._one(self.SELECT_REACHED, account_id, user_id, message_id)
        return int(row["position"]) if row else None

    def page(
        self, account_id: str, user_id: str, before: int, limit: int
    ) -> list[dict[str, Any]]:
        rows = self.view._all(self.SELECT_INBOX, account_id, user_id, before, limit)
        for row in rows:
            row["document"] = json.loads(row["document"])
        return rows

    def unread(self, account_id: str, user_id: str) -> int:
        row = self.view._one(self.COUNT_UNREAD, account_id, user_id)
        return int(row["n"]) if row else 0

    def mark_read(
        self, account_id: str, user_id: str, message_id: str, position: int
    ) -> None:
        with self.view.writing() as tx:
            self.view._execute(
                tx, self.MARK_READ, account_id, user_id, message_id, position
            )

    def holder(self, account_id: str, message_id: str) -> str | None:
        row = self.view._one(self.SELECT_HOLDER, account_id, message_id)
        return row["user_id"] if row else None

    def replies(self, account_id: str, message_id: str) -> list[dict[str, Any]]:
        return self.view._all(self.SELECT_REPLIES, account_id, message_id)

    def thread(self, account_id: str, contact_id: str) -> list[dict[str, Any]]:
        return self.view._all(self.SELECT_THREAD, account_id, contact_id)

    def contact_card(self, account_id: str, contact_id: str) -> dict[str, Any] | None:
        card = self.view._one(self.SELECT_CONTACT_CARD, account_id, contact_id)
        if card is not None:
            phones = self.view._all(self.SELECT_PHONES, account_id, contact_id)
            card["phones"] = [row["phone"] for row in phones]
        return card

    def colleagues(
        self, account_id: str, user_id: str, q: str, limit: int
    ) -> list[dict[str, Any]]:
        like = f"%{q.lower()}%"
        return self.view._all(self.SELECT_COLLEAGUES, account_id, True, user_id,
                              like, like, like, limit)  # fmt: skip

    def users_by_email(self, email: str) -> list[dict[str, Any]]:
        return self.view._all(self.SELECT_USERS_BY_EMAIL, email, True)

    def user_names(self, account_id: str) -> dict[str, str | None]:
        rows = self.view._all(self.SELECT_USER_NAMES, account_id)
        return {row["user_id"]: row["name"] for row in rows}
