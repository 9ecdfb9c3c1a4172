"""Performance as users run it: the server as `scripts/serve` starts it, with
load from a tool the project did not write.

    scripts/bench --users            10k events, runs of 8 s
    scripts/bench --users --sizes 1000000    the same on a ledger of 1M
    scripts/bench --users --smoke    a tiny run that checks every step works

Two set-ups, each measured the same way, one after the other:
- default: `smsledger serve` with nothing but the database, the mail server
  and a secret key set, so with what it does by default (one worker,
  delivery on, the access log on, written to a file), mailing to a
  local SMTP sink that accepts at once (`smtp_sink.py`);
- split, as docs/OPERATIONS.md recommends: a worker a core,
  `DELIVERY_WORKER=false`, and one `smsledger deliver` process.

Recording: wrk at 32 connections (`wrk_note.lua` makes each request a new
note), in slices alternating with the plain eventsourcing `save` at 32
threads, as bench.py measures it. Routing: an open loop (`openloop.py`) at
200 requests a second, Poisson arrivals, then bursts of 10 every 50 ms,
latency from each request's scheduled time, and the age of the oldest mail
not yet sent read every 0.1 s meanwhile; then a route alone, one every 20 ms
(the floor under both on this machine); beside them the client's floor,
`GET /healthz` on the Poisson schedule. Then, on the default set-up only, py-spy
profiles of routing and of recording under the open loop at 200/s, attributed
to the steps of a request by `budget.py`.

The plain `save` holds 34 connections while recording is measured and the
servers their default pools: on a PostgreSQL shared with other work, run it
as `SMSLEDGER_FORCE_PGSERVER=1 scripts/bench --users` (a private cluster).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import budget
import openloop
import psutil
from bench import Fixture, free_port, generate, inbound_body, sms_body
from delivery_cost import Lag, wait_healthy
from stores import Postgres

from smsledger.ledger.application import Ledger

SMSLEDGER = Path(sys.executable).with_name("smsledger")  # as scripts/serve runs it
PY_SPY = Path(sys.executable).with_name("py-spy")  # a dev dependency
SCRIPTS = Path(__file__).resolve().parent
# Settings a set-up must not inherit from the caller's environment: each
# set-up says what it sets, and everything else is the default.
SETTINGS = ("WEB_CONCURRENCY", "WORKERS", "DELIVERY_WORKER", "ACCESS_LOG",
            "LOG_FORMAT", "METRICS", "SMTP_URL", "DATABASE_REPLICA_URL")  # fmt: skip
CONNECTIONS = 32
RATE = 200.0
BURST, BURST_PERIOD = 10, 0.05  # 10 at once every 50 ms: 200 a second
ALONE_PERIOD = 0.02  # a route every 20 ms, each answered before the next
LAG_EVERY = 0.1  # seconds between reads of the oldest pending mail's age
HZ = 250  # py-spy's samples a second


@dataclass
class SetUp:
    name: str
    label: str
    env: dict[str, str] = field(default_factory=dict)
    deliverers: int = 0  # `smsledger deliver` processes beside the server


SETUPS = (
    SetUp("default", "default: `scripts/serve` as it starts"),
    SetUp(
        "split",
        f"split: {os.cpu_count()} workers, `DELIVERY_WORKER=false`, "
        "one `smsledger deliver`",
        {"WEB_CONCURRENCY": str(os.cpu_count() or 1), "DELIVERY_WORKER": "false"},
        deliverers=1,
    ),
)


@dataclass
class Plan:
    events: int
    seconds: float  # each latency run, and recording in all
    warmup: float
    slices: int
    profile: float  # seconds of each profile
    # Database connections: the servers' defaults and as many saving threads
    # as wrk's connections; few in the smoke run, beside other tests.
    pool: str = ""
    plain_threads: int = CONNECTIONS


FULL = Plan(events=10_000, seconds=8, warmup=2, slices=4, profile=10)
SMOKE = Plan(
    events=600, seconds=1, warmup=0.3, slices=1, profile=1,
    pool="pool_size=2&max_overflow=2", plain_threads=2,
)  # fmt: skip


# The processes.


@contextmanager
def smtp_sink() -> Iterator[tuple[int, Callable[[], int]]]:
    """The sink's port, and a call that stops it and says how many mails it
    accepted."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "smtp_sink.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout
    if not proc.stdout.readline().startswith("listening"):
        raise SystemExit("the SMTP sink did not start")
    counted: list[int] = []

    def stop() -> int:
        if not counted:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
            counted.append(int(out.split()[-1]))
        return counted[0]

    try:
        yield port, stop
    finally:
        stop()


