"""The ledger's reads for the inbox: a user's messages, one conversation, the
colleagues to hand a message to. A user reads only what reached them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smsledger.domain.errors import NotFound
from smsledger.ledger.base import AccountContext
from smsledger.ledger.signin import SignInCommands
from smsledger.projections.persistence import from_time_key

# Positions are below this: the first page of an inbox starts under it.
_TOP = 2**62


@dataclass(frozen=True)
class InboxItem:
    message_id: str
    position: int  # when it last reached this user; pages go by it
    reached_at: datetime
    sender: str
    contact_names: list[str]
    body: str
    received_at: datetime
    rule: str
    handed_by: str | None  # who handed it to this user; None if routed
    handed_by_name: str | None
    note: str | None
    unread: bool
    holder: bool  # this user holds it now: may hand it off or reply


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    unread: int
    next_before: int | None


@dataclass(frozen=True)
class ContactCard:
    contact_id: str
    name: str | None
    phones: list[str]
    owner_user_id: str | None
    owner_name: str | None


@dataclass(frozen=True)
class ThreadEntry:
    kind: str  # inbound, sms, campaign_sms, call, handoff, reply
    at: datetime
    position: int
    contact_id: str | None
    user_id: str | None
    user_name: str | None
    text: str | None
    message_id: str | None
    by_user_id: str | None
    status: str | None  # a reply's: queued, sent or failed
    current: bool


@dataclass(frozen=True)
class Conversation:
    decision: dict[str, Any]
    contacts: list[ContactCard]
    thread: list[ThreadEntry]
    replies: list[dict[str, Any]]
    holder_user_id: str | None
    can_reply: bool
    explanation: str


@dataclass(frozen=True)
class Colleague:
    user_id: str
    name: str | None
    email: str


class InboxReads(SignInCommands):
    def inbox(
        self,
        ctx: AccountContext,
        user_id: str,
        *,
        before: int | None = None,
        limit: int = 50,
    ) -> InboxPage:
        """The messages routed or handed to a user, newest first."""
        view = self.inbox_view
        rows = view.page(ctx.account_id, user_id, before or _TOP, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        names = self._contact_names(ctx, rows)
        items = [_item(row, user_id, names) for row in rows]
        last = items[-1].position if more and items else None
        return InboxPage(items, view.unread(ctx.account_id, user_id), last)

    def _contact_names(
        self, ctx: AccountContext, rows: list[dict[str, Any]]
    ) -> dict[str, str]:
        ids = {cid for row in rows for cid in row["document"]["contact_ids"]}
        names = {}
        for contact_id in ids:
            contact = self.view.contact(ctx.account_id, contact_id)
            names[contact_id] = (contact or {}).get("name") or contact_id
        return names

    def unread_count(self, ctx: AccountContext, user_id: str) -> int:
        return self.inbox_view.unread(ctx.account_id, user_id)

    def mark_read(self, ctx: AccountContext, user_id: str, message_id: str) -> None:
        """Mark a message of the user's inbox read, as of its last arrival."""
        position = self._reached(ctx, user_id, message_id)
        self.inbox_view.mark_read(ctx.account_id, user_id, message_id, position)

    def _reached(self, ctx: AccountContext, user_id: str, message_id: str) -> int:
        position = self.inbox_view.reached(ctx.account_id, user_id, message_id)
        if position is None:
            raise NotFound(f"no decision for message {message_id!r}")
        return position

    def conversation(
        self, ctx: AccountContext, user_id: str, message_id: str
    ) -> Conversation:
        """One message as its user sees it: the contacts, their whole thread,
        the replies, and why it came to this user."""
        self._reached(ctx, user_id, message_id)
        decision = self.get_decision(ctx, message_id)
        view = self.inbox_view
        cards = [
            ContactCard(
                c["contact_id"],
                c["name"],
                c["phones"],
                c["owner_user_id"],
                c["owner_name"],
            )
            for cid in decision["contact_ids"]
            if (c := view.contact_card(ctx.account_id, cid)) is not None
        ]
        names = view.user_names(ctx.account_id)
        thread = self._thread(ctx, decision, names)
        holder = view.holder(ctx.account_id, message_id)
        has_provider = all(
            self.view.secret(ctx.account_id, name) is not None
            for name in ("twilio_account_sid", "twilio_auth_token")
        )
        return Conversation(
            decision=decision,
            contacts=cards,
            thread=thread,
            replies=view.replies(ctx.account_id, message_id),
            holder_user_id=holder,
            can_reply=holder == user_id and has_provider,
            explanation=_why(decision, user_id, names),
        )

    def _thread(
        self, ctx: AccountContext, decision: dict[str, Any], names: dict[str, Any]
    ) -> list[ThreadEntry]:
        """The matched contacts' threads, merged; for an unknown sender, the
        message with its hand-offs and replies."""
        current = decision["message_id"]
        entries: dict[tuple[str, int], ThreadEntry] = {}
        for contact_id in decision["contact_ids"]:
            for row in self.inbox_view.thread(ctx.account_id, contact_id):
                key = (row["kind"], int(row["position"]))
                entries.setdefault(key, _entry(row, current))
        if not decision["contact_ids"]:
            for entry in _own_thread(decision, names, self.inbox_view.replies(
                ctx.account_id, current
            )):  # fmt: skip
                entries[(entry.kind, entry.position)] = entry
        return sorted(entries.values(), key=lambda e: (e.at, e.position))

    def colleagues(
        self, ctx: AccountContext, user_id: str, q: str = "", limit: int = 20
    ) -> list[Colleague]:
        """Active users of the account but `user_id`, matching `q`, by name."""
        rows = self.inbox_view.colleagues(ctx.account_id, user_id, q.strip(), limit)
        return [Colleague(r["user_id"], r["name"], r["email"]) for r in rows]


