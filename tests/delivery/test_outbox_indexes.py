"""Claiming mails and reading alerts go through indexes, however long the ledger."""

from datetime import UTC, datetime

from smsledger.ledger.application import Ledger
from smsledger.projections import view_writes as w
from smsledger.projections.persistence import time_key

NOW = time_key(datetime.now(UTC))


def delivery_queries(ledger: Ledger, version: int):
    outbox, view = ledger.outbox, ledger.view
    queries = [
        (outbox.claim_sql, ("worker", NOW, NOW, NOW, 10)),
        (outbox.RENEW, (NOW, "acct", "SM1", "worker")),
        (outbox.SELECT_ALERTS, ("acct", "ann", 0, 100)),
    ]
    writes = [
        w.RETRY_OUTBOX(1, NOW, None, None, "acct", "SM1"),
        w.CLOSE_OUTBOX("sent", 1, None, None, "acct", "SM1"),
        w.SET_DELIVERY("{}", "acct", "SM1"),
    ]
    return [
        *((view.sql(statement, version), params) for statement, params in queries),
        *((view.statements(op, version), values) for op, values in writes),
    ]


def test_postgres_plans_use_no_sequential_scan(postgres_url):
    ledger = Ledger(postgres_url)
    try:
        with ledger.view.writing() as tx:
            # Tiny tables would make a scan the cheapest plan; forbid it, so
            # the plan shows whether an index can answer at all.
            tx.curs.execute("SET LOCAL enable_seqscan = off")
            for statement, params in delivery_queries(ledger, tx.version):
                tx.curs.execute("EXPLAIN " + statement, params)
                plan = "\n".join(row["QUERY PLAN"] for row in tx.fetchall())
                assert "Seq Scan" not in plan, f"{statement}\n{plan}"
    finally:
        ledger.close()


def test_sqlite_plans_scan_only_the_pending_mails(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path}/ledger.db")
    try:
        with ledger.view.writing() as tx:
            for statement, params in delivery_queries(ledger, tx.version):
                tx.curs.execute("EXPLAIN QUERY PLAN " + statement, params)
                steps = [row["detail"] for row in tx.fetchall()]
                # The claim walks the partial index of pending mails in order.
                scans = [s for s in steps if s.startswith("SCAN")]
                assert all("USING INDEX" in s for s in scans), f"{statement}\n{steps}"
    finally:
        ledger.close()