@contextmanager
def served(
    setup: SetUp, url: str, smtp_port: int, logs: Path
) -> Iterator[tuple[int, int]]:
    """The server's port and the pid of the process `smsledger serve` is."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(
        DATABASE_URL=url,
        HOST="127.0.0.1",
        PORT=str(free_port()),
        SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        SECRET_KEY="bench-secret-key",
        **setup.env,
    )
    with ExitStack() as stack:
        path = logs / f"{setup.name}.log"
        log = stack.enter_context(path.open("wb"))
        server = subprocess.Popen(
            [str(SMSLEDGER), "serve"], env=env, stdout=log, stderr=log
        )
        stack.callback(stop, server)
        wait_healthy(int(env["PORT"]), server, path)
        deliverers = []
        for n in range(setup.deliverers):
            said = logs / f"{setup.name}-deliver{n}.log"
            out = stack.enter_context(said.open("wb"))
            deliverer = subprocess.Popen(
                [str(SMSLEDGER), "deliver"], env=env, stdout=out, stderr=out
            )
            stack.callback(stop, deliverer)
            deliverers.append((deliverer, said))
        yield int(env["PORT"]), server.pid
        for deliverer, said in deliverers:
            if deliverer.poll() is not None:
                tail = said.read_text(errors="replace")[-3000:]
                raise SystemExit(f"`smsledger deliver` stopped:\n{tail}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(60)


# The load.


def wrk(port: int, fx: Fixture, contacts: Path, seconds: float) -> tuple[float, int]:
    """Notes a second answered 201 by wrk's 32 connections, and the others."""
    tag = uuid.uuid4().hex[:8]
    done = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s",
         "-s", str(SCRIPTS / "wrk_note.lua"), f"http://127.0.0.1:{port}",
         "--", fx.api_key, fx.number, str(contacts), tag, *fx.users],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("wrk-result"))
    _, requests, elapsed, errors = line.split()
    return (int(requests) - int(errors)) / float(elapsed), int(errors)


def recording(
    port: int, fx: Fixture, contacts: Path, save: Callable[[int, float], float],
    plan: Plan,
) -> tuple[float, float, int]:  # fmt: skip
    """wrk's notes a second and the plain `save`'s, in alternating slices so
    that a busy neighbour slows both alike; and wrk's failed requests."""
    wrk(port, fx, contacts, plan.warmup)  # not counted: the server's warm-up
    ours: list[float] = []
    plain: list[float] = []
    errors = 0
    for _ in range(plan.slices):
        rate, failed = wrk(port, fx, contacts, plan.seconds / plan.slices)
        ours.append(rate)
        errors += failed
        plain.append(save(plan.plain_threads, plan.seconds / plan.slices))
    return sum(ours) / len(ours), sum(plain) / len(plain), errors


def schedules(plan: Plan) -> dict[str, tuple[list[float], list[float]]]:
    """Each open loop's schedule and its warm-up's."""
    return {
        "poisson": (
            openloop.poisson(RATE, plan.seconds),
            openloop.poisson(RATE, plan.warmup, seed=8),
        ),
        "bursts": (
            openloop.bursts(BURST, BURST_PERIOD, plan.seconds),
            openloop.bursts(BURST, BURST_PERIOD, plan.warmup),
        ),
        # One at a time: what a route costs on this machine with nothing
        # else in flight, the floor under the two above.
        "alone": (
            openloop.bursts(1, ALONE_PERIOD, plan.seconds / 2),
            openloop.bursts(1, ALONE_PERIOD, plan.warmup),
        ),
    }


