"""The inbox's reads: each user sees, and acts on, only what reached them."""

from __future__ import annotations

import pytest

from smsledger.domain.errors import Forbidden, NotFound
from smsledger.ledger.application import AccountContext, Ledger
from tests.delivery.conftest import JANE, NUMBER, STRANGER
from tests.delivery.twilio_standin import SID, TOKEN


@pytest.fixture
def team(ledger: Ledger, account: AccountContext) -> AccountContext:
    """Ann texted Jane Roe (owned by Cat); Jane's SM1 went to Ann."""
    ledger.put_number(account, NUMBER, "desk@acme.test")
    for user_id, name in (("ann", "Ann Lee"), ("bob", "Bob Marsh"), ("cat", "Cat")):
        ledger.put_user(account, user_id, f"{user_id}@acme.test", name)
    ledger.put_user(account, "dan", "dan@acme.test", "Dan Old", active=False)
    ledger.put_contact(account, "c1", [JANE], "Jane Roe", "cat")
    ledger.record_interaction(
        account,
        "sms",
        contact_id="c1",
        to=JANE,
        from_number=NUMBER,
        user_id="ann",
        body="See you?",
    )
    ledger.route_inbound_sms(account, JANE, NUMBER, "Tuesday works", "SM1")
    return account


def test_inbox_lists_what_was_routed_or_handed_to_the_user(
    ledger: Ledger, team: AccountContext
) -> None:
    ledger.route_inbound_sms(team, STRANGER, NUMBER, "Who is this?", "SM2")
    ledger.hand_off(team, "SM2", to_user_id="ann", by_user_id="bob", note="Yours?")

    page = ledger.inbox(team, "ann")

    assert [i.message_id for i in page.items] == ["SM2", "SM1"]
    handed, routed = page.items
    assert (handed.handed_by, handed.handed_by_name, handed.note) == (
        "bob",
        "Bob Marsh",
        "Yours?",
    )
    assert routed.contact_names == ["Jane Roe"]
    assert routed.handed_by is None
    assert routed.holder
    assert page.unread == 2
    assert all(i.unread for i in page.items)
    assert ledger.inbox(team, "bob").items == []


def test_inbox_pages_and_marks_read(ledger: Ledger, team: AccountContext) -> None:
    for n in range(3):
        ledger.route_inbound_sms(team, JANE, NUMBER, f"more {n}", f"SM{n + 2}")
    first = ledger.inbox(team, "ann", limit=2)
    rest = ledger.inbox(team, "ann", before=first.next_before, limit=2)
    assert [i.message_id for i in first.items + rest.items] == [
        "SM4",
        "SM3",
        "SM2",
        "SM1",
    ]
    assert rest.next_before is None

    ledger.mark_read(team, "ann", "SM1")
    ledger.mark_read(team, "ann", "SM1")

    assert ledger.unread_count(team, "ann") == 3
    assert not ledger.inbox(team, "ann").items[-1].unread


def test_a_message_handed_back_is_unread_again(
    ledger: Ledger, team: AccountContext
) -> None:
    ledger.mark_read(team, "ann", "SM1")
    ledger.hand_off(team, "SM1", to_user_id="bob", by_user_id="ann")
    ledger.hand_off(team, "SM1", to_user_id="ann", by_user_id="bob")
    (item,) = ledger.inbox(team, "ann").items
    assert item.unread
    assert item.handed_by == "bob"
    assert item.holder


