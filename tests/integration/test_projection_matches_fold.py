"""Property: what routing reads from the view equals a plain fold of the ledger.

For random histories of notes, ownership and phone changes, deactivations,
hand-offs and sent replies, the decision made from the projections must equal
the decision made from facts folded directly from every event in the ledger,
without the view.
"""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsledger.domain.errors import DomainError
from smsledger.domain.routing import (
    ContactFact,
    Facts,
    NoteFact,
    NumberFact,
    UserFact,
    decide,
)
from smsledger.ledger.application import Ledger

NUMBERS = (f"+1415555{n:04d}" for n in itertools.count(2000))
PHONES = ["+14155550111", "+14155550122", "+14155550133"]
USERS = ["u1", "u2", "u3"]
CONTACTS = ["c1", "c2", "c3"]
DAY = datetime(2026, 11, 1, tzinfo=UTC)

contact_step = st.tuples(
    st.just("contact"),
    st.sampled_from(CONTACTS),
    st.lists(st.sampled_from(PHONES), max_size=2, unique=True),
    st.sampled_from([None, *USERS]),
)
active_step = st.tuples(st.just("active"), st.sampled_from(USERS), st.booleans())
note_step = st.tuples(
    st.just("note"),
    st.sampled_from(["sms", "campaign_sms", "call"]),
    st.sampled_from(USERS),
    st.sampled_from(CONTACTS),
    st.integers(0, 4),  # few distinct days, so ties happen
)
# A message from a phone, handed to a user, or answered by its holder.
handoff_step = st.tuples(
    st.just("handoff"),
    st.sampled_from(PHONES),
    st.sampled_from(USERS),
    st.integers(0, 4),
)
reply_step = st.tuples(st.just("reply"), st.sampled_from(PHONES), st.integers(0, 4))
histories = st.lists(
    st.one_of(contact_step, active_step, note_step, handoff_step, reply_step),
    max_size=14,
)


def play(ledger: Ledger, ctx, number, history) -> None:
    ledger.put_number(ctx, number, "desk@example.org")
    for user_id in USERS:
        ledger.put_user(ctx, user_id, f"{user_id}@example.org")
    for contact_id in CONTACTS:
        ledger.put_contact(ctx, contact_id, [PHONES[0]])
    for step in history:
        if step[0] == "contact":
            _, contact_id, phones, owner = step
            ledger.put_contact(ctx, contact_id, phones, owner_user_id=owner)
        elif step[0] == "active":
            _, user_id, active = step
            ledger.put_user(ctx, user_id, f"{user_id}@example.org", active=active)
        elif step[0] in ("handoff", "reply"):
            answer(ledger, ctx, number, step)
        else:
            _, kind, user_id, contact_id, day = step
            ledger.record_interaction(
                ctx,
                kind,
                contact_id=contact_id,
                to=PHONES[0],
                from_number=number,
                user_id=user_id,
                reply="campaign@example.org",
                occurred_at=DAY + timedelta(days=day),
            )


def answer(ledger: Ledger, ctx, number, step) -> None:
    """Route a message from the step's phone, then hand it off or reply."""
    message_id = ledger.route_inbound_sms(ctx, step[1], number, "hi").value[
        "message_id"
    ]
    when = DAY + timedelta(days=step[-1])
    try:
        if step[0] == "handoff":
            ledger.hand_off(ctx, message_id, to_user_id=step[2], now=when)
        elif (holder := ledger.get_decision(ctx, message_id)["recipient"]) and (
            holder.get("user_id")
        ):
            ledger.record_sent_reply(
                ctx, message_id, reply_id="r", user_id=holder["user_id"],
                body="ok", provider_id="SM-r", sent_at=when,
            )  # fmt: skip
    except DomainError:
        pass  # to its holder, or to an inactive user


def folded_facts(ledger: Ledger, account_id: str, number: str, sender: str) -> Facts:
    """Facts by a plain fold over every event of the ledger."""
    users: dict[str, UserFact] = {}
    contacts: dict[str, dict[str, Any]] = {}
    notes: list[NoteFact] = []
    backup = None
    for n in ledger.recorder.select_notifications(None, 1_000_000):
        event: Any = ledger.mapper.to_domain_event(n)
        if getattr(event, "account_id", None) != account_id:
            continue
        name = type(event).__qualname__
        if name.startswith("User."):
            users[event.user_id] = UserFact(
                event.user_id, event.email, event.name, event.active
            )
        elif name == "Contact.Registered":
            contacts[event.contact_id] = {
                "phones": event.phones,
                "owner": event.owner_user_id,
                "at": n.id,
                "name": event.name,
            }
        elif name == "Contact.PhonesChanged":
            contacts[event.contact_id]["phones"] = event.phones
        elif name == "Contact.OwnerChanged":
            contacts[event.contact_id]["owner"] = event.owner_user_id
        elif name.startswith("Interaction."):
            details = event.details()
            notes.append(
                NoteFact(
                    details["interaction_id"],
                    details["kind"],
                    details["contact_id"],
                    details["user_id"],
                    details["reply"],
                    details["occurred_at"],
                    n.id,
                )
            )
        elif name == "InboundSms.HandedOff":
            notes += [
                NoteFact(event.handoff_id, "handoff", contact_id, event.to_user_id,
                         None, event.at, n.id, event.message_id, event.by_user_id)
                for contact_id in event.contact_ids
            ]  # fmt: skip
        elif name == "Dispatch.Sent":
            notes += [
                NoteFact(event.reply_id, "sms", contact_id, event.user_id, None,
                         event.occurred_at, n.id)
                for contact_id in event.contact_ids
            ]  # fmt: skip
        elif name.startswith("InboundNumber."):
            backup = event.backup_email
    matched = [
        ContactFact(cid, c["name"], c["owner"], c["at"])
        for cid, c in contacts.items()
        if sender in c["phones"]
    ]
    ids = {c.contact_id for c in matched}
    return Facts(
        sender=sender,
        number=NumberFact(number, backup) if backup else None,
        contacts=matched,
        notes=[n for n in notes if n.contact_id in ids],
        users=users,
    )


def assert_view_decides_as_plain_fold(ledger: Ledger, account_id: str, number: str):
    for sender in [*PHONES, "+14155550199"]:
        facts, _ = ledger.view.gather_facts(account_id, number, sender)
        expected = folded_facts(ledger, account_id, number, sender)
        for policy in ("sms_then_call", "most_recent_interaction"):
            assert decide(facts, policy) == decide(expected, policy)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history=histories)
def test_decision_from_view_equals_decision_from_plain_fold(ledger, history):
    settings_, _ = ledger.open_account("Prop")  # a fresh account per example
    ctx = ledger.context(settings_["account_id"])
    number = next(NUMBERS)
    play(ledger, ctx, number, history)
    assert_view_decides_as_plain_fold(ledger, ctx.account_id, number)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history=histories)
def test_decision_from_rebuilt_view_equals_decision_from_plain_fold(ledger, history):
    """On PostgreSQL the rebuild folds the notes in SQL
    (`projections/sql_fold.py`); on SQLite, in Python."""
    settings_, _ = ledger.open_account("Prop")
    ctx = ledger.context(settings_["account_id"])
    number = next(NUMBERS)
    play(ledger, ctx, number, history)
    ledger.rebuild_views()
    assert_view_decides_as_plain_fold(ledger, ctx.account_id, number)
