"""Recorded decisions checked against the ledger: replay, verify, what-if."""

from datetime import UTC, datetime, timedelta

import pytest

from smsledger.domain.inbound import InboundSms
from smsledger.ledger import audit
from smsledger.ledger.application import Ledger
from tests.integration.generate import generate
from tests.integration.test_routing import JANE, NUMBER


def test_every_decision_of_a_generated_history_replays_consistent(ledger, account):
    message_ids = generate(ledger, account, interactions=10_000, inbound=2_000)
    stats = audit.StreamStats()

    report = audit.verify(ledger, stats=stats)

    assert report.checked == len(message_ids) == 2_000
    assert report.inconsistent == []
    assert stats.events == ledger.head()
    for message_id in message_ids[::250]:
        assert ledger.replay_decision(account, message_id)["consistent"]


def test_replay_reads_only_the_events_it_needs(ledger, account):
    message_ids = generate(ledger, account, interactions=2_000, inbound=100)
    read: list[int] = []
    events_at = ledger.events_at

    def counting(positions):
        read.extend(positions)
        return events_at(positions)

    ledger.events_at = counting
    result = ledger.replay_decision(account, message_ids[-1])

    assert result["consistent"]
    assert 0 < len(read) < ledger.head() / 20


def setup_team(ledger, ctx):
    ledger.put_number(ctx, NUMBER, "frontdesk@example.org")
    for user_id in ("ann", "bob", "cat"):
        ledger.put_user(ctx, user_id, f"{user_id}@example.org")
    ledger.put_contact(ctx, "c1", [JANE], owner_user_id="cat")


def note(ledger, ctx, kind, user_id, day, contact_id="c1"):
    return ledger.record_interaction(
        ctx, kind, contact_id=contact_id, to=JANE, from_number=NUMBER,
        user_id=user_id, occurred_at=datetime(2026, 11, day, tzinfo=UTC),
    ).value  # fmt: skip


def test_decision_made_while_writes_landed_replays_from_the_state_it_saw(
    ledger, account
):
    setup_team(ledger, account)
    note(ledger, account, "sms", "ann", 1)
    inbound = InboundSms(
        account.account_id, "SM-race", JANE, NUMBER, "hi", datetime.now(UTC)
    )
    # Decided from the view as it is now...
    ledger.view.run_reads(ledger._decide(account, inbound))
    note(ledger, account, "sms", "bob", 2)  # ...then a write lands first
    ledger.save(inbound)
    stats = audit.StreamStats()

    report = audit.verify(ledger, stats=stats)

    assert ledger.get_decision(account, "SM-race")["recipient"]["user_id"] == "ann"
    assert (report.checked, report.inconsistent, stats.by_index) == (1, [], 1)
    assert ledger.replay_decision(account, "SM-race")["consistent"]


def test_tampered_view_is_reported_by_verify_and_repaired_by_rebuild(
    ledger: Ledger, account
):
    setup_team(ledger, account)
    note(ledger, account, "sms", "ann", 1)
    ledger.route_inbound_sms(account, JANE, NUMBER, "hi", message_id="SM-before")
    with ledger.view.snapshot() as tx:
        version = tx.version
    with ledger.view.datastore.transaction(commit=True) as curs:
        statement = "UPDATE {users} SET active = %s WHERE user_id = %s"
        curs.execute(ledger.view.sql(statement, version), (False, "ann"))
    ledger.route_inbound_sms(account, JANE, NUMBER, "hi", message_id="SM-tampered")

    report = audit.verify(ledger)
    replay = ledger.replay_decision(account, "SM-tampered")

    assert report.inconsistent == ["SM-tampered"]
    assert not replay["consistent"]
    assert replay["recorded"]["recipient"]["email"] == "cat@example.org"
    assert replay["replayed"]["recipient"]["email"] == "ann@example.org"

    ledger.rebuild_views()
    repaired = ledger.route_inbound_sms(
        account, JANE, NUMBER, "hi", message_id="SM-after"
    ).value
    assert repaired["recipient"]["email"] == "ann@example.org"
    assert audit.verify(ledger).inconsistent == ["SM-tampered"]


