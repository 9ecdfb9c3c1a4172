"""Benchmark smsledger on PostgreSQL and SQLite against baselines measured in
the same run, on the same database (`stores`).

Run it as `scripts/bench` (see --help). For each database and ledger size it
generates a realistic ledger, then measures recording throughput over HTTP,
routing latency over HTTP and in process, rebuild and audit rates, and peak
memory, each beside its baseline, and writes one table to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import loadgen
import pages
import psutil
from stores import Store, server_cpu, stores

from smsledger.domain.contacts import Contact
from smsledger.domain.inbound import InboundSms
from smsledger.domain.interactions import Interaction
from smsledger.domain.routing import decide
from smsledger.domain.vocabulary import Policy
from smsledger.ledger import audit, browse
from smsledger.ledger.application import Ledger
from smsledger.projections.decision_filter import DecisionFilter
from smsledger.projections.decoder import EventDecoder
from smsledger.projections.fold import writes
from smsledger.projections.setwise import SetwiseWriter
from smsledger.projections.setwise_plans import Plans

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 1, 1, tzinfo=UTC)
SECRET_KEY = "bench-secret-key"  # signs the console's sessions in the bench


# The ledger under test.


@dataclass
class Fixture:
    """What the load needs to know about a generated ledger."""

    api_key: str
    account_id: str
    number: str
    users: list[str]
    contacts: list[tuple[str, str]]  # (contact_id, a phone of it)
    events: int = 0


def phone(n: int) -> str:
    """A valid US number for each n below 8,000,000."""
    return f"+1415{2_000_000 + n:07d}"


def generate(ledger: Ledger, events: int, seed: int = 1) -> Fixture:
    """Accounts, users, contacts with one to three phones, notes of every kind,
    ownership changes, deactivations and routed inbound SMS, up to `events`."""
    rng = random.Random(seed)
    accounts = max(1, min(20, events // 5000))
    contacts_per_account = max(20, events // (accounts * 12))
    fixtures = []
    for a in range(accounts):
        settings, key = ledger.open_account(f"Team {a}")
        ctx = ledger.context(settings["account_id"])
        number = phone(7_900_000 + a)
        ledger.put_number(ctx, number, f"desk{a}@example.org")
        users = [f"u{u}" for u in range(25)]
        for user_id in users:
            ledger.put_user(ctx, user_id, f"{user_id}.{a}@example.org", user_id.upper())
        contacts = []
        imported = []
        base = a * 300_000
        for c in range(contacts_per_account):
            phones = [phone(base + c * 3 + k) for k in range(rng.choice((1, 1, 2, 3)))]
            contact_id = f"c{c}"
            imported.append(
                Contact(ctx.account_id, contact_id, f"Contact {c}", phones,
                        rng.choice(users))
            )  # fmt: skip
            contacts.append((contact_id, phones[0]))
        for start in range(0, len(imported), 500):  # a CRM import, in batches
            ledger.save(*imported[start : start + 500])
        fixtures.append((ctx, Fixture(key, ctx.account_id, number, users, contacts)))
    batch: list[Any] = []
    i = 0
    head = ledger.head()
    while head < events:
        ctx, fx = fixtures[i % accounts]
        contact_id, to = rng.choice(fx.contacts)
        roll = rng.random()
        if roll < 0.95:
            kind = "sms" if roll < 0.55 else "call" if roll < 0.90 else "campaign_sms"
            extra = (
                {"reply": "campaign@example.org"}
                if kind == "campaign_sms"
                else {"user_id": rng.choice(fx.users)}
            )
            batch.append(
                Interaction.note(
                    kind,
                    ctx.account_id,
                    interaction_id=f"g{i}",
                    contact_id=contact_id,
                    to=to,
                    from_number=fx.number,
                    body=None,
                    occurred_at=START + timedelta(seconds=rng.randrange(10**8)),
                    **extra,
                )
            )
        elif roll < 0.96:
            owner = rng.choice([None, *fx.users])
            contact = ledger.get_contact(ctx, contact_id)
            ledger.put_contact(
                ctx, contact_id, contact["phones"], contact["name"], owner
            )
        elif roll < 0.965:
            user_id = rng.choice(fx.users)
            ledger.put_user(
                ctx, user_id, f"{user_id}.x@example.org", None, rng.random() < 0.7
            )
        else:
            # Routed as the service routes: after every write before it.
            ledger.save(*batch)
            batch.clear()
            head = ledger.head()
            sender = to if rng.random() < 0.9 else phone(7_000_000 + i % 800_000)
            inbound = InboundSms(
                ctx.account_id, f"g{i}", sender, fx.number, "hi", START
            )
            ledger.view.run_reads(ledger._decide(ctx, inbound))
            batch.append(inbound)
        if len(batch) >= 500:
            ledger.save(*batch)  # a bulk import: one transaction per batch
            batch.clear()
            head = ledger.head()
        i += 1
    if batch:
        ledger.save(*batch)
    fixture = fixtures[0][1]
    fixture.events = ledger.head()
    return fixture


# Measurements.


@dataclass
class Row:
    database: str
    size: int
    what: str
    ours: str
    baseline: str
    ratio: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    database: str = ""  # the store the rows added now were measured on

    def add(
        self, size: int, what: str, ours: str, baseline: str = "", ratio: str = ""
    ) -> None:
        self.rows.append(Row(self.database, size, what, ours, baseline, ratio))
        print(
            f"  {what}: {ours}"
            + (
                f"  (baseline {', '.join(filter(None, (baseline, ratio)))})"
                if baseline
                else ""
            ),
            flush=True,
        )


def ms(seconds: float) -> str:
    value = seconds * 1000
    # A query of SQLite's, in process, takes microseconds.
    return f"{value:.3f} ms" if value < 0.1 else f"{value:.2f} ms"


def per_s(rate: float) -> str:
    return f"{rate:,.0f}/s"


def ratio(ours: float, base: float, *, lower_is_better: bool = False) -> str:
    if not base or not ours:
        return ""
    value = base / ours if lower_is_better else ours / base
    return f"{value:.2f}x"


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    n = len(ordered)
    return tuple(ordered[min(n - 1, int(q * n))] for q in (0.5, 0.95, 0.99))  # type: ignore[return-value]


class Steal:
    """The share of the machine's CPU time its hypervisor gave to other guests
    since this was made: latencies here jump tenfold while it is high."""

    def __init__(self) -> None:
        self.start = _cpu_times()

    def share(self) -> float | None:
        end = _cpu_times()
        if not self.start or not end:
            return None
        spent = [b - a for a, b in zip(self.start, end, strict=True)]
        # user, nice, system, idle, iowait, irq, softirq, steal
        total = sum(spent[:8])
        return spent[7] / total if total else 0.0

    def __str__(self) -> str:
        share = self.share()
        return "unknown" if share is None else f"{share:.0%}"


def _cpu_times() -> list[int] | None:
    try:
        line = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return None
    fields = line.split()
    return [int(v) for v in fields[1:]] if fields[0] == "cpu" else None


def routing_in_process(ledger: Ledger, fx: Fixture, samples: int) -> list[float]:
    rng = random.Random(3)
    policy: Policy = "sms_then_call"
    latencies = []
    for _ in range(samples):
        _, sender = rng.choice(fx.contacts)
        began = time.perf_counter()
        facts, _ = ledger.view.gather_facts(fx.account_id, fx.number, sender)
        decide(facts, policy)
        latencies.append(time.perf_counter() - began)
    return latencies


def child(command: list[str]) -> dict[str, Any]:
    """Run a measured step in a process of its own, so its peak RSS is its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", *command],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def fold_only(ledger: Ledger) -> int:
    """Read, decode and fold the whole ledger in Python, as a rebuild on
    SQLite does (on PostgreSQL the notes are folded in SQL instead), its
    writes collected and dropped: how fast the Python fold alone goes."""
    view = ledger.view
    decoder = EventDecoder(ledger.mapper)
    rows: Iterator[tuple[Any, ...]]
    rows = ledger.backend.stored_rows(0, ledger.head())
    count = 0
    while page := list(islice(rows, 5000)):
        events = [
            (decoder.decode(*row[1:]), row[0])
            for row in page
            if decoder.event_class(row[1]) in view.HANDLERS
        ]
        SetwiseWriter(Plans(view.SET_FIELD), 0).write_all(writes(events))
        count += len(page)
    return count


