"""What a routed message's mail costs the server, as `scripts/serve` runs by
default (delivery on, access log on): server CPU per routed message, and how
far delivery falls behind, at a given rate of routing.

    .venv/bin/python scripts/delivery_cost.py --rate 200 --seconds 30
    .venv/bin/python scripts/delivery_cost.py --checkout ../delivery-base

Inbound SMS arrive as a Poisson process at `--rate` a second, each routed to a
user who mails through an SMTP server on loopback, which accepts every mail.
`--checkout` names another checkout whose `scripts/serve` (and .venv) is
served instead, so that two versions are measured by the same load, on the
same machine, in one sitting. A fresh database on the shared PostgreSQL
(BENCH_ADMIN_URL) each run, dropped at its end.

Reported: routing latency from when each request was due; the CPU seconds of
the server's processes (every worker, and the delivery process if there is
one) per routed message, from the start of the measured window until every
mail of it is sent; the oldest pending mail's age, sampled every 0.25 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import loadgen  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402

from smsledger.ledger.application import Ledger  # noqa: E402

SHARED = os.environ.get(
    "BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ADMIN_TOKEN = "delivery-cost-admin"
NUMBER = "+14155550100"
JANE = "+14155550111"


def smtp_sink(port: int) -> subprocess.Popen[bytes]:
    """An SMTP server that takes every mail and keeps none, in a process of
    its own: in this one it would wait for the load generator's turns."""
    return subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(port: int, method: str, path: str, body: Any, token: str) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_healthy(
    port: int, process: subprocess.Popen[bytes], log: Path | None = None
) -> None:
    """Once the server answers; if it dies or takes 90 s, the end of `log`."""
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                said = log.read_text(errors="replace")[-3000:] if log else ""
                raise SystemExit(f"the server did not start:\n{said}") from None
            time.sleep(0.05)  # polling a readiness condition, with a deadline


def set_up(port: int) -> str:
    """An account whose number's SMS from Jane go to Ann; its API key."""
    made = http(port, "POST", "/v1/accounts", {"name": "Acme"}, ADMIN_TOKEN)
    key = str(made["api_key"])
    http(port, "PUT", f"/v1/inbound-numbers/{NUMBER}",
         {"backup_email": "desk@acme.test"}, key)  # fmt: skip
    http(port, "PUT", "/v1/users/ann", {"email": "ann@acme.test", "name": "Ann"}, key)
    http(port, "PUT", "/v1/contacts/c1", {"name": "Jane Roe", "phones": [JANE]}, key)
    sms = {"user_id": "ann", "contact_id": "c1", "to": JANE, "from": NUMBER}
    http(port, "POST", "/v1/interactions/sms", sms, key)
    return key


Cpu = dict[int, tuple[str, float]]


def cpu_of_tree(pid: int) -> Cpu:
    """CPU seconds of the server and each process under it, by pid."""
    seen: Cpu = {}
    top = psutil.Process(pid)
    for process in [top, *top.children(recursive=True)]:
        try:
            times = process.cpu_times()
            kind = "delivery" if "--supervised" in process.cmdline() else "server"
            seen[process.pid] = (kind, times.user + times.system)
        except psutil.NoSuchProcess:
            continue
    return seen


def spent(before: Cpu, after: Cpu) -> dict[str, float]:
    by_kind: dict[str, float] = {"server": 0.0, "delivery": 0.0}
    for pid, (kind, seconds) in after.items():
        by_kind[kind] += seconds - before.get(pid, (kind, 0.0))[1]
    return by_kind


async def poisson(
    port: int, key: str, rate: float, seconds: float, first: int
) -> tuple[loadgen.Result, int]:
    """Inbound SMS at Poisson times; each latency from when it was due."""
    connections = [
        loadgen.Connection("127.0.0.1", port, "/v1/inbound-sms", key)
        for _ in range(loadgen.CONNECTIONS)
    ]
    for connection in connections:
        await connection.open()
    idle: asyncio.Queue[loadgen.Connection] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    result = loadgen.Result()
    running: set[asyncio.Task[None]] = set()

    async def one(n: int, due: float) -> None:
        body = json.dumps({"from": JANE, "to": NUMBER, "body": f"Hi {n}",
                           "message_id": f"SM{n}"}).encode()  # fmt: skip
        connection = await idle.get()
        try:
            ok = await connection.post(body) == 201
        finally:
            idle.put_nowait(connection)
        if ok:
            result.latencies.append(time.perf_counter() - due)
        else:
            result.errors += 1

    began = time.perf_counter()
    due, n = began, first
    while (due := due + random.expovariate(rate)) < began + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        task = asyncio.create_task(one(n, due))
        running.add(task)
        task.add_done_callback(running.discard)
        n += 1
    await asyncio.gather(*running)
    result.seconds = time.perf_counter() - began
    for connection in connections:
        connection.close()
    return result, n


