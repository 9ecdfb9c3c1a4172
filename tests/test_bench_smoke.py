"""The benchmark runs end to end (its figures are not checked: it is no test)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402

MEASURES = (
    "routing in process p99",
    "rebuild vs raw ordered scan",
    "Python read, decode and fold of every event alone",
    "audit verify",
    "record over HTTP, 4 clients, vs plain save",
    "route over HTTP at 20/s p99",
    "vs durable 1-row insert at 20/s",
    "peak RSS serve",
    "console: messages page, no filter, server side p50 / p95",
    "console: messages page, one of 8 filters, server side",
    "console: one message's page, over HTTP",
)


def test_bench_smoke_run_measures_every_step(postgres_admin_url, tmp_path):
    output = tmp_path / "PERFORMANCE.md"
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "scripts/bench.py"), "--smoke", "--drop",
            "--database-prefix", f"t_bench_{uuid.uuid4().hex[:12]}",
            "--output", str(output),
        ],
        env={**os.environ, "BENCH_DATABASE_URL": postgres_admin_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [
        line.split(" | ")[:3]
        for line in output.read_text().splitlines()
        if line.startswith("| PostgreSQL |") or line.startswith("| SQLite |")
    ]
    measured = {(database.strip("| "), what) for database, _, what in rows}
    for measure in MEASURES:
        for database in ("PostgreSQL", "SQLite"):
            assert any(d == database and measure in m for d, m in measured), (
                database,
                measure,
            )
    # The stock runner needs subscriptions, which only PostgreSQL offers here.
    assert ("PostgreSQL", "rebuild vs stock ProjectionRunner") in measured
    # The server's CPU is read off its processes: PostgreSQL is on this machine.
    assert any(
        d == "PostgreSQL" and m.startswith("rebuild CPU per event") for d, m in measured
    )


def test_generated_ledger_has_routed_inbound_sms(ledger):
    bench.generate(ledger, 3000)

    with ledger.view.snapshot() as tx:
        tx.curs.execute(
            ledger.view.sql(
                "SELECT rule FROM {decisions} WHERE status = 'routed'", tx.version
            )
        )
        rules = {
            next(iter(row.values())) if isinstance(row, dict) else row[0]
            for row in tx.fetchall()
        }
    assert {"previous_sms", "previous_call", "unknown_sender"} <= rules