def run_child(args: list[str]) -> None:
    step, url = args
    ledger = Ledger(url)
    server_before, before = server_cpu(url), os.times()
    began = time.perf_counter()
    if step == "rebuild":
        events = ledger.rebuild_views().events
    elif step == "fold":
        events = fold_only(ledger)
    else:
        stats = audit.StreamStats()
        report = audit.verify(ledger, stats=stats)
        assert not report.inconsistent, report.inconsistent[:5]
        events = stats.events
    seconds = time.perf_counter() - began
    server, after = server_cpu(url), os.times()
    ledger.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "events": events,
        "seconds": seconds,
        "peak_mb": peak,
        "cpu": after.user + after.system - before.user - before.system,
        "server_cpu": None if server is None else server - (server_before or 0),
    }
    print(json.dumps(result))


# The server.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(url: str, workers: int) -> Iterator[tuple[int, int]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "DELIVERY_WORKER": "false",
        "ACCESS_LOG": "false",
        "SECRET_KEY": SECRET_KEY,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsledger.api"], env=env, stderr=subprocess.DEVNULL
    )
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
                    raise SystemExit("the server did not start") from None
                time.sleep(0.05)  # polling a readiness condition, with a deadline
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def peak_rss_mb(pid: int) -> float:
    """Largest peak RSS in the server's process tree (its workers included)."""
    root = psutil.Process(pid)
    peaks = []
    for proc in [root, *root.children(recursive=True)]:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def sms_body(fx: Fixture) -> Callable[[int], bytes]:
    rng = random.Random(5)

    def body(i: int) -> bytes:
        contact_id, to = rng.choice(fx.contacts)
        return json.dumps(
            {
                "interaction_id": f"http-{time.time_ns()}-{i}",
                "user_id": rng.choice(fx.users),
                "contact_id": contact_id,
                "to": to,
                "from": fx.number,
            }
        ).encode()

    return body


