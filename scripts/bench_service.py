"""What running as a service costs: metrics and request ids against recording
throughput.

    .venv/bin/python scripts/bench_service.py overhead   # shared PostgreSQL

`overhead` serves the same ledger twice, one process each: as shipped, and
bare (no metrics, no request ids), and measures them in turns. An audit on the
primary or on a standby against routing's tail: `scripts/bench_replicas.py`.
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
from contextlib import contextmanager
from pathlib import Path

APP = "smsledger.api.app:create_app"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from bench import Fixture, free_port, generate, sms_body  # noqa: E402
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


def overhead(rounds: int = 10, seconds: float = 6.0) -> None:
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
            for n in range(rounds):
                # Each goes first in every other round: neither always follows
                # the other's load.
                order = list(servers) if n % 2 == 0 else list(reversed(servers))
                for kind in order:
                    port, pid = servers[kind]
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
        # Each round's two runs are next to each other in time: their ratio
        # is spared most of the load's drift.
        paired = [s / b for s, b in zip(cpu["shipped"], cpu["bare"], strict=True)]
        each = ", ".join(f"{ratio:.3f}" for ratio in paired)
        print(
            f"shipped/bare CPU a note, round by round: median "
            f"{statistics.median(paired):.3f} of {each}"
        )
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


if __name__ == "__main__":
    overhead()