def test_conversation_shows_the_card_the_thread_and_why(
    ledger: Ledger, team: AccountContext
) -> None:
    ledger.change_account(
        team.account_id, twilio_account_sid=SID, twilio_auth_token=TOKEN
    )
    ledger.hand_off(team, "SM1", to_user_id="bob", by_user_id="ann", note="Bob's")
    ledger.reply(team, "SM1", user_id="bob", body="Booked")

    seen = ledger.conversation(team, "bob", "SM1")

    (card,) = seen.contacts
    assert (card.name, card.phones, card.owner_name) == ("Jane Roe", [JANE], "Cat")
    assert [e.kind for e in seen.thread] == ["sms", "inbound", "handoff", "reply"]
    assert [e.text for e in seen.thread] == [
        "See you?",
        "Tuesday works",
        "Bob's",
        "Booked",
    ]
    assert seen.thread[1].current
    assert seen.thread[3].status == "queued"
    assert seen.holder_user_id == "bob"
    assert seen.can_reply
    assert seen.explanation == 'Ann Lee handed it to you with the note "Bob\'s".'
    assert ledger.conversation(team, "ann", "SM1").explanation.startswith(
        "Routed to ann@acme.test"
    )


def test_a_user_cannot_read_or_act_on_another_users_message(
    ledger: Ledger, team: AccountContext
) -> None:
    with pytest.raises(NotFound):
        ledger.conversation(team, "bob", "SM1")
    with pytest.raises(NotFound):
        ledger.mark_read(team, "bob", "SM1")
    with pytest.raises(NotFound):
        ledger.hand_off(team, "SM1", to_user_id="bob", by_user_id="bob", as_user="bob")
    with pytest.raises(NotFound):
        ledger.reply(team, "SM1", user_id="bob", body="Mine now", as_user="bob")
    with pytest.raises(NotFound):
        ledger.replies(team, "SM1", as_user="bob")
    assert "handoffs" not in ledger.get_decision(team, "SM1")


def test_once_handed_on_a_message_can_be_read_but_not_acted_on(
    ledger: Ledger, team: AccountContext
) -> None:
    ledger.hand_off(team, "SM1", to_user_id="bob", by_user_id="ann", as_user="ann")
    assert ledger.conversation(team, "ann", "SM1").holder_user_id == "bob"
    with pytest.raises(Forbidden):
        ledger.hand_off(team, "SM1", to_user_id="cat", by_user_id="ann", as_user="ann")
    with pytest.raises(Forbidden):
        ledger.reply(team, "SM1", user_id="ann", body="Still me", as_user="ann")


def test_colleagues_are_the_other_active_users_by_name(
    ledger: Ledger, team: AccountContext
) -> None:
    everyone = ledger.colleagues(team, "ann")
    assert [c.user_id for c in everyone] == ["bob", "cat"]
    assert [c.user_id for c in ledger.colleagues(team, "ann", "MARSH")] == ["bob"]
    assert ledger.colleagues(team, "ann", "dan") == []


def test_a_retried_handoff_answers_once_it_is_no_longer_the_users(
    ledger: Ledger, team: AccountContext
) -> None:
    first = ledger.hand_off(team, "SM1", to_user_id="bob", by_user_id="ann",
                            handoff_id="h1", as_user="ann")  # fmt: skip
    again = ledger.hand_off(team, "SM1", to_user_id="bob", by_user_id="ann",
                            handoff_id="h1", as_user="ann")  # fmt: skip
    assert again.value == first.value
    assert not again.created


def test_an_unknown_senders_conversation_is_its_message_and_what_followed(
    ledger: Ledger, team: AccountContext
) -> None:
    ledger.change_account(team.account_id, twilio_account_sid=SID,
                          twilio_auth_token=TOKEN)  # fmt: skip
    ledger.route_inbound_sms(team, STRANGER, NUMBER, "Who is this?", "SM2")
    ledger.hand_off(team, "SM2", to_user_id="bob", note="Yours?")
    ledger.reply(team, "SM2", user_id="bob", body="Bob at Acme")

    seen = ledger.conversation(team, "bob", "SM2")

    assert seen.contacts == []
    assert [(e.kind, e.text) for e in seen.thread] == [
        ("inbound", "Who is this?"),
        ("handoff", "Yours?"),
        ("reply", "Bob at Acme"),
    ]
    assert seen.thread[0].current
    assert seen.explanation == 'A colleague handed it to you with the note "Yours?".'