class Lag:
    """The oldest pending mail's age, sampled while the load runs."""

    def __init__(self, ledger: Ledger, every: float = 0.25) -> None:
        self.ledger = ledger
        self.every = every
        self.ages: list[float] = []
        self.failed: Exception | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def age(self) -> float:
        oldest = self.ledger.gauges().oldest_pending
        return (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0

    def sample(self) -> None:
        while not self.done.wait(self.every):
            try:
                self.ages.append(max(0.0, self.age()))
            except Exception as error:  # said, not lost with the thread
                self.failed = error
                return

    def pending(self) -> int:
        return int(self.ledger.gauges().mail_pending)


def measure(args: argparse.Namespace) -> None:
    checkout = Path(args.checkout).resolve()
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SHARED, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    # Small pools: the shared server's connections are others' too.
    url = SHARED.rsplit("/", 1)[0] + f"/{name}?pool_size=4&max_overflow=2"
    smtp_port = free_port()
    smtp = smtp_sink(smtp_port)
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="delivery-cost-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(args.workers),
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SECRET_KEY": "delivery-cost",
    }
    env.pop("WORKERS", None)
    with (workdir / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [str(checkout / "scripts" / "serve")], cwd=workdir, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    lag: Lag | None = None
    try:
        wait_healthy(port, server, workdir / "serve.log")
        key = set_up(port)
        _, n = asyncio.run(poisson(port, key, args.rate, args.warmup, 0))
        lag = Lag(Ledger(url))
        before = cpu_of_tree(server.pid)
        lag.thread.start()
        result, _ = asyncio.run(poisson(port, key, args.rate, args.seconds, n))
        window = spent(before, cpu_of_tree(server.pid))
        lag.done.set()
        lag.thread.join()
        if lag.failed is not None:
            raise SystemExit(f"the oldest pending mail could not be read: {lag.failed}")
        drained = time.perf_counter()
        while lag.pending():
            if time.perf_counter() - drained > 600:
                raise SystemExit("the mails were not all sent within 10 minutes")
            time.sleep(0.1)  # polling a condition, with a deadline
        drain = time.perf_counter() - drained
        total = spent(before, cpu_of_tree(server.pid))
        routed = len(result.latencies)
        ages = sorted(lag.ages) or [0.0]
        one, five, _ = os.getloadavg()
        print(
            f"{checkout.name}: {routed} routed in {result.seconds:.1f} s "
            f"({result.rate:.0f}/s Poisson, {result.errors} errors, "
            f"{args.workers} worker(s))\n"
            f"  routing ms: p50 {result.percentile(0.5) * 1e3:.1f}, "
            f"p99 {result.percentile(0.99) * 1e3:.1f}\n"
            f"  server CPU ms per routed message, window + drain: "
            f"{sum(total.values()) / routed * 1e3:.2f} (delivery process "
            f"{total['delivery'] / routed * 1e3:.2f}); window only: "
            f"{sum(window.values()) / routed * 1e3:.2f}\n"
            f"  oldest pending mail s: median {ages[len(ages) // 2]:.2f}, "
            f"max {ages[-1]:.2f}; drained {drain:.1f} s after the load\n"
            f"  load average {one:.2f} (1 min), "
            f"{five:.2f} (5 min) at the end",
            flush=True,
        )
    finally:
        if lag is not None:
            lag.ledger.close()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        smtp.terminate()
        smtp.wait()
        with psycopg.connect(SHARED, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", default=str(ROOT),
                        help="the checkout to serve (default: this one)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=1)
    measure(parser.parse_args())


if __name__ == "__main__":
    main()
