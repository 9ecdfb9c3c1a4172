"""The ledger's verbs for the team's directory: users, contacts, numbers."""

from __future__ import annotations

from typing import Any

from smsledger.domain.contacts import Contact
from smsledger.domain.errors import InvalidInput, NotFound
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.users import User
from smsledger.domain.values import (
    parse_email,
    parse_phone,
)
from smsledger.ledger.base import (
    AccountContext,
    Saved,
    _event_data,
    _required_text,
)
from smsledger.ledger.routing import RoutingCommands


class DirectoryCommands(RoutingCommands):
    # Users.

    def put_user(
        self,
        ctx: AccountContext,
        user_id: str,
        email: str,
        name: str | None = None,
        active: bool = True,
    ) -> Saved:
        user_id = _required_text(user_id, "user_id")
        email = parse_email(email, "email")
        user = self._find(User, User.create_id(ctx.account_id, user_id))
        if user is None:
            user = User(ctx.account_id, user_id, email, name, active)
            return self._create(user, lambda: self.get_user(ctx, user_id))
        if user.differs(email, name, active):
            user.update(email, name, active)
            self._save(user)
        return Saved(user.as_dict(), created=False)

    def find_user(self, account_id: str, user_id: str) -> dict[str, Any] | None:
        """The user's row as the view holds it; None if there is none."""
        return self.view.user(account_id, user_id)

    def get_user(self, ctx: AccountContext, user_id: str) -> dict[str, Any]:
        user = self._find(User, User.create_id(ctx.account_id, user_id))
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return user.as_dict()

    # Contacts.

    def put_contact(
        self,
        ctx: AccountContext,
        contact_id: str,
        phones: list[str],
        name: str | None = None,
        owner_user_id: str | None = None,
    ) -> Saved:
        contact_id = _required_text(contact_id, "contact_id")
        parsed = [
            parse_phone(raw, ctx.default_region, f"phones[{i}]")
            for i, raw in enumerate(phones)
        ]
        phones = list(dict.fromkeys(parsed))
        if owner_user_id is not None and not self.view.user(
            ctx.account_id, owner_user_id
        ):
            raise InvalidInput("owner_user_id", f"no user {owner_user_id!r}")
        contact = self._find(Contact, Contact.create_id(ctx.account_id, contact_id))
        if contact is None:
            contact = Contact(ctx.account_id, contact_id, name, phones, owner_user_id)
            return self._create(contact, lambda: self.get_contact(ctx, contact_id))
        contact.revise(name, phones, owner_user_id)
        self._save(contact)
        return Saved(contact.as_dict(), created=False)

    def get_contact(self, ctx: AccountContext, contact_id: str) -> dict[str, Any]:
        contact = self._find(Contact, Contact.create_id(ctx.account_id, contact_id))
        if contact is None:
            raise NotFound(f"no contact {contact_id!r}")
        return contact.as_dict()

    def contact_history(
        self, ctx: AccountContext, contact_id: str
    ) -> list[dict[str, Any]]:
        """The contact's own events, the notes recorded to it, and the inbound
        messages routed by it with their decisions, oldest first."""
        self.get_contact(ctx, contact_id)
        positions = self.view.positions(ctx.account_id, f"contact:{contact_id}")
        decided = self.view.positions(ctx.account_id, f"decision:{contact_id}")
        positions = sorted({*positions, *decided, *self._received(decided)})
        return [
            {
                "type": type(event).__qualname__,
                "position": position,
                "recorded_at": event.timestamp,
                "data": _event_data(event),
            }
            for position, event in self.events_at(positions)
        ]

    # Inbound numbers.

    def _received(self, decided: list[int]) -> list[int]:
        """Where the messages of these decisions were received: each is its
        aggregate's first event."""
        found = []
        for _, event in self.events_at(decided):
            first = self.backend.position_of(event.originator_id)
            if first is not None:
                found.append(int(first))
        return found

    def put_number(
        self,
        ctx: AccountContext,
        number: str,
        backup_email: str,
        label: str | None = None,
    ) -> Saved:
        number = parse_phone(number, ctx.default_region, "number")
        backup_email = parse_email(backup_email, "backup_email")
        inbound = self._find(InboundNumber, InboundNumber.create_id(number))
        if inbound is None:
            inbound = InboundNumber(number, ctx.account_id, backup_email, label)
            saved = self._create(inbound, lambda: None)
            if saved.created is False:  # configured by someone at the same moment
                return self.put_number(ctx, number, backup_email, label)
            created = True
        else:
            created = inbound.configure(ctx.account_id, backup_email, label)
            self._save(inbound)
        self.release_held(ctx, number)
        return Saved(inbound.as_dict(), created=created)

    def get_number(self, ctx: AccountContext, number: str) -> dict[str, Any]:
        return self._own_number(ctx, number).as_dict()

    def number_holder(self, number: str) -> str | None:
        """The account that holds an inbound number now, if any."""
        row = self.view.number(number)
        return str(row["account_id"]) if row else None

    def delete_number(self, ctx: AccountContext, number: str) -> None:
        inbound = self._own_number(ctx, number)
        inbound.release()
        self._save(inbound)

    def _own_number(self, ctx: AccountContext, raw: str) -> InboundNumber:
        number = parse_phone(raw, ctx.default_region, "number")
        inbound = self._find(InboundNumber, InboundNumber.create_id(number))
        if inbound is None or inbound.account_id != ctx.account_id:
            raise NotFound(f"no inbound number {number}")
        return inbound