def open_loop(
    port: int, fx: Fixture, what: str, schedule: list[float], warmup: list[float]
) -> openloop.Result:
    """`what`: "route" (an inbound SMS), "note" (recorded) or "healthz"."""
    if what == "healthz":
        request = openloop.get("127.0.0.1", port, "/healthz")
        send, ok = (lambda i: request), 200
    else:
        path, body = (
            ("/v1/inbound-sms", inbound_body(fx))
            if what == "route"
            else ("/v1/interactions/sms", sms_body(fx))
        )
        post = openloop.post("127.0.0.1", port, path, fx.api_key)
        send, ok = (lambda i: post(body(i))), 201
    return asyncio.run(
        openloop.run("127.0.0.1", port, send, schedule, ok=ok, pool=CONNECTIONS,
                     warmup=warmup)
    )  # fmt: skip


@contextmanager
def py_spy(pid: int, seconds: float, into: Path) -> Iterator[tuple[Path, Path]]:
    """Two profiles of `pid` and its children over the same seconds: running
    threads only, and every thread (`--idle`). Their files once both end."""
    files = (into / "cpu.txt", into / "wall.txt")
    record = [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(HZ),
              "--duration", str(max(1, round(seconds))), "--format", "raw",
              "--nonblocking", "--subprocesses"]  # fmt: skip
    procs = [
        subprocess.Popen(
            [*record, "--output", str(out), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for out, extra in zip(files, ([], ["--idle"]), strict=True)
    ]
    try:
        yield files
    finally:
        for proc in procs:
            _, err = proc.communicate(timeout=seconds + 60)
            if proc.returncode:
                raise SystemExit(f"py-spy failed: {err.decode()[-2000:]}")


def profile(
    port: int, pid: int, fx: Fixture, what: str, plan: Plan, into: Path
) -> tuple[list[budget.Line], float, float]:
    """Where a request's time goes, at 200/s, Poisson; and the server's CPU
    a request as the kernel counts it, beside the samples (which count a
    thread waiting for a core as running), and of it the delivery
    process's."""
    warm = openloop.poisson(RATE, plan.warmup, seed=9)
    open_loop(port, fx, what, [], warm)
    into.mkdir(parents=True, exist_ok=True)
    # The load outlasts the profile by a little: every sample falls under load.
    load = openloop.poisson(RATE, plan.profile + 0.5, seed=10)
    before = cpu_seconds(pid)
    with py_spy(pid, plan.profile, into) as (cpu, wall):
        result = open_loop(port, fx, what, load, [])
    used = [b - a for a, b in zip(before, cpu_seconds(pid), strict=True)]
    served = round(result.rate * plan.profile)
    with cpu.open() as c, wall.open() as w:
        lines = budget.budget(budget.stacks(c), budget.stacks(w), HZ, max(1, served))
    answered = max(1, len(result.latencies))
    return lines, sum(used) / answered * 1000, used[1] / answered * 1000


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU so far of `pid` and its children: of the others,
    and of the delivery process."""
    root = psutil.Process(pid)
    totals = [0.0, 0.0]
    for proc in [root, *root.children(recursive=True)]:
        times = proc.cpu_times()
        totals["deliver" in proc.cmdline()] += times.user + times.system
    return totals[0], totals[1]


# The run.


@dataclass
class Measured:
    recorded: float = 0.0
    plain: float = 0.0
    record_errors: int = 0
    latency: dict[str, openloop.Result] = field(default_factory=dict)
    lag: dict[str, float] = field(default_factory=dict)  # oldest pending, s
    mails: int = 0
    budgets: dict[str, list[budget.Line]] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # /proc, a request
    mail_ms: dict[str, float] = field(default_factory=dict)  # of it, delivery's


def measure(
    setup: SetUp, store: Postgres, ledger: Ledger, url: str, fx: Fixture,
    contacts: Path, plan: Plan, work: Path, profiles: bool,
) -> Measured:  # fmt: skip
    print(f"== {setup.label}; {load_average()}", flush=True)
    measured = Measured()
    with ExitStack() as stack:
        # Opened before the server (see `plain_eventsourcing`), closed after
        # the recording: its connections and the servers' must fit under the
        # database's max_connections.
        plain = stack.enter_context(ExitStack())
        save = plain.enter_context(store.plain_eventsourcing(url, plan.plain_threads))
        smtp_port, mails = stack.enter_context(smtp_sink())
        port, pid = stack.enter_context(served(setup, url, smtp_port, work))
        measured.recorded, measured.plain, measured.record_errors = recording(
            port, fx, contacts, save, plan
        )
        plain.close()
        print(f"  recording: {measured.recorded:,.0f}/s, plain save "
              f"{measured.plain:,.0f}/s; {load_average()}", flush=True)  # fmt: skip
        for kind, (schedule, warmup) in schedules(plan).items():
            delivered(ledger)
            with oldest_pending(ledger) as ages:
                result = open_loop(port, fx, "route", schedule, warmup)
            measured.latency[kind] = result
            measured.lag[kind] = max(ages, default=0.0)
            lag = f"oldest pending mail at most {measured.lag[kind]:.2f} s"
            print(f"  routing, {kind}: {summary(result)}; {lag}; {load_average()}",
                  flush=True)  # fmt: skip
        schedule, warmup = schedules(plan)["poisson"]
        floor = measured.latency["floor"] = open_loop(
            port, fx, "healthz", schedule, warmup
        )
        print(f"  GET /healthz, poisson: {summary(floor)}", flush=True)
        if profiles:
            for what in ("route", "note"):
                # Else the mails of the runs before are sent under the profile.
                delivered(ledger)
                lines, cpu_ms, mail_ms = profile(
                    port, pid, fx, what, plan, work / setup.name / what
                )
                measured.budgets[what], measured.cpu_ms[what] = lines, cpu_ms
                measured.mail_ms[what] = mail_ms
                print(f"  budget of a {what}; {load_average()}")
                table = budget.markdown(lines, cpu_ms, mail_ms)
                print("\n".join(table), flush=True)
        delivered(ledger)
        measured.mails = mails()
    return measured


@contextmanager
def oldest_pending(ledger: Ledger) -> Iterator[list[float]]:
    """The age of the oldest mail not yet sent, read every `LAG_EVERY`
    seconds while the block runs: whether delivery keeps up."""
    lag = Lag(ledger, every=LAG_EVERY)
    lag.thread.start()
    try:
        yield lag.ages
    finally:
        lag.done.set()
        lag.thread.join()
    if lag.failed is not None:
        raise SystemExit(f"the oldest pending mail could not be read: {lag.failed}")


def delivered(ledger: Ledger) -> None:
    """Once the outbox is empty (or after 60 s)."""
    deadline = time.monotonic() + 60
    while ledger.outbox.counts().get("pending") and time.monotonic() < deadline:
        time.sleep(0.1)  # polling a condition, with a deadline


def delivered_before(url: str) -> None:
    """The generated ledger's mails sent, so that no set-up sends them."""
    with smtp_sink() as (port, _):
        subprocess.run(
            [str(SMSLEDGER), "deliver", "--once", "--smtp-url",
             f"smtp://127.0.0.1:{port}"],
            env={**os.environ, "DATABASE_URL": url}, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip


def summary(result: openloop.Result) -> str:
    p50, p99 = (result.percentile(q) * 1000 for q in (0.5, 0.99))
    return (
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, {len(result.latencies)} answered, "
        f"{result.errors} failed, the generator at most {result.late * 1000:.1f} ms "
        "behind"
    )


def p50_p99(kind: str, measured: Measured) -> str:
    result = measured.latency[kind]
    return ", ".join(f"{result.percentile(q) * 1000:.2f} ms" for q in (0.5, 0.99))


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def table(results: dict[str, Measured], plain_threads: int) -> list[str]:
    names = list(results)
    rows = [
        "| measure | "
        + " | ".join(s.label for s in SETUPS if s.name in names)
        + " | target |",
        "| --- |" + " ---: |" * len(names) + " --- |",
    ]

    def row(what: str, cell: Callable[[Measured], str], target: str = "") -> None:
        cells = " | ".join(cell(results[n]) for n in names)
        rows.append(f"| {what} | {cells} | {target} |")

    row(
        f"recording, wrk at {CONNECTIONS} connections, vs plain `save` at "
        f"{plain_threads} threads",
        lambda m: (
            f"{m.recorded:,.0f}/s vs {m.plain:,.0f}/s: {m.recorded / m.plain:.2f}x"
            if m.plain
            else ""
        ),
        "at least 2.5x",
    )
    for kind, what, target in (
        ("poisson", "routing at 200/s, Poisson", "p99 at most 10 ms"),
        ("bursts", "routing, 10 at once every 50 ms", "p99 at most 20 ms"),
        ("alone", "a route alone, one every 20 ms", ""),
        ("floor", "client floor: `GET /healthz` at 200/s, Poisson", ""),
    ):
        row(f"{what}: p50, p99", partial(p50_p99, kind), target)
    row(
        "oldest pending mail while routing (Poisson; bursts), at most",
        lambda m: f"{m.lag['poisson']:.2f} s; {m.lag['bursts']:.2f} s",
        "under 1 s",
    )
    row(
        "requests failed (recording, routing)",
        lambda m: f"{m.record_errors}, {sum(r.errors for r in m.latency.values())}",
    )
    row("mails the SMTP sink accepted", lambda m: f"{m.mails:,}")
    return rows


def main(admin_url: str, smoke: bool, events: int = FULL.events) -> list[str]:
    """The run's tables, as markdown lines (also printed)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    plan = SMOKE if smoke else replace(FULL, events=events)
    store = Postgres(admin_url)
    name = f"smsledger_users_{uuid.uuid4().hex[:8]}"
    plain_url = store.fresh(name)
    url = (
        f"{plain_url}{'&' if '?' in plain_url else '?'}{plan.pool}"
        if plan.pool
        else plain_url
    )
    work = Path(tempfile.mkdtemp(prefix="smsledger-users-"))
    # Opened before any server and kept open: the outbox is read through it
    # while a server runs.
    ledger = Ledger(url)
    try:
        began = time.perf_counter()
        fx = generate(ledger, plan.events)
        print(f"generated {fx.events:,} events in {time.perf_counter() - began:.0f} s",
              flush=True)  # fmt: skip
        delivered_before(url)
        store.settle(plain_url)
        contacts = work / "contacts.txt"
        contacts.write_text("".join(f"{c} {p}\n" for c, p in fx.contacts))
        results: dict[str, Measured] = {}
        for setup in SETUPS:
            results[setup.name] = measure(
                setup, store, ledger, url, fx, contacts, plan, work,
                profiles=setup.name == "default",
            )  # fmt: skip
            store.settle(plain_url)
        lines = [
            f"`scripts/bench --users{' --smoke' if smoke else ''}"
            f"{f' --sizes {events}' if events != FULL.events else ''}`, "
            f"{fx.events:,} events, PostgreSQL; {load_average()} at the end.",
            "",
            *table(results, plan.plain_threads),
        ]
        default = results["default"]
        for what, budget_lines in default.budgets.items():
            lines += ["", f"Budget of a {what} (default set-up, 200/s):", ""]
            lines += budget.markdown(
                budget_lines, default.cpu_ms[what], default.mail_ms[what]
            )
        print("\n".join(lines))
        return lines
    finally:
        ledger.close()
        store.drop(name)
        shutil.rmtree(work, ignore_errors=True)
