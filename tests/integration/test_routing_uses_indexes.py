"""Routing never scans: every query it runs is answered through an index."""

from contextlib import contextmanager

from smsledger.ledger.application import Ledger
from smsledger.projections.postgres_view import PostgresRoutingView
from tests.integration.test_rebuild import PHONES, build_history
from tests.integration.test_routing import NUMBER


def routing_queries(ledger: Ledger, account_id: str, version: int):
    view = ledger.view
    with_version = [
        (view.SELECT_NUMBER, (NUMBER,)),
        (view.SELECT_MATCHES, (account_id, PHONES[0])),
        (view.SELECT_DECISION, (account_id, "SM1")),
        (view.SELECT_ACCOUNT_BY_KEY, ("x" * 64,)),
        (view.SELECT_LIVE_KEY, ("x" * 64, account_id)),
        (view.SELECT_SECRET, (account_id, "twilio_auth_token")),
        (view.SELECT_USER, (account_id, "ann")),
        (view.SELECT_CONTACT, (account_id, "c1")),
        (view.SELECT_ACCOUNT, (account_id,)),
        (
            view.SELECT_NOTE_REFERENCES,
            (account_id, "ann", account_id, "c1", account_id),
        ),
        (
            view.SELECT_NOTE_REFERENCES_BY_KEY,
            (account_id, "ann", account_id, "c1", account_id, "x" * 64, account_id),
        ),
        (view.SELECT_HELD, (account_id, NUMBER)),
        (view.SELECT_NOTES, (account_id, account_id, PHONES[0])),
    ]
    statements = [(view.sql(s, version), p) for s, p in with_version]
    return [
        (view.SELECT_LIVE_VERSION, ()),
        (view.SELECT_HEAD, ()),
        (view.SELECT_STATE, ()),
        *statements,
    ]


@contextmanager
def with_history(url):
    """A ledger with some history, and the account it belongs to."""
    ledger = Ledger(url)
    try:
        settings, _ = ledger.open_account("Acme")
        ctx = ledger.context(settings["account_id"])
        build_history(ledger, ctx)
        yield ledger, ctx
    finally:
        ledger.close()


@contextmanager
def routing_statements(url):
    """A ledger with some history, and the statements routing runs on it."""
    with with_history(url) as (ledger, ctx):
        with ledger.view.snapshot() as tx:
            version = tx.version
        yield ledger, routing_queries(ledger, ctx.account_id, version)


def test_postgres_plans_use_no_sequential_scan(postgres_url):
    with (
        routing_statements(postgres_url) as (ledger, statements),
        ledger.view.datastore.transaction(commit=False) as curs,
    ):
        # Tiny test tables would make a scan the cheapest plan; forbid it,
        # so the plan shows whether an index can answer at all.
        curs.execute("SET LOCAL enable_seqscan = off")
        for statement, params in statements:
            curs.execute("EXPLAIN " + statement, params)
            plan = "\n".join(row["QUERY PLAN"] for row in curs.fetchall())
            assert "Seq Scan" not in plan, f"{statement}\n{plan}"


def test_sqlite_plans_use_no_table_scan(tmp_path):
    with (
        routing_statements(f"sqlite:///{tmp_path}/ledger.db") as (ledger, statements),
        ledger.view.datastore.transaction(commit=False) as curs,
    ):
        for statement, params in statements:
            curs.execute("EXPLAIN QUERY PLAN " + statement, params)
            steps = [row["detail"] for row in curs.fetchall()]
            scans = [s for s in steps if s.startswith("SCAN ") and "CONSTANT" not in s]
            assert not scans, f"{statement}\n{steps}"


def test_postgres_batched_reads_use_no_sequential_scan(postgres_url):
    """A batch's reads go as one statement over arrays: still index lookups."""
    with with_history(postgres_url) as (ledger, ctx):
        view = ledger.view
        assert isinstance(view, PostgresRoutingView)
        batch = [
            query
            for phone in PHONES
            for query in next(view.routing_read(ctx.account_id, NUMBER, phone))
        ]
        batch += next(view.note_references(ctx.account_id, "ann", "c1"))
        with view.snapshot() as tx:
            statement, params, _ = view.batched(batch, tx.version)
            tx.curs.execute("SET LOCAL enable_seqscan = off")
            tx.curs.execute("EXPLAIN " + statement, params)
            plan = "\n".join(row["QUERY PLAN"] for row in tx.curs.fetchall())

    assert "Index" in plan
    assert "Seq Scan" not in plan, plan