def _item(row: dict[str, Any], user_id: str, names: dict[str, str]) -> InboxItem:
    document = row["document"]
    read = row["read_position"]
    return InboxItem(
        message_id=row["message_id"],
        position=int(row["position"]),
        reached_at=from_time_key(row["reached_at"]),
        sender=document["from"],
        contact_names=[names[cid] for cid in document["contact_ids"]],
        body=document["body"],
        received_at=datetime.fromisoformat(document["received_at"]),
        rule=document["rule"],
        handed_by=row["by_user_id"],
        handed_by_name=row["by_name"],
        note=row["note"],
        unread=read is None or int(read) < int(row["position"]),
        holder=row["holder"] == user_id,
    )


def _entry(row: dict[str, Any], current: str) -> ThreadEntry:
    return ThreadEntry(
        kind=row["kind"],
        at=from_time_key(row["occurred_at"]),
        position=int(row["position"]),
        contact_id=row["contact_id"],
        user_id=row["user_id"],
        user_name=row["user_name"],
        text=row["body"],
        message_id=row["message_id"],
        by_user_id=row["by_user_id"],
        status=row["status"],
        current=row["kind"] == "inbound" and row["message_id"] == current,
    )


def _own_thread(
    decision: dict[str, Any], names: dict[str, Any], replies: list[dict[str, Any]]
) -> list[ThreadEntry]:
    message_id = decision["message_id"]
    position = int(decision["position"])  # hand-offs are told apart by time
    entries = [
        ThreadEntry(
            "inbound",
            datetime.fromisoformat(decision["received_at"]),
            position,
            None,
            None,
            None,
            decision["body"],
            message_id,
            None,
            None,
            True,
        )
    ]
    for i, handoff in enumerate(decision.get("handoffs", []), 1):
        to = handoff["to_user_id"]
        entries.append(
            ThreadEntry(
                "handoff",
                datetime.fromisoformat(handoff["at"]),
                position + i,
                None,
                to,
                names.get(to),
                handoff["note"],
                message_id,
                handoff["by_user_id"],
                None,
                False,
            )
        )
    for reply in replies:
        who = reply["user_id"]
        entries.append(
            ThreadEntry(
                "reply",
                from_time_key(reply["queued_at"]),
                int(reply["position"]),
                None,
                who,
                names.get(who),
                reply["body"],
                message_id,
                None,
                reply["status"],
                False,
            )
        )
    return entries


def _why(decision: dict[str, Any], user_id: str, names: dict[str, Any]) -> str:
    """Why the message is in this user's inbox: the last hand-off to them,
    else the decision's own explanation."""
    for handoff in reversed(decision.get("handoffs", [])):
        if handoff["to_user_id"] == user_id:
            by = handoff["by_user_id"]
            who = (names.get(by) or by) if by else "A colleague"
            note = f' with the note "{handoff["note"]}"' if handoff["note"] else ""
            return f"{who} handed it to you{note}."
    explanation: str = decision["explanation"]
    return explanation
