"""The decision function alone: facts in, decision out, no I/O."""

from datetime import UTC, datetime

import pytest

from smsledger.domain.errors import InvalidInput
from smsledger.domain.routing import (
    ContactFact,
    Facts,
    NoteFact,
    NumberFact,
    UserFact,
    decide,
    latest_per_actor,
    note_slot,
)

NUMBER = NumberFact("+14155550100", "desk@example.org")
JANE = ContactFact("c1", "Jane Roe", None, registered_position=1)
ANN = UserFact("ann", "ann@example.org", "Ann", active=True)
BOB = UserFact("bob", "bob@example.org", "Bob", active=True)


def note(kind, user_id, day, position, contact_id="c1", reply=None):
    return NoteFact(
        interaction_id=f"i{position}",
        kind=kind,
        contact_id=contact_id,
        user_id=user_id,
        reply=reply,
        occurred_at=datetime(2026, 11, day, 14, 3, tzinfo=UTC),
        position=position,
    )


def facts(*notes, contacts=(JANE,), users=(ANN, BOB)):
    return Facts(
        sender="+14155550111",
        number=NUMBER,
        contacts=contacts,
        notes=notes,
        users={u.user_id: u for u in users},
    )


def test_explanation_names_user_contact_and_time():
    decision = decide(facts(note("sms", "ann", 20, 1)), "sms_then_call")
    assert decision.explanation == (
        "Routed to ann@example.org: Ann sent the last SMS to Jane Roe "
        "on 2026-11-20 14:03 UTC."
    )


def test_evidence_is_the_deciding_note():
    decision = decide(
        facts(note("sms", "ann", 20, 1), note("sms", "bob", 21, 2)), "sms_then_call"
    )
    assert decision.evidence is not None
    assert decision.evidence["interaction_id"] == "i2"
    assert decision.recipient == {"email": "bob@example.org", "user_id": "bob"}


def test_policy_decides_between_older_sms_and_newer_call():
    history = facts(note("sms", "ann", 19, 1), note("call", "bob", 25, 2))
    assert decide(history, "sms_then_call").rule == "previous_sms"
    assert decide(history, "most_recent_interaction").rule == "previous_call"


def test_tie_on_time_goes_to_later_position():
    decision = decide(
        facts(note("sms", "bob", 20, 7), note("sms", "ann", 20, 3)), "sms_then_call"
    )
    assert decision.recipient == {"email": "bob@example.org", "user_id": "bob"}


def test_inactive_sender_is_listed_once_per_user():
    inactive_bob = UserFact("bob", "bob@example.org", "Bob", active=False)
    history = facts(
        note("sms", "ann", 10, 1),
        note("sms", "bob", 11, 2),
        note("sms", "bob", 12, 3),
        users=(ANN, inactive_bob),
    )
    decision = decide(history, "sms_then_call")
    assert decision.recipient == {"email": "ann@example.org", "user_id": "ann"}
    assert decision.skipped == [
        {"interaction_id": "i3", "user_id": "bob", "reason": "user_inactive"}
    ]
    assert "bob skipped: inactive" in decision.explanation


def test_campaign_reply_goes_to_reply_address_without_a_user():
    campaign = note("campaign_sms", None, 20, 1, reply="sales@example.org")
    decision = decide(facts(campaign), "sms_then_call")
    assert decision.rule == "campaign_reply"
    assert decision.recipient == {"email": "sales@example.org"}


def test_no_number_holds_the_message():
    decision = decide(Facts(sender="+14155550111", number=None), "sms_then_call")
    assert (decision.status, decision.rule, decision.recipient) == (
        "held",
        "number_not_configured",
        None,
    )


def test_owner_of_earliest_registered_contact_with_active_owner():
    first = ContactFact("z-first", None, "ann", registered_position=1)
    second = ContactFact("a-second", None, "bob", registered_position=2)
    decision = decide(facts(contacts=(second, first)), "sms_then_call")
    assert decision.rule == "contact_owner"
    assert decision.recipient == {"email": "ann@example.org", "user_id": "ann"}
    assert decision.contact_ids == ["a-second", "z-first"]


def test_latest_per_actor_keeps_one_note_per_user_and_channel():
    notes = [
        note("sms", "ann", 1, 1),
        note("sms", "ann", 3, 2),
        note("call", "ann", 2, 3),
    ]
    kept = latest_per_actor(notes)
    assert [(n.channel, n.position) for n in kept] == [("sms", 2), ("call", 3)]


def test_an_unknown_policy_is_an_error_not_a_default():
    facts = Facts(sender="+14155550111", number=None)
    with pytest.raises(InvalidInput) as raised:
        decide(facts, "round_robin")  # type: ignore[arg-type]
    assert raised.value.field == "routing_policy"


@pytest.mark.parametrize(
    ("kind", "channel"), [("sms", "sms"), ("campaign_sms", "sms"), ("call", "call")]
)
def test_each_note_kind_is_kept_on_its_channel(kind, channel):
    assert note_slot(kind, "ann") == (channel, "ann")
    assert note_slot(kind, None) == (channel, "")