def inbound_body(fx: Fixture) -> Callable[[int], bytes]:
    rng = random.Random(6)

    def body(i: int) -> bytes:
        _, sender = rng.choice(fx.contacts)
        return json.dumps(
            {
                "message_id": f"SM{time.time_ns()}-{i}",
                "from": sender,
                "to": fx.number,
                "body": "Yes",
            }
        ).encode()

    return body


# The run.


@dataclass
class Plan:
    sizes: list[int]
    seconds: float  # per throughput measurement
    samples: int  # per latency measurement
    rate: float  # offered load for HTTP routing latency
    warmup: float  # seconds of load, not counted, before each HTTP measurement
    route_runs: int  # HTTP routing latency runs, each `seconds` long
    slices: int  # recording: ours and the baseline alternate, `seconds` in all
    runner_events: int  # events the stock runner is timed on
    # Clients recording at once, one run each; connections of the open loop
    # and of its baseline. Each is as many PostgreSQL connections.
    clients: tuple[int, ...] = (1, 8, 32)
    connections: int = loadgen.CONNECTIONS
    pages_only: bool = False  # generate, then time the console's pages alone


def measure(
    size: int, store: Store, plan: Plan, args: argparse.Namespace, report: Report
) -> None:
    print(f"== {store.name}, {size:,} events", flush=True)
    report.database = store.name
    name = f"{args.database_prefix}_{size}"
    # The console's pages only read: a whole ledger generated before will do.
    url = store.existing(name) if plan.pages_only else None
    if url is not None and not generated(url, size):
        url = None
    url = url or store.fresh(name)
    try:
        measure_on(size, store, url, plan, store.workers or args.workers, report)
    finally:
        if args.drop:
            store.drop(name)


