"""Routing behaviours of ROUTING.md through the ledger, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest

from smsledger.domain.errors import Conflict, InvalidInput
from smsledger.ledger.application import AccountContext, Ledger

NUMBER = "+14155550100"
JANE = "+14155550111"
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture
def team(ledger: Ledger, account: AccountContext) -> AccountContext:
    ledger.put_number(account, NUMBER, "frontdesk@example.org")
    for user_id in ("ann", "bob", "cat", "dan"):
        ledger.put_user(account, user_id, f"{user_id}@example.org", user_id.title())
    return account


def sms(ledger, ctx, user_id, days_ago, contact_id="c1", to=JANE, **kw):
    return ledger.record_interaction(
        ctx,
        "sms",
        contact_id=contact_id,
        to=to,
        from_number=NUMBER,
        user_id=user_id,
        occurred_at=NOW - timedelta(days=days_ago),
        **kw,
    )


def call(ledger, ctx, user_id, days_ago, contact_id="c1"):
    return ledger.record_interaction(
        ctx,
        "call",
        contact_id=contact_id,
        to=JANE,
        from_number=NUMBER,
        user_id=user_id,
        occurred_at=NOW - timedelta(days=days_ago),
    )


def route(ledger, ctx, sender=JANE, to=NUMBER, **kw):
    return ledger.route_inbound_sms(ctx, sender, to, "Yes, Tuesday works", **kw).value


def recipient(decision):
    return decision["recipient"]["email"] if decision["recipient"] else None


def test_reply_goes_to_user_who_sent_last_sms(ledger, team):
    ledger.put_contact(team, "c1", [JANE], "Jane Roe", owner_user_id="dan")
    sms(ledger, team, "ann", 3)
    decision = route(ledger, team)
    assert (decision["rule"], recipient(decision)) == (
        "previous_sms",
        "ann@example.org",
    )
    assert decision["evidence"]["user_id"] == "ann"
    assert decision["explanation"].startswith("Routed to ann@example.org: Ann sent")


def test_sms_from_contact_never_texted_goes_to_last_caller(ledger, team):
    ledger.put_contact(team, "c1", [JANE], owner_user_id="dan")
    call(ledger, team, "cat", 1)
    assert recipient(route(ledger, team)) == "cat@example.org"


def test_sms_from_contact_never_texted_or_called_goes_to_owner(ledger, team):
    ledger.put_contact(team, "c1", [JANE], owner_user_id="dan")
    decision = route(ledger, team)
    assert (decision["rule"], recipient(decision)) == (
        "contact_owner",
        "dan@example.org",
    )


def test_sms_from_unknown_sender_goes_to_backup_email(ledger, team):
    decision = route(ledger, team, sender="+14155550199")
    assert decision["rule"] == "unknown_sender"
    assert decision["recipient"] == {"email": "frontdesk@example.org"}
    assert decision["contact_ids"] == []


def test_reply_to_campaign_sms_goes_to_its_reply_address(ledger, team):
    ledger.put_contact(team, "c1", [JANE], owner_user_id="dan")
    ledger.record_interaction(
        team,
        "campaign_sms",
        contact_id="c1",
        to=JANE,
        from_number=NUMBER,
        reply="sales@example.org",
        occurred_at=NOW,
    )
    decision = route(ledger, team)
    assert (decision["rule"], recipient(decision)) == (
        "campaign_reply",
        "sales@example.org",
    )


def test_older_sms_and_newer_call_go_to_different_users_by_policy(ledger, team):
    ledger.put_contact(team, "c1", [JANE])
    sms(ledger, team, "ann", 7)
    call(ledger, team, "cat", 1)
    assert recipient(route(ledger, team, message_id="m1")) == "ann@example.org"
    ledger.change_account(team.account_id, routing_policy="most_recent_interaction")
    other = ledger.context(team.account_id)
    decision = route(ledger, other, message_id="m2")
    assert (decision["rule"], recipient(decision)) == (
        "previous_call",
        "cat@example.org",
    )
    assert decision["policy"] == "most_recent_interaction"


def test_backfilled_older_sms_never_displaces_newer_one(ledger, team):
    ledger.put_contact(team, "c1", [JANE])
    sms(ledger, team, "bob", 1)
    sms(ledger, team, "ann", 9)
    assert recipient(route(ledger, team)) == "bob@example.org"


def test_equal_times_go_to_later_ledger_position(ledger, team):
    ledger.put_contact(team, "c1", [JANE])
    sms(ledger, team, "ann", 2)
    sms(ledger, team, "bob", 2)
    assert recipient(route(ledger, team)) == "bob@example.org"


def test_inactive_sender_is_skipped_and_listed(ledger, team):
    ledger.put_contact(team, "c1", [JANE])
    sms(ledger, team, "ann", 5)
    bob_note = sms(ledger, team, "bob", 1).value
    ledger.put_user(team, "bob", "bob@example.org", "Bob", active=False)
    decision = route(ledger, team)
    assert recipient(decision) == "ann@example.org"
    assert decision["skipped"] == [
        {
            "interaction_id": bob_note["interaction_id"],
            "user_id": "bob",
            "reason": "user_inactive",
        }
    ]


def test_inactive_owner_is_skipped_for_backup_email(ledger, team):
    ledger.put_contact(team, "c1", [JANE], owner_user_id="dan")
    ledger.put_user(team, "dan", "dan@example.org", active=False)
    decision = route(ledger, team)
    assert (decision["rule"], recipient(decision)) == (
        "no_owner",
        "frontdesk@example.org",
    )
    assert decision["skipped"] == [
        {"contact_id": "c1", "user_id": "dan", "reason": "owner_inactive"}
    ]


def test_reactivated_user_is_chosen_again(ledger, team):
    ledger.put_contact(team, "c1", [JANE])
    sms(ledger, team, "bob", 1)
    ledger.put_user(team, "bob", "bob@example.org", active=False)
    ledger.put_user(team, "bob", "bob@example.org", active=True)
    assert recipient(route(ledger, team)) == "bob@example.org"


def test_contacts_sharing_a_phone_are_all_matched(ledger, team):
    ledger.put_contact(team, "mom", [JANE], owner_user_id="ann")
    ledger.put_contact(team, "dad", [JANE], owner_user_id="bob")
    sms(ledger, team, "cat", 3, contact_id="dad")
    decision = route(ledger, team)
    assert decision["contact_ids"] == ["dad", "mom"]
    assert recipient(decision) == "cat@example.org"


def test_phone_removed_from_contact_no_longer_matches(ledger, team):
    ledger.put_contact(team, "c1", [JANE, "+14155550122"], owner_user_id="dan")
    ledger.put_contact(team, "c1", ["+14155550122"], owner_user_id="dan")
    assert route(ledger, team)["rule"] == "unknown_sender"


def test_national_format_numbers_match_e164(ledger, team):
    ledger.put_contact(team, "c1", ["(415) 555-0111"], owner_user_id="dan")
    ledger.record_interaction(
        team,
        "sms",
        contact_id="c1",
        to="415-555-0111",
        from_number="415 555 0100",
        user_id="ann",
        occurred_at=NOW,
    )
    decision = route(ledger, team, sender="4155550111", to="(415) 555-0100")
    assert (decision["from"], decision["to"]) == (JANE, NUMBER)
    assert recipient(decision) == "ann@example.org"


def test_non_phone_sender_is_recorded_as_unknown(ledger, team):
    decision = route(ledger, team, sender="ACME-ALERTS")
    assert decision["from"] == "ACME-ALERTS"
    assert decision["rule"] == "unknown_sender"


def test_message_to_unconfigured_number_is_held_then_routed(ledger, team):
    ledger.put_contact(team, "c1", [JANE], owner_user_id="dan")
    held = route(ledger, team, to="+14155550177", message_id="SM1")
    assert (held["status"], held["rule"], held["recipient"]) == (
        "held",
        "number_not_configured",
        None,
    )
    ledger.put_number(team, "+14155550177", "second@example.org")
    released = ledger.get_decision(team, "SM1")
    assert (released["status"], released["rule"]) == ("routed", "contact_owner")
    assert released["received_at"] == held["received_at"]


def test_repeated_message_id_returns_first_decision(ledger, team):
    ledger.put_contact(team, "c1", [JANE], owner_user_id="dan")
    first = ledger.route_inbound_sms(team, JANE, NUMBER, "hi", message_id="SM9")
    sms(ledger, team, "ann", 0)
    again = ledger.route_inbound_sms(team, JANE, NUMBER, "hi", message_id="SM9")
    assert (first.created, again.created) == (True, False)
    assert again.value == first.value
    assert len(ledger.list_decisions(team)) == 1


def test_interaction_retry_with_same_content_is_a_no_op(ledger, team):
    ledger.put_contact(team, "c1", [JANE])
    first = sms(ledger, team, "ann", 1, interaction_id="i-1")
    again = sms(ledger, team, "ann", 1, interaction_id="i-1")
    assert (first.created, again.created) == (True, False)
    assert again.value == first.value


def test_interaction_id_reused_with_other_content_conflicts(ledger, team):
    ledger.put_contact(team, "c1", [JANE])
    sms(ledger, team, "ann", 1, interaction_id="i-1")
    head = ledger.head()
    with pytest.raises(Conflict):
        sms(ledger, team, "bob", 1, interaction_id="i-1")
    assert ledger.head() == head


def test_interaction_by_unknown_user_is_rejected(ledger, team):
    ledger.put_contact(team, "c1", [JANE])
    with pytest.raises(InvalidInput) as error:
        sms(ledger, team, "zed", 1)
    assert error.value.field == "user_id"


def test_same_phone_in_two_accounts_matches_only_own_contacts(ledger, team):
    settings, _ = ledger.open_account("Other")
    other = ledger.context(settings["account_id"])
    ledger.put_user(other, "ann", "ann@other.org")
    ledger.put_contact(other, "c1", [JANE], owner_user_id="ann")
    ledger.put_number(other, "+14155550188", "desk@other.org")
    decision = route(ledger, team)
    assert decision["rule"] == "unknown_sender"
    assert recipient(decision) == "frontdesk@example.org"


def test_number_held_by_one_account_cannot_be_configured_by_another(ledger, team):
    settings, _ = ledger.open_account("Other")
    other = ledger.context(settings["account_id"])
    with pytest.raises(Conflict):
        ledger.put_number(other, NUMBER, "desk@other.org")
    held = route(ledger, other, message_id="SM-other")
    assert held["status"] == "held"


def test_released_number_can_be_configured_by_another_account(ledger, team):
    settings, _ = ledger.open_account("Other")
    other = ledger.context(settings["account_id"])
    ledger.delete_number(team, NUMBER)
    assert ledger.put_number(other, NUMBER, "desk@other.org").created
    assert route(ledger, team)["status"] == "held"


def test_decision_sees_writes_acknowledged_before_it(ledger, team):
    ledger.put_contact(team, "c1", [JANE], owner_user_id="dan")
    for i, user_id in enumerate(["ann", "bob", "cat", "ann", "bob"]):
        note = sms(ledger, team, user_id, 0, interaction_id=f"i{i}").value
        decision = route(ledger, team, message_id=f"m{i}")
        assert recipient(decision) == f"{user_id}@example.org"
        assert decision["position"] == note["position"]
