"""An import's users and contacts: those met for the first time, checked as
their verbs check them, and the states each one's history went through.

A user or contact line is a state (a `PUT`): lines of one id are its history,
in order. Matching them against the states recorded lets a re-run pass over
the lines a run before it carried out, and only those.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from smsledger.api.lines import Line
from smsledger.domain.contacts import Contact
from smsledger.domain.errors import InvalidInput
from smsledger.domain.interactions import Interaction
from smsledger.domain.users import User
from smsledger.domain.values import parse_email, parse_phone
from smsledger.ledger.base import AccountContext


def aggregate_id(ctx: AccountContext, line: Line) -> UUID:
    body = line.body
    if line.type == "user":
        return User.create_id(ctx.account_id, body.user_id)
    if line.type == "contact":
        return Contact.create_id(ctx.account_id, body.contact_id)
    return Interaction.id_for(ctx.account_id, body.interaction_id)


def new_person(
    ctx: AccountContext,
    line: Line,
    owners: set[str],
    users: set[str],
    contacts: set[str],
) -> User | Contact:
    """A user or contact met for the first time, checked as its verb does;
    its id joins `users` or `contacts`, which later lines may name."""
    body, account_id = line.body, ctx.account_id
    if line.type == "user":
        email = parse_email(body.email, "email")
        users.add(body.user_id)
        return User(account_id, body.user_id, email, body.name, body.active)
    region = ctx.default_region
    parsed = [
        parse_phone(raw, region, f"phones[{i}]") for i, raw in enumerate(body.phones)
    ]
    owner = body.owner_user_id
    if owner is not None and owner not in owners and owner not in users:
        raise InvalidInput("owner_user_id", f"no user {owner!r}")
    contacts.add(body.contact_id)
    phones = list(dict.fromkeys(parsed))
    return Contact(account_id, body.contact_id, body.name, phones, owner)


class Histories:
    """Per user or contact the run touched: the states its history went
    through, and which of them the file has reached."""

    def __init__(self) -> None:
        self.states: dict[UUID, list[Any]] = {}
        self.at: dict[UUID, int] = {}

    def made(self, key: UUID, person: User | Contact) -> None:
        self.states[key], self.at[key] = [state(person)], 0

    def forget(self, keys: Iterable[UUID]) -> None:
        """Forget what a chunk that was not appended said."""
        for key in keys:
            self.states.pop(key, None)
            self.at.pop(key, None)

    def known(self, key: UUID) -> bool:
        return key in self.states

    def load(self, key: UUID, events: Iterable[Any]) -> None:
        states, aggregate = [], None
        for event in events:
            aggregate = event.mutate(aggregate)
            states.append(state(aggregate))
        self.states[key], self.at[key] = states, 0

    def restated(self, key: UUID, wanted: Any) -> bool:
        """Whether `wanted` is the state the history is at, or the next one it
        went through: a line a run before this one carried out."""
        states, at = self.states[key], self.at[key]
        if at < len(states) and states[at] == wanted:
            return True
        if at + 1 < len(states) and states[at + 1] == wanted:
            self.at[key] = at + 1
            return True
        return False

    def changed(self, key: UUID, kind: str, value: dict[str, Any]) -> None:
        """The history went on to the state a verb just saved."""
        self.states[key].append(plain_state(kind, value))
        self.at[key] = len(self.states[key]) - 1


def line_state(ctx: AccountContext, line: Line) -> Any:
    """A user or contact line's state, as `state` says it."""
    body = line.body
    if line.type == "user":
        return (parse_email(body.email, "email"), body.name, body.active)
    region = ctx.default_region
    phones = [
        parse_phone(raw, region, f"phones[{i}]") for i, raw in enumerate(body.phones)
    ]
    return (body.name, list(dict.fromkeys(phones)), body.owner_user_id)


def state(aggregate: Any) -> Any:
    """A user's or contact's state."""
    if isinstance(aggregate, User):
        return (aggregate.email, aggregate.name, aggregate.active)
    return (aggregate.name, list(aggregate.phones), aggregate.owner_user_id)


def plain_state(kind: str, value: dict[str, Any]) -> Any:
    if kind == "user":
        return (value["email"], value["name"], value["active"])
    return (value["name"], value["phones"], value["owner_user_id"])