def test_what_if_reports_exactly_the_decisions_a_newer_call_would_take(ledger, account):
    setup_team(ledger, account)
    for c in range(6):
        ledger.put_contact(account, f"k{c}", [f"+1415555{7000 + c}"])
    changed = set()
    for c in range(6):
        phone = f"+1415555{7000 + c}"
        ledger.record_interaction(
            account, "sms", contact_id=f"k{c}", to=phone, from_number=NUMBER,
            user_id="ann", occurred_at=datetime(2026, 11, 5, tzinfo=UTC),
        )  # fmt: skip
        if c % 2 == 0:  # a call more recent than the SMS
            ledger.record_interaction(
                account, "call", contact_id=f"k{c}", to=phone, from_number=NUMBER,
                user_id="bob",
                occurred_at=datetime(2026, 11, 5, tzinfo=UTC) + timedelta(hours=1),
            )  # fmt: skip
            changed.add(f"SM{c}")
        ledger.route_inbound_sms(account, phone, NUMBER, "hi", message_id=f"SM{c}")

    report = audit.what_if(ledger, "most_recent_interaction")

    assert report.checked == 6
    assert {row["message_id"] for row in report.changed} == changed
    assert report.changes == {"previous_sms -> previous_call": 3}
    assert all(row["what_if_recipient"] == "bob@example.org" for row in report.changed)


def _same(report):
    return report.checked, report.changes, report.changed


@pytest.mark.parametrize("policy", ["sms_then_call", "most_recent_interaction"])
@pytest.mark.parametrize("replay_cost", [0, 10**9], ids=["folded", "replayed"])
def test_an_accounts_what_if_answers_as_the_pass_over_the_whole_ledger(
    ledger, account, policy, replay_cost, monkeypatch
):
    monkeypatch.setattr(audit, "REPLAY_COST", replay_cost)
    other = ledger.context(ledger.open_account("Other")[0]["account_id"])
    generate(ledger, other, interactions=1_500, inbound=60, seed=11)
    generate(ledger, account, interactions=1_500, inbound=60, seed=3)
    # A message held for an unconfigured number, routed once it is configured:
    # two decisions of one message, both checked.
    ledger.route_inbound_sms(account, JANE, "+14155550199", "hi", message_id="SMh")
    ledger.put_number(account, "+14155550199", "held@example.org")
    for i in range(20):  # and the other account goes on writing
        ledger.put_user(other, f"late{i}", f"late{i}@example.org")

    mine = audit.account_what_if(ledger, policy, account.account_id)
    streamed = audit.what_if(ledger, policy, account_id=account.account_id)

    assert mine.checked == 62
    assert _same(mine) == _same(streamed)
    since = (
        streamed.changed[len(streamed.changed) // 2]["position"]
        if streamed.changed
        else 0
    )
    assert _same(audit.account_what_if(ledger, policy, account.account_id, since)) == (
        _same(audit.what_if(ledger, policy, account_id=account.account_id, since=since))
    )


def test_an_accounts_what_if_reads_none_of_another_accounts_events(ledger, account):
    setup_team(ledger, account)
    note(ledger, account, "sms", "ann", 1)
    note(ledger, account, "call", "bob", 2)
    # Another account with the same ids, Jane's phone, and later notes by cat:
    # were any of them folded in, cat would be the one chosen.
    other = ledger.context(ledger.open_account("Other")[0]["account_id"])
    start = ledger.head()
    ledger.put_number(other, "+14155550177", "other@example.org")
    for user_id in ("ann", "bob", "cat"):
        ledger.put_user(other, user_id, f"{user_id}@other.example.org")
    ledger.put_contact(other, "c1", [JANE], owner_user_id="ann")
    for day in range(3, 23):
        note(ledger, other, "call", "cat", day)
        ledger.route_inbound_sms(
            other, JANE, "+14155550177", "hi", message_id=f"SM{day}"
        )
    theirs = range(start + 1, ledger.head() + 1)
    ledger.route_inbound_sms(account, JANE, NUMBER, "hi", message_id="SM-mine")
    read: list[int] = []
    events_at = ledger.events_at

    def counting(positions):
        read.extend(positions)
        return events_at(positions)

    def refuse(*args, **kwargs):
        raise AssertionError("the whole ledger was read")

    ledger.events_at = counting
    ledger.recorder.select_notifications = refuse

    report = audit.account_what_if(
        ledger, "most_recent_interaction", account.account_id
    )

    assert report.checked == 1
    assert [
        (c["recorded_recipient"], c["what_if_recipient"]) for c in report.changed
    ] == [("ann@example.org", "bob@example.org")]
    assert read
    assert not set(read) & set(theirs)