def settle(store: Store, url: str) -> None:
    began = time.perf_counter()
    done = store.settle(url)
    print(f"  {done} in {time.perf_counter() - began:.0f}s")


def measure_on(
    size: int, store: Store, url: str, plan: Plan, workers: int, report: Report
) -> None:
    ledger = Ledger(url)
    if plan.pages_only and generated(url, size):
        fx = existing_fixture(ledger)
        print(f"  reusing the {fx.events:,} events generated before")
    else:
        began = time.perf_counter()
        fx = generate(ledger, size)
        print(f"  generated {fx.events:,} events in {time.perf_counter() - began:.0f}s")
    if plan.pages_only:
        ledger.close()
        settle(store, url)
        with server(url, workers) as (port, _):
            console_pages(size, url, fx, port, plan, report)
        return

    settle(store, url)
    ours = percentiles(routing_in_process(ledger, fx, plan.samples))
    base = percentiles(store.indexed_select(url, fx, plan.samples))
    for name, a, b in zip(("p50", "p95", "p99"), ours, base, strict=True):
        report.add(
            size,
            f"routing in process {name}",
            ms(a),
            ms(b),
            ratio(a, b, lower_is_better=True),
        )
    ledger.close()

    rebuild = child(["rebuild", url])
    rebuild_rate = rebuild["events"] / rebuild["seconds"]
    fold = child(["fold", url])
    fold_rate = fold["events"] / fold["seconds"]
    scan = store.raw_scan_rate(url)
    runner = store.stock_runner_rate(url, min(plan.runner_events, fx.events))
    report.add(
        size,
        "rebuild vs raw ordered scan",
        per_s(rebuild_rate),
        per_s(scan),
        ratio(rebuild_rate, scan),
    )
    report.add(
        size,
        "Python read, decode and fold of every event alone (nothing written;"
        " the rebuild on PostgreSQL folds the notes in SQL) vs raw ordered scan",
        per_s(fold_rate),
        per_s(scan),
        ratio(fold_rate, scan),
    )
    if rebuild["server_cpu"] is not None:
        # What a rebuild may spend per event to run at half the scan's rate.
        cores = os.cpu_count() or 1
        budget = cores * 2 / scan
        own, db = (rebuild[k] / rebuild["events"] for k in ("cpu", "server_cpu"))
        report.add(
            size,
            f"rebuild CPU per event (process + PostgreSQL) vs {cores} cores"
            " at half the raw scan's rate",
            f"{own * 1e6:.1f} + {db * 1e6:.1f} µs",
            f"{budget * 1e6:.1f} µs",
            ratio(own + db, budget, lower_is_better=True),
        )
    if runner is not None:
        report.add(
            size,
            "rebuild vs stock ProjectionRunner",
            per_s(rebuild_rate),
            per_s(runner),
            ratio(rebuild_rate, runner),
        )
    verify = child(["verify", url])
    report.add(size, "audit verify", per_s(verify["events"] / verify["seconds"]))
    report.add(size, "peak RSS rebuild", f"{rebuild['peak_mb']:.0f} MB")
    report.add(size, "peak RSS audit verify", f"{verify['peak_mb']:.0f} MB")

    settle(store, url)
    with (
        store.plain_eventsourcing(url, max(plan.clients)) as save,
        server(url, workers) as (port, pid),
    ):
        console_pages(size, url, fx, port, plan, report)
        for clients in plan.clients:
            noted, plain, stolen = recording_vs_plain(save, fx, port, clients, plan)
            raw = store.raw_insert_rate(url, clients, plan.seconds)
            report.add(
                size,
                f"record over HTTP, {clients} clients, vs plain save ({stolen})",
                per_s(noted),
                per_s(plain),
                ratio(noted, plain),
            )
            report.add(
                size,
                f"record over HTTP, {clients} clients, vs raw insert",
                per_s(noted),
                per_s(raw),
                ratio(noted, raw),
            )
        settle(store, url)  # after the recording, as before it
        routing_over_http(size, store, url, fx, port, plan, report)
        report.add(
            size, "peak RSS serve (largest worker)", f"{peak_rss_mb(pid):.0f} MB"
        )


