"""The fold of ledger events into routing facts, without a database."""

from datetime import UTC, datetime, timedelta

from smsledger.domain.contacts import Contact
from smsledger.domain.history import AccountHistory
from smsledger.domain.interactions import Interaction
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.routing import NoteFact, latest_per_actor
from smsledger.domain.users import User

ACCOUNT = "a1"
NUMBER = "+14155550100"
PHONE = "+14155550111"
DAY = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC)


def note(kind, interaction_id, occurred_at, user_id=None, reply=None):
    extra = {"reply": reply} if kind == "campaign_sms" else {"user_id": user_id}
    return Interaction.note(
        kind,
        ACCOUNT,
        interaction_id=interaction_id,
        contact_id="c1",
        to=PHONE,
        from_number=NUMBER,
        body=None,
        occurred_at=occurred_at,
        **extra,
    )


def fold(*aggregates):
    """The history after every event of `aggregates`, and the events' positions."""
    events = [e for aggregate in aggregates for e in aggregate.collect_events()]
    history = AccountHistory(ACCOUNT)
    history.apply_all((event, position) for position, event in enumerate(events, 1))
    return history, list(enumerate(events, 1))


def test_fold_keeps_each_actors_latest_note_per_channel_exactly():
    """Every field of a kept note survives the fold's compact form, and the
    notes kept are the ones routing would pick from all of them."""
    history, events = fold(
        InboundNumber(NUMBER, ACCOUNT, "desk@example.org", None),
        User(ACCOUNT, "ann", "ann@example.org", "Ann", True),
        User(ACCOUNT, "bob", "bob@example.org", None, True),
        Contact(ACCOUNT, "c1", "Jane Roe", [PHONE], "bob"),
        note("sms", "i-1", DAY, "ann"),
        note("sms", "i-ünï-2", DAY + timedelta(days=1), "ann"),
        note("sms", "i-3", DAY - timedelta(days=1), "ann"),  # older: not kept
        note("call", "i-4", DAY, "ann"),
        note("call", "i-5", DAY, "ann"),  # same moment, later position: kept
        note("call", "i-6", datetime(1970, 1, 2, tzinfo=UTC), "bob"),
        note("call", "i-0", datetime(1969, 7, 20, 20, 17, tzinfo=UTC), "bob"),
        note("campaign_sms", "i-7-ß", DAY, reply="campaigns@example.org"),
        note("campaign_sms", "i-8", DAY - timedelta(microseconds=1), reply="x@y.org"),
    )
    every_note = [
        NoteFact(
            interaction_id=e.interaction_id,
            kind=e.kind,
            contact_id=e.contact_id,
            user_id=getattr(e, "user_id", None),
            reply=getattr(e, "reply", None),
            occurred_at=e.occurred_at,
            position=position,
        )
        for position, e in events
        if isinstance(e, Interaction.Noted)
    ]

    facts = history.facts(NUMBER, PHONE)

    assert latest_per_actor(facts.notes) == latest_per_actor(every_note)
    assert {n.interaction_id for n in facts.notes} == {"i-ünï-2", "i-5", "i-6", "i-7-ß"}
    assert set(facts.users) == {"ann", "bob"}
