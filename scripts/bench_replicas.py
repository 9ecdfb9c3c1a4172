"""Routing's tail on the primary while `smsledger audit verify` runs on the
primary, or on a streaming standby.

    .venv/bin/python scripts/bench_replicas.py [EVENTS]   # default 1,000,000; as root

Starts a primary and a hot standby of its own on loopback (initdb,
`pg_basebackup -R`, as the replica tests do), fills the primary with a
generated ledger of EVENTS events, serves it with one uvicorn process
(`DATABASE_REPLICA_URL` naming the standby), and routes inbound SMS at 200
requests/s for 10 s while the audit runs on neither, on the primary, and on
the standby, in turns, twice. The primary's data is kept in
$BENCH_REPLICAS_DIR (default /var/tmp/smsledger-bench-replicas): a 1M ledger
takes long to generate, and the next run reuses it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import loadgen  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from bench import Fixture, existing_fixture, generate, inbound_body  # noqa: E402
from bench_service import APP, load_average, uvicorn  # noqa: E402

from smsledger.ledger.application import Ledger  # noqa: E402
from tests.faults.harness import Cluster, free_port, postgres_bin  # noqa: E402
from tests.replicas.conftest import Pair, StandbyCluster  # noqa: E402

KEPT = Path(os.environ.get("BENCH_REPLICAS_DIR", "/var/tmp/smsledger-bench-replicas"))


class KeptCluster(Cluster):
    """The primary, in a directory kept from one run to the next."""

    def __init__(self, home: Path) -> None:
        self.bin = postgres_bin()
        self.home = home
        self.data = home / "data"
        self.port = free_port()
        if not (self.data / "PG_VERSION").exists():
            home.mkdir(parents=True, exist_ok=True)
            shutil.chown(home, "postgres", "postgres")
            self._as_postgres(
                "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres"
            )


class CopiedStandby(StandbyCluster):
    """A standby whose pg_basebackup may take longer than the tests allow."""

    def _as_postgres(self, program: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / program), *args],
            check=True,
            capture_output=True,
            cwd=self.home,
            timeout=1800,
        )


def ledger_of(url: str, events: int) -> Fixture:
    """The generated ledger at `url`, made now if the kept one is smaller."""
    ledger = Ledger(url)
    try:
        if ledger.head() >= events:
            fx = existing_fixture(ledger)
            name = f"bench {time.time_ns()}"  # each run a key of its own
            fx.api_key = ledger.create_api_key(fx.account_id, name)["api_key"]
            print(f"reusing the ledger of {fx.events:,} events", flush=True)
            return fx
    finally:
        ledger.close()
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE smsledger WITH (FORCE)")  # a smaller one
        conn.execute("CREATE DATABASE smsledger")
    ledger = Ledger(url)
    began = time.monotonic()
    try:
        fx = generate(ledger, events)
    finally:
        ledger.close()
    print(f"ledger of {fx.events:,} events made in {time.monotonic() - began:.0f} s")
    began = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    print(f"vacuumed and analyzed in {time.monotonic() - began:.0f} s", flush=True)
    return fx


def run(events: int, rate: float = 200, seconds: float = 10.0) -> None:
    primary = KeptCluster(KEPT)
    standby: StandbyCluster | None = None
    try:
        primary.start()
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = 'smsledger'"
            ).fetchone():
                conn.execute("CREATE DATABASE smsledger")
        url = primary.url("smsledger")
        fx = ledger_of(url, events)
        began = time.monotonic()
        standby = CopiedStandby(primary)
        standby.start()
        # Standbys run on machines of their own: here, at the lowest priority.
        behind(int((standby.data / "postmaster.pid").read_text().split()[0]))
        Pair(primary, standby).catch_up(timeout=600)
        print(f"standby copied and caught up in {time.monotonic() - began:.0f} s")
        standby_url = standby.url("smsledger")
        with uvicorn(APP, url, DATABASE_REPLICA_URL=standby_url) as (port, _):
            route(port, fx, rate, 3.0)  # warm
            for where in ("none", "primary", "standby") * 2:
                audit = start_audit(where, url, standby_url, standby.data)
                try:
                    time.sleep(0 if audit is None else 1.0)  # let the audit get going
                    result = route(port, fx, rate, seconds)
                    running = audit is not None and audit.poll() is None
                finally:
                    if audit is not None:
                        audit.terminate()
                        audit.wait()
                p50, p99 = result.percentile(0.5), result.percentile(0.99)
                print(
                    f"audit on {where}: routing p50 {p50 * 1000:.1f} ms, "
                    f"p99 {p99 * 1000:.1f} ms at {result.rate:.0f}/s, errors "
                    f"{result.errors}; audit ran throughout: {running}; "
                    f"{load_average()}",
                    flush=True,
                )
    finally:
        if standby is not None:
            standby.remove()
        if (primary.data / "postmaster.pid").exists():
            primary.stop()


def route(port: int, fx: Fixture, rate: float, seconds: float) -> loadgen.Result:
    return asyncio.run(
        loadgen.open_loop(
            "127.0.0.1", port, "/v1/inbound-sms", fx.api_key, inbound_body(fx),
            rate=rate, seconds=seconds, warmup=1.0,
        )
    )  # fmt: skip


def start_audit(where: str, url: str, standby_url: str, standby_data: Path) -> Any:
    if where == "none":
        return None
    replica = ["--replica-url", standby_url] if where == "standby" else []
    # The audit runs on a machine of its own too: here, at the lowest priority.
    audit = subprocess.Popen(
        ["nice", "-n", "19", str(ROOT / ".venv/bin/smsledger"),
         "--database-url", url, *replica, "audit", "verify"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    if where == "standby":
        time.sleep(0.5)  # its backend on the standby is forked: lower it too
        postmaster = int(Path(standby_data, "postmaster.pid").read_text().split()[0])
        behind(postmaster)
    return audit


def behind(pid: int) -> None:
    """A process and its children at the lowest CPU priority."""
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        with suppress(psutil.Error):  # a child that has just exited
            process.nice(19)


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