def console_pages(
    size: int, url: str, fx: Fixture, port: int, plan: Plan, report: Report
) -> None:
    """The console's pages, server side and over HTTP, against their budget."""
    # One connection: the server beside it holds its own.
    ledger = Ledger(with_pool(url, 1))
    try:
        ctx = ledger.context(fx.account_id)
        ids = [
            d["message_id"]
            for d in browse.list_decisions(ledger, ctx, DecisionFilter(), limit=200)
        ]
        decided = ledger.browse.mails(fx.account_id, "pending") + ledger.browse.mails(
            fx.account_id, "sent"
        )
    finally:
        ledger.close()
    print(f"  the console's account has {decided:,} routed decisions", flush=True)
    pages.measure(
        port,
        pages.session_cookie(SECRET_KEY, fx.account_id),
        ids,
        senders=[phone for _, phone in fx.contacts],
        recipients=[f"{u}.0@example.org" for u in fx.users],
        day=START.date().isoformat(),  # the day the generated SMS arrived
        samples=min(plan.samples, 400),
        add=lambda what, ours, base, r: report.add(size, what, ours, base, r),
    )


def with_pool(url: str, size: int) -> str:
    """`url` with a pool of `size` connections, on PostgreSQL."""
    if not url.startswith("postgres"):
        return url
    return f"{url}{'&' if '?' in url else '?'}pool_size={size}"


def generated(url: str, size: int) -> bool:
    """Whether the ledger at `url` holds a whole generated ledger of `size`."""
    ledger = Ledger(with_pool(url, 1))
    try:
        return ledger.head() >= size
    finally:
        ledger.close()


def existing_fixture(ledger: Ledger) -> Fixture:
    """What the load needs, read back from a ledger `generate` made before."""
    (account,), (numbers,), (contacts,) = (
        ledger.view.read([(statement, params)])[1]
        for statement, params in (
            ("SELECT account_id FROM {accounts} WHERE name = %s", ("Team 0",)),
            ("SELECT number, account_id FROM {numbers}", ()),
            ("SELECT account_id, contact_id, phone FROM {contact_phones}", ()),
        )
    )
    account_id = account[0]["account_id"]
    return Fixture(
        api_key="",
        account_id=account_id,
        number=next(n["number"] for n in numbers if n["account_id"] == account_id),
        users=[f"u{u}" for u in range(25)],
        contacts=[
            (c["contact_id"], c["phone"])
            for c in contacts
            if c["account_id"] == account_id
        ],
        events=ledger.head(),
    )


def recording_vs_plain(
    save: Callable[[int, float], float],
    fx: Fixture,
    port: int,
    clients: int,
    plan: Plan,
) -> tuple[float, float, str]:
    """Notes per second over HTTP and plain saves per second (`save`, from
    `plain_eventsourcing`), measured in alternating slices so that a noisy
    neighbour slows both alike; and the CPU steal during each."""
    slice_seconds = plan.seconds / plan.slices
    served = elapsed = 0.0
    plain_rates: list[float] = []
    steal: dict[str, list[float]] = {"ours": [], "plain": []}
    save(clients, plan.warmup)  # not counted, as the server's warm-up
    for n in range(plan.slices):
        stolen = Steal()
        result = asyncio.run(
            loadgen.closed_loop(
                "127.0.0.1",
                port,
                "/v1/interactions/sms",
                fx.api_key,
                sms_body(fx),
                clients,
                slice_seconds,
                warmup=plan.warmup if n == 0 else 0.0,
            )
        )
        steal["ours"].append(stolen.share() or 0.0)
        served += len(result.latencies)
        elapsed += result.seconds
        stolen = Steal()
        plain_rates.append(save(clients, slice_seconds))
        steal["plain"].append(stolen.share() or 0.0)
    ours_steal, plain_steal = (sum(v) / len(v) for v in steal.values())
    return (
        served / elapsed,
        sum(plain_rates) / len(plain_rates),
        f"CPU steal {ours_steal:.0%} / {plain_steal:.0%}",
    )


