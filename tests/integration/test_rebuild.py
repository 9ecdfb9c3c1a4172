"""The routing view rebuilt from the ledger alone answers exactly as before."""

import sys
from datetime import UTC, datetime, timedelta

import pytest

from smsledger.ledger.application import Ledger
from smsledger.projections.postgres_view import PostgresRoutingView
from smsledger.projections.rebuild import SWITCH_INTERVAL
from smsledger.projections.tables import names
from tests.integration.test_routing import JANE, NUMBER

PHONES = [JANE, "+14155550122", "+14155550133", "+14155550144"]


def build_history(ledger: Ledger, ctx) -> None:
    ledger.put_number(ctx, NUMBER, "frontdesk@example.org")
    for user_id in ("ann", "bob", "cat"):
        ledger.put_user(ctx, user_id, f"{user_id}@example.org")
    ledger.put_contact(ctx, "c1", PHONES[:2], owner_user_id="cat")
    ledger.put_contact(ctx, "c2", PHONES[1:3], owner_user_id="bob")
    ledger.put_contact(ctx, "c3", PHONES[3:], owner_user_id="ann")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i, (kind, user_id, contact_id) in enumerate(
        [
            ("sms", "ann", "c1"),
            ("call", "bob", "c2"),
            ("sms", "bob", "c1"),
            ("call", "cat", "c3"),
            ("sms", "ann", "c2"),
        ]
    ):
        ledger.record_interaction(
            ctx,
            kind,
            contact_id=contact_id,
            to=PHONES[0],
            from_number=NUMBER,
            user_id=user_id,
            occurred_at=start + timedelta(hours=i),
        )
    ledger.put_user(ctx, "bob", "bob@example.org", active=False)
    ledger.put_contact(ctx, "c3", PHONES[2:], owner_user_id="ann")


def answers(ledger: Ledger, ctx):
    """What routing reads for each phone: the facts, without the snapshot head."""
    return [
        ledger.view.gather_facts(ctx.account_id, NUMBER, phone)[0] for phone in PHONES
    ]


def test_rebuilt_view_gives_every_routing_answer_unchanged(ledger, account):
    build_history(ledger, account)
    before = answers(ledger, account)
    for phone in PHONES:
        ledger.route_inbound_sms(account, phone, NUMBER, "hi", message_id=phone)
    decisions = ledger.list_decisions(account)

    report = ledger.rebuild_views()

    assert report.new_version == report.old_version + 1
    assert report.position == ledger.head()
    assert answers(ledger, account) == before
    assert ledger.list_decisions(account) == decisions
    assert ledger.authenticate("wrong") is None
    assert ledger.context(account.account_id) == account


def test_rebuild_repairs_a_view_row_altered_by_hand(ledger, account):
    build_history(ledger, account)
    before = answers(ledger, account)
    with ledger.view.snapshot() as tx:
        version = tx.version
    with ledger.view.datastore.transaction(commit=True) as curs:
        curs.execute(
            ledger.view.sql("UPDATE {users} SET active = %s", version), (False,)
        )
    assert answers(ledger, account) != before

    ledger.rebuild_views()

    assert answers(ledger, account) == before


def test_writes_after_a_rebuild_land_in_the_new_version(ledger, account):
    build_history(ledger, account)
    ledger.rebuild_views()
    ledger.record_interaction(
        account,
        "sms",
        contact_id="c3",
        to=PHONES[2],
        from_number=NUMBER,
        user_id="cat",
        occurred_at=datetime(2026, 11, 30, tzinfo=UTC),
    )
    decision = ledger.route_inbound_sms(account, PHONES[2], NUMBER, "hi").value
    assert decision["recipient"]["email"] == "cat@example.org"


def statistics(view, curs, table: str, version: int) -> int:
    """How many of the planner's statistics a version's table has."""
    query = (
        "SELECT count(*) AS n FROM pg_stats WHERE tablename = %s"
        if isinstance(view, PostgresRoutingView)
        else "SELECT count(*) AS n FROM sqlite_stat1 WHERE tbl = %s"
    )
    curs.execute(view.sql(query, 0), (names(version)[table],))
    return int(curs.fetchone()["n"])


def test_rebuilt_tables_have_the_planners_statistics(ledger, account):
    """Filled in bulk, they would have none until autovacuum came by."""
    build_history(ledger, account)

    report = ledger.rebuild_views()

    with ledger.view.datastore.transaction(commit=False) as curs:
        for table in ("notes", "contact_phones", "users"):
            assert statistics(ledger.view, curs, table, report.new_version) > 0, table


def test_rebuilt_version_has_the_planners_statistics_when_it_goes_live(
    ledger, account, monkeypatch
):
    """So routing's first reads of it are planned with them."""
    build_history(ledger, account)
    view = ledger.view
    switch = view.set_live_version
    at_switch = {}

    def set_live_version(curs, version):
        at_switch[version] = statistics(view, curs, "notes", version)
        switch(curs, version)

    monkeypatch.setattr(view, "set_live_version", set_live_version)
    report = ledger.rebuild_views()

    assert at_switch[report.new_version] > 0


def test_rebuild_shortens_the_switch_interval_only_while_it_folds_pages(
    ledger, account
):
    build_history(ledger, account)
    before = sys.getswitchinterval()
    during = []

    ledger.rebuild_views(
        progress=lambda *_: during.append(sys.getswitchinterval()), page_size=5
    )

    assert sys.getswitchinterval() == before
    if isinstance(ledger.view, PostgresRoutingView):  # pages go to another thread
        assert min(during) == pytest.approx(SWITCH_INTERVAL)
