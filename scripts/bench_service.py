"""What running as a service costs: metrics and request ids against recording
throughput, and an audit on the primary or on a standby against routing's tail.

    .venv/bin/python scripts/bench_service.py overhead   # shared PostgreSQL
    .venv/bin/python scripts/bench_service.py replicas   # its own primary, standby

`overhead` serves the same ledger twice, one process each: as shipped, and
bare (no metrics, no request ids), and measures them in turns. `replicas`
starts a primary and a streaming standby (as the tests do, as root), fills a
100k-event ledger and routes at 200 requests/s while `smsledger audit verify`
runs on neither, on the primary, and on the standby.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

APP = "smsledger.api.app:create_app"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from bench import Fixture, free_port, generate, inbound_body, sms_body  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from smsledger.api.app import create_app  # noqa: E402
from smsledger.api.logs import RequestIds  # noqa: E402
from smsledger.api.settings import Settings  # noqa: E402
from smsledger.ledger.application import Ledger  # noqa: E402

SHARED = os.environ.get(
    "BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def bare_app() -> FastAPI:
    """The app without metrics and without request ids: the baseline."""
    app = create_app(Settings(metrics=False))
    app.user_middleware = [
        m
        for m in app.user_middleware
        if m.cls is not RequestIds  # type: ignore[comparison-overlap]
    ]
    return app


@contextmanager
def uvicorn(factory: str, url: str, **env: str) -> Iterator[tuple[int, int]]:
    port = free_port()
    given = {
        **os.environ,
        "DATABASE_URL": url,
        "DELIVERY_WORKER": "false",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory,
         "--port", str(port), "--no-access-log", "--log-level", "warning",
         "--app-dir", str(ROOT / "scripts")],
        env=given, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=1
                ):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{factory} did not start") from None
                time.sleep(0.05)  # polling a readiness condition, with a deadline
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def overhead(rounds: int = 5, seconds: float = 6.0) -> None:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SHARED, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = SHARED.rsplit("/", 1)[0] + f"/{name}?pool_size=8&max_overflow=4"
    metrics_dir = tempfile.mkdtemp(prefix="smsledger-bench-metrics-")
    try:
        ledger = Ledger(url)
        fx = generate(ledger, 10_000)
        ledger.close()
        print(f"ledger of {fx.events} events; {load_average()}", flush=True)
        rates: dict[str, list[float]] = {"shipped": [], "bare": []}
        cpu: dict[str, list[float]] = {"shipped": [], "bare": []}
        with (
            uvicorn(APP, url, PROMETHEUS_MULTIPROC_DIR=metrics_dir) as shipped,
            uvicorn("bench_service:bare_app", url) as bare,
        ):  # fmt: skip
            servers = {"shipped": shipped, "bare": bare}
            for port, _ in servers.values():  # the key becomes known; caches warm
                record(port, fx, 2.0)
            for _ in range(rounds):
                for kind, (port, pid) in servers.items():
                    used = cpu_seconds(pid)
                    result = record(port, fx, seconds)
                    used = cpu_seconds(pid) - used
                    # The warm-up's requests are served in the CPU measured too.
                    served = len(result.latencies) * (1 + 1.0 / seconds)
                    rates[kind].append(result.rate)
                    cpu[kind].append(used / served * 1e6)
                    print(f"{kind}: {result.rate:,.0f} notes/s, "
                          f"{cpu[kind][-1]:.0f} us of server CPU a note, errors "
                          f"{result.errors}; {load_average()}", flush=True)  # fmt: skip
        for kind in servers:
            print(
                f"{kind}: median {statistics.median(rates[kind]):,.0f} notes/s, "
                f"{statistics.median(cpu[kind]):.0f} us CPU a note"
            )
        more_cpu = statistics.median(cpu["shipped"]) / statistics.median(cpu["bare"])
        fewer = statistics.median(rates["shipped"]) / statistics.median(rates["bare"])
        print(f"shipped/bare: rate {fewer:.3f}, CPU a note {more_cpu:.3f}")
    finally:
        with psycopg.connect(SHARED, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def record(port: int, fx: Fixture, seconds: float) -> loadgen.Result:
    return asyncio.run(
        loadgen.closed_loop(
            "127.0.0.1", port, "/v1/interactions/sms", fx.api_key, sms_body(fx),
            clients=32, seconds=seconds, warmup=1.0,
        )
    )  # fmt: skip


def replicas(events: int = 100_000, rate: float = 200, seconds: float = 10.0) -> None:
    from tests.faults.harness import Cluster
    from tests.replicas.conftest import Pair, StandbyCluster

    primary = Cluster()
    standby: StandbyCluster | None = None
    try:
        primary.start()
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE smsledger")
        url = primary.url("smsledger")
        ledger = Ledger(url)
        began = time.monotonic()
        fx = generate(ledger, events)
        ledger.close()
        print(f"ledger of {fx.events} events in {time.monotonic() - began:.0f} s")
        standby = StandbyCluster(primary)
        standby.start()
        # Standbys run on machines of their own: here, at the lowest priority.
        postmaster = int((standby.data / "postmaster.pid").read_text().split()[0])
        behind(postmaster)
        Pair(primary, standby).catch_up(timeout=120)
        with uvicorn(APP, url) as (port, _):
            route(port, fx, rate, 3.0)  # warm
            for where in ("none", "primary", "standby") * 2:
                audit = start_audit(where, url, standby.url("smsledger"), standby.data)
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
        primary.remove()


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
    if sys.argv[1] == "overhead":
        overhead()
    else:
        replicas()