def routing_over_http(
    size: int,
    store: Store,
    url: str,
    fx: Fixture,
    port: int,
    plan: Plan,
    report: Report,
) -> None:
    """Routing latency at a fixed rate, beside durable one-row inserts at the
    same rate: each route commits its decision, so the database's commit
    latency is the floor of its tail. The two alternate, run by run, so that
    a stall of the disk or of the CPU falls on both alike."""
    ours: list[float] = []
    durable: list[float] = []
    # A stall of the disk shows in one run's tail: each run's p99 shows which.
    each: dict[str, list[float]] = {"ours": [], "durable": []}
    stolen: dict[str, list[float]] = {"ours": [], "durable": []}
    errors = 0
    for _ in range(plan.route_runs):
        steal = Steal()
        result = asyncio.run(
            loadgen.open_loop(
                "127.0.0.1",
                port,
                "/v1/inbound-sms",
                fx.api_key,
                inbound_body(fx),
                plan.rate,
                plan.seconds,
                warmup=plan.warmup,
                pool=plan.connections,
            )
        )
        stolen["ours"].append(steal.share() or 0.0)
        ours += result.latencies
        each["ours"].append(percentiles(result.latencies)[2])
        errors += result.errors
        steal = Steal()
        inserted = store.durable_inserts(
            url, plan.rate, plan.seconds, plan.warmup, plan.connections
        )
        stolen["durable"].append(steal.share() or 0.0)
        durable += inserted
        each["durable"].append(percentiles(inserted)[2])
    select = percentiles(store.indexed_select(url, fx, plan.samples))
    rate = f"{plan.rate:.0f}/s"
    ours_steal, durable_steal = (sum(v) / len(v) for v in stolen.values())
    runs = f"{plan.route_runs} runs"
    for name, a, b, c in zip(
        ("p50", "p95", "p99"),
        percentiles(ours),
        percentiles(durable),
        select,
        strict=True,
    ):
        report.add(
            size,
            f"route over HTTP at {rate} {name}, {runs}, vs durable 1-row insert"
            f" at {rate} (CPU steal {ours_steal:.0%} / {durable_steal:.0%})",
            ms(a),
            ms(b),
            ratio(a, b, lower_is_better=True),
        )
        report.add(
            size,
            f"route over HTTP at {rate} {name}, vs one indexed SELECT",
            ms(a),
            ms(c),
            ratio(a, c, lower_is_better=True),
        )
    report.add(
        size,
        f"route over HTTP at {rate} p99 of each run, vs durable 1-row insert",
        ", ".join(ms(p99) for p99 in each["ours"]),
        ", ".join(ms(p99) for p99 in each["durable"]),
    )
    if errors:
        report.add(size, "route over HTTP errors", str(errors))


def machine(databases: list[Store]) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(store.version() for store in databases)
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {versions}, "
        f"Python {platform.python_version()}"
    )


def write(report: Report, path: Path, command: str, databases: list[Store]) -> None:
    lines = [
        "# Performance",
        "",
        f"Measured by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on "
        f"{machine(databases)}.",
        "",
        "Each figure stands beside a baseline measured in the same run, on the same "
        "database: machines here are noisy, so compare ratios, not absolute figures. "
        "For latencies the ratio is baseline / ours.",
        "",
        "| database | events | measure | smsledger | baseline | ratio |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
        *(
            f"| {r.database} | {r.size:,} | {r.what} | {r.ours} | {r.baseline}"
            f" | {r.ratio} |"
            for r in report.rows
        ),
        "",
    ]
    notes = path.parent / "PERFORMANCE-NOTES.md"
    if notes.exists():
        lines += [notes.read_text()]
    path.write_text("\n".join(lines))


