"""The console's lists and the inbox's reads never scan: each is answered by
its own index, so a page stays fast however many decisions the ledger holds."""

import pytest

from smsledger.ledger.application import Ledger
from smsledger.projections.decision_filter import DecisionFilter
from smsledger.projections.gauges import ViewGauges
from smsledger.projections.inbox import InboxView
from tests.conftest import small_pool
from tests.integration.generate import generate, phone

SENDER = phone(5)
FILTERS = [
    (DecisionFilter(), "decisions_by_position"),
    (DecisionFilter(rule="number_not_configured"), "decisions_by_rule"),
    (DecisionFilter(status="held"), "decisions_by_rule"),
    (DecisionFilter(recipient="u3@example.org"), "decisions_by_recipient"),
    (DecisionFilter(delivery="failed"), "decisions_by_delivery"),
    (DecisionFilter(sender=SENDER), "decisions_by_sender"),
    (
        DecisionFilter(since="2026-01-02T00:00:00", until="2026-01-02T00:10:00"),
        "decisions_by_received",
    ),
]
IDS = ["none", "rule", "held", "recipient", "delivery", "sender", "time"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def history(request, tmp_path_factory):
    """One generated ledger per backend, shared by the module's plans."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('plans')}/ledger.db"
    else:
        url = small_pool(request.getfixturevalue("module_postgres_url"))
    ledger = Ledger(url)
    settings, _ = ledger.open_account("Acme")
    ctx = ledger.context(settings["account_id"])
    message_ids = generate(ledger, ctx, interactions=3000, inbound=300)
    # Most mail is sent: the ones waiting are the few a page looks for.
    for message_id in message_ids[:-10]:
        ledger.record_delivered(ctx.account_id, message_id, f"<{message_id}@test>")
    with ledger.view.datastore.transaction(commit=True) as curs:
        ledger.view.analyze_version(curs, ledger.view.live_version(curs))
    yield ledger, ctx
    ledger.close()


def plan(ledger, statement, params):
    """The plan's lines, with the view's version in the table names."""
    view = ledger.view
    with view.snapshot() as tx:
        sql = view.sql(statement, tx.version)
        if "postgres" in type(view).__name__.lower():
            # A small table is cheapest to scan; forbid it, so that the plan
            # shows which index answers at scale.
            tx.curs.execute("SET LOCAL enable_seqscan = off")
            tx.curs.execute("EXPLAIN " + sql, params)
            return [row["QUERY PLAN"] for row in tx.curs.fetchall()]
        tx.curs.execute("EXPLAIN QUERY PLAN " + sql, params)
        return [row["detail"] for row in tx.curs.fetchall()]


def assert_indexed(lines, index):
    text = "\n".join(lines)
    assert "Seq Scan" not in text, text
    assert not [s for s in lines if s.startswith("SCAN ")], text
    assert index in text, text


@pytest.mark.parametrize(("only", "index"), FILTERS, ids=IDS)
@pytest.mark.parametrize("paged", [False, True], ids=["first", "later"])
def test_decision_filters_use_their_index(history, only, index, paged):
    ledger, ctx = history
    before = (10_000_000, "SM") if paged else None
    statement, params = ledger.browse.decisions_query(ctx.account_id, only, before, 50)

    assert_indexed(plan(ledger, statement, params), index)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({"phone": SENDER}, "contact_phones"),
        ({"name_prefix": "contact 27"}, "contacts_by_name"),
        ({"owner_user_id": "u1"}, "contacts_by_owner"),
        ({}, "contacts"),
    ],
    ids=["phone", "name", "owner", "none"],
)
def test_contact_filters_use_their_index(history, query, index):
    ledger, ctx = history
    statement, params = ledger.browse.contacts_query(
        ctx.account_id,
        **{"phone": None, "name_prefix": None, "owner_user_id": None, **query},
        after="c1",
        limit=50,
    )

    assert_indexed(plan(ledger, statement, params), index)


def test_mail_queue_and_lists_use_indexes(history):
    ledger, ctx = history
    browse = ledger.browse
    account = ctx.account_id
    statements = [
        (browse.count_mail, (account, "pending"), "decisions_by_delivery"),
        (browse.select_oldest_mail, (account, account), "decisions_by_delivery"),
        (browse.select_mail_errors, (account, "failed", 5), "decisions_by_delivery"),
        (*browse.users_query(account, True, "u1", 50), "users"),
        (browse.SELECT_NUMBERS, (account, "", 50), "numbers_by_account"),
    ]
    for statement, params, index in statements:
        assert_indexed(plan(ledger, statement, params), index)


def test_inbox_reads_use_indexes(history):
    """The inbox's reads, as many as a page makes, each by an index."""
    ledger, ctx = history
    inbox, account = InboxView, ctx.account_id
    gauges = ViewGauges
    statements = [
        (inbox.SELECT_INBOX, (account, "u1", 10**15, 50), "inbox"),
        (inbox.COUNT_UNREAD, (account, "u1"), "inbox"),
        (inbox.SELECT_REACHED, (account, "u1", "SM1"), "inbox"),
        (inbox.SELECT_THREAD, (account, "c1"), "thread"),
        (inbox.SELECT_REPLIES, (account, "SM1"), "dispatches"),
        (inbox.SELECT_HOLDER, (account, "SM1"), "holders"),
        (inbox.SELECT_USERS_BY_EMAIL, ("u1@example.org", True), "users_by_email"),
    ]
    for statement, params, index in statements:
        assert_indexed(plan(ledger, statement, params), index)
    # What /metrics counts walks a partial index of the few rows waiting or
    # failed, never the table.
    for statement, index in [
        (gauges.COUNT_REPLIES_FAILED, "dispatches_failed"),
        (gauges.COUNT_HANDOFF_MAILS_PENDING, "handoff_mails_pending"),
        (gauges.OLDEST_QUEUED_REPLY, "dispatches_queued"),
    ]:
        text = "\n".join(plan(ledger, statement, ()))
        assert "Seq Scan" not in text, text
        assert index in text, text
