"""What the console and the list endpoints read from the routing view.

Decisions by filter, users, contacts, numbers and the account's mail queue,
each a page at a time and each through an index (a test says so): the pages
must stay fast however long the ledger grows. Which decisions a page holds is
in `decision_filter.py`; each backend's expressions into a decision's document,
and the indexes on them, in `keys.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from smsledger.projections.decision_filter import DecisionFilter, decisions_query
from smsledger.projections.persistence import RoutingView


@dataclass(frozen=True)
class MessagesPage:
    decisions: list[dict[str, Any]]
    users: list[dict[str, Any]]  # the first 200, for the recipient filter
    numbers: list[dict[str, Any]]  # the first 50, for the same
    failed_mails: int


class Browse:
    """The view's list queries, in the view's own dialect."""

    SELECT_USERS = "SELECT user_id, email, name, active FROM {users}"
    SELECT_CONTACTS = (
        "SELECT contact_id, name, owner_user_id FROM {contacts} c"
        " WHERE c.account_id = %s"
    )
    SELECT_NUMBERS = (
        "SELECT number, backup_email, label FROM {numbers}"
        " WHERE account_id = %s AND number > %s ORDER BY number LIMIT %s"
    )

    def __init__(self, view: RoutingView) -> None:
        self.view = view
        keys = self.keys = view.KEYS
        # The statements that reach into a decision's document, each in this
        # backend's expression (`Keys`); each table by its template.
        # Through the index on the delivery state: the outbox has none by account.
        self.count_mail = (
            "SELECT count(*) AS n FROM {decisions}"
            f" WHERE account_id = %s AND {keys.delivery} = %s"
        )
        self.select_oldest_mail = (
            "SELECT o.routed_at FROM {outbox} o WHERE o.account_id = %s"
            " AND o.message_id = (SELECT d.message_id FROM {decisions} d"
            f" WHERE d.account_id = %s AND {keys.delivery} = 'pending'"
            " ORDER BY d.position, d.message_id LIMIT 1)"
        )
        self.select_mail_errors = (
            "SELECT document FROM {decisions} WHERE account_id = %s"
            f" AND {keys.delivery} = %s AND {keys.delivery_error} IS NOT NULL"
            " ORDER BY position DESC LIMIT %s"
        )
        self.select_first_since = (
            "SELECT min(position) AS position FROM {decisions}"
            f" WHERE account_id = %s AND {keys.received} >= %s"
        )

    def _rows(self, statement: str, *params: Any) -> list[dict[str, Any]]:
        _, (rows,) = self.view.read([(statement, params)])
        return [dict(row) for row in rows]

    # Decisions.

    def decisions_query(
        self,
        account_id: str,
        only: DecisionFilter,
        before: tuple[int, str] | None,
        limit: int,
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement for a page of decisions, newest first, and its values."""
        return decisions_query(self.keys, account_id, only, before, limit)

    def decisions(
        self,
        account_id: str,
        only: DecisionFilter,
        before: tuple[int, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """A page of decisions, newest first, after `before` if given."""
        statement, params = self.decisions_query(account_id, only, before, limit)
        return [json.loads(r["document"]) for r in self._rows(statement, *params)]

    def decisions_by_id(
        self, account_id: str, message_ids: list[str]
    ) -> dict[str, dict[str, Any]]:
        """The decisions of these messages, by message id."""
        if not message_ids:
            return {}
        rows = self._rows(*_flat(_in(select_decisions, account_id, message_ids)))
        found = (json.loads(r["document"]) for r in rows)
        return {d["message_id"]: d for d in found}

    def first_position_since(self, account_id: str, since: str) -> int | None:
        """The ledger position of the first decision received at or after
        `since`: where a check of "decisions since a day" starts."""
        rows = self._rows(self.select_first_since, account_id, since)
        position = rows[0]["position"] if rows else None
        return int(position) if position is not None else None

    # Users, contacts, numbers.

    def users_query(
        self, account_id: str, active: bool | None, after: str | None, limit: int
    ) -> tuple[str, tuple[Any, ...]]:
        where: list[str] = ["account_id = %s"]
        params: list[Any] = [account_id]
        if active is not None:
            where.append("active = %s")
            params.append(active)
        if after is not None:
            where.append("user_id > %s")
            params.append(after)
        statement = (
            f"{self.SELECT_USERS} WHERE {' AND '.join(where)} ORDER BY user_id LIMIT %s"
        )
        return statement, (*params, limit)

    def users(
        self, account_id: str, active: bool | None, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """A page of the account's users, by `user_id`."""
        rows = self._rows(*_flat(self.users_query(account_id, active, after, limit)))
        for row in rows:
            row["active"] = bool(row["active"])
        return rows

    def contacts_query(
        self,
        account_id: str,
        *,
        phone: str | None,
        name_prefix: str | None,
        owner_user_id: str | None,
        after: str | None,
        limit: int,
    ) -> tuple[str, tuple[Any, ...]]:
        statement, params = self.SELECT_CONTACTS, [account_id]
        if phone is not None:
            statement += (
                " AND c.contact_id IN (SELECT p.contact_id FROM {contact_phones} p"
                " WHERE p.account_id = %s AND p.phone = %s)"
            )
            params += [account_id, phone]
        if name_prefix:
            # A range, not LIKE: it is answered by the index on the name.
            prefix = name_prefix.lower()
            statement += f" AND {self.keys.name} >= %s AND {self.keys.name} < %s"
            params += [prefix, prefix + "\U0010ffff"]
        if owner_user_id is not None:
            statement += " AND c.owner_user_id = %s"
            params.append(owner_user_id)
        if after is not None:
            statement += " AND c.contact_id > %s"
            params.append(after)
        return statement + " ORDER BY c.contact_id LIMIT %s", (*params, limit)

    def contacts(self, account_id: str, **query: Any) -> list[dict[str, Any]]:
        """A page of the account's contacts, by `contact_id`, with their phones."""
        rows = self._rows(*_flat(self.contacts_query(account_id, **query)))
        if not rows:
            return []
        ids = [row["contact_id"] for row in rows]
        phones: dict[str, list[str]] = {cid: [] for cid in ids}
        for row in self._rows(*_flat(_in(select_phones, account_id, ids))):
            phones[row["contact_id"]].append(row["phone"])
        return [{**row, "phones": phones[row["contact_id"]]} for row in rows]

    def numbers(
        self, account_id: str, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """A page of the account's inbound numbers, by number."""
        return self._rows(self.SELECT_NUMBERS, account_id, after or "", limit)

    def names(
        self, account_id: str, user_ids: set[str], contact_ids: set[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Display names of these users and contacts (their name, else their
        id), in one read."""
        queries = [
            _in(statement, account_id, ids)
            for statement, ids in (
                (select_names, user_ids),
                (select_contact_names, contact_ids),
            )
            if ids
        ]
        _, found = self.view.read(queries) if queries else ({}, [])
        results = iter(found)
        users, contacts = (
            {row["id"]: row["name"] for row in next(results)} if ids else {}
            for ids in (user_ids, contact_ids)
        )
        return users, contacts

    def messages_page(
        self,
        account_id: str,
        only: DecisionFilter,
        before: tuple[int, str] | None,
        limit: int,
    ) -> MessagesPage:
        """All the messages page shows but names, in one read: a page of
        decisions, the team and numbers its filters offer, the failed mails."""
        _, (decisions, users, numbers, failed) = self.view.read(
            [
                self.decisions_query(account_id, only, before, limit),
                self.users_query(account_id, None, None, 200),
                (self.SELECT_NUMBERS, (account_id, "", 50)),
                (self.count_mail, (account_id, "failed")),
            ]
        )
        return MessagesPage(
            decisions=[json.loads(row["document"]) for row in decisions],
            users=[{**row, "active": bool(row["active"])} for row in users],
            numbers=[dict(row) for row in numbers],
            failed_mails=int(failed[0]["n"]),
        )

    # Mail.

    def mails(self, account_id: str, state: str) -> int:
        """How many of the account's mails are in `state`."""
        return int(self._rows(self.count_mail, account_id, state)[0]["n"])

    def mail_queue(self, account_id: str, errors: int = 5) -> dict[str, Any]:
        """The account's mails waiting and failed, when the oldest waiting one
        was routed, and the decisions whose last try failed, newest first."""
        pending, failed = (self.mails(account_id, s) for s in ("pending", "failed"))
        oldest = self._rows(self.select_oldest_mail, account_id, account_id)
        recent = []
        for status in ("failed", "pending"):
            statement = self.select_mail_errors
            for row in self._rows(statement, account_id, status, errors):
                recent.append(json.loads(row["document"]))
        recent.sort(key=lambda d: (d["position"], d["message_id"]), reverse=True)
        return {
            "pending": pending,
            "failed": failed,
            "oldest_pending": oldest[0]["routed_at"] if oldest else None,
            "errors": recent[:errors],
        }


# Statements over a list of ids, given the placeholders of the list (`marks`).


def select_phones(marks: str) -> str:
    return (
        "SELECT contact_id, phone FROM {contact_phones}"
        f" WHERE account_id = %s AND contact_id IN ({marks}) ORDER BY phone"
    )


def select_names(marks: str) -> str:
    return (
        "SELECT user_id AS id, coalesce(name, user_id) AS name FROM {users}"
        f" WHERE account_id = %s AND user_id IN ({marks})"
    )


def select_contact_names(marks: str) -> str:
    return (
        "SELECT contact_id AS id, coalesce(name, contact_id) AS name"
        f" FROM {{contacts}} WHERE account_id = %s AND contact_id IN ({marks})"
    )


def select_decisions(marks: str) -> str:
    return (
        "SELECT document FROM {decisions}"
        f" WHERE account_id = %s AND message_id IN ({marks})"
    )


def _in(
    statement: Callable[[str], str], account_id: str, ids: Iterable[str]
) -> tuple[str, tuple[Any, ...]]:
    """`statement` over the list of `ids`, sorted, and its values."""
    ordered = sorted(ids)
    marks = ", ".join("%s" for _ in ordered)
    return statement(marks), (account_id, *ordered)


def _flat(query: tuple[str, tuple[Any, ...]]) -> tuple[Any, ...]:
    statement, params = query
    return (statement, *params)