ADMIN_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k events, short runs")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run that checks every step works; its figures mean nothing",
    )
    parser.add_argument("--sizes", help="comma-separated ledger sizes")
    parser.add_argument(
        "--workers", type=int, default=2, help="server processes on PostgreSQL"
    )
    parser.add_argument(
        "--databases",
        default="postgresql,sqlite",
        help="comma-separated, of postgresql and sqlite (default %(default)s)",
    )
    parser.add_argument(
        "--output",
        help="where to write the table (default: "
        "docs/PERFORMANCE.md for a full run, nowhere otherwise)",
    )
    parser.add_argument(
        "--database-prefix",
        default="smsledger_bench",
        help="ledgers are generated in databases PREFIX_SIZE, on SQLite in"
        " var/bench/PREFIX_SIZE.db (default %(default)s)",
    )
    parser.add_argument(
        "--drop", action="store_true", help="drop the generated databases afterwards"
    )
    parser.add_argument(
        "--imports",
        type=int,
        metavar="N",
        help="instead: import and export of N interactions on PostgreSQL"
        " (bench_imports.py); with --output, add the table to docs/PERFORMANCE.md",
    )
    parser.add_argument(
        "--import-chunk",
        type=int,
        metavar="LINES",
        help="with --imports: lines a transaction of the import carries"
        " (default: that of `smsledger import`)",
    )
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="time the console's pages and nothing else, on the ledgers generated"
        " before when they are there",
    )
    parser.add_argument(
        "--users",
        action="store_true",
        help="instead: as users run it, the server as scripts/serve starts it"
        " and in the split set-up, under wrk and an open loop, with py-spy"
        " budgets (bench_users.py; with --smoke, a tiny run)",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.users:
        import bench_users

        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [10_000]
        said = [
            "\n".join(bench_users.main(ADMIN_URL, smoke=args.smoke, events=size))
            for size in sizes
        ]
        if args.output:
            Path(args.output).write_text("\n\n".join(said) + "\n")
        return
    if args.imports:
        import bench_imports

        bench_imports.main(
            args.imports, ADMIN_URL, write=bool(args.output), chunk=args.import_chunk
        )
        return
    if args.child:
        run_child(args.child)
        return
    if args.smoke:
        plan = Plan(
            [600],
            seconds=0.5,
            samples=50,
            rate=20,
            warmup=0.2,
            route_runs=1,
            slices=1,
            runner_events=200,
            # Few connections: the suite runs it beside other tests on one server.
            clients=(1, 4),
            connections=4,
        )
    elif args.quick:
        plan = Plan(
            [10_000],
            seconds=2,  # two databases in under two minutes
            samples=1000,
            rate=200,
            warmup=1,
            route_runs=2,
            slices=2,
            runner_events=2000,
        )
    else:
        plan = Plan(
            [10_000, 100_000, 1_000_000],
            seconds=8,
            samples=3000,
            rate=200,
            warmup=2,
            route_runs=3,
            slices=4,
            runner_events=5000,
        )
    if args.sizes:
        plan.sizes = [int(s) for s in args.sizes.split(",")]
    plan.pages_only = args.pages_only
    databases = stores(args.databases.split(","), ADMIN_URL, ROOT)
    report = Report()
    for store in databases:
        for size in plan.sizes:
            measure(size, store, plan, args, report)
    output = args.output or (
        None if args.smoke or args.quick else "docs/PERFORMANCE.md"
    )
    if output:
        command = "scripts/bench " + shlex.join(sys.argv[1:])
        write(report, ROOT / output, command.strip(), databases)
        print(f"written to {output}")


if __name__ == "__main__":
    main()
