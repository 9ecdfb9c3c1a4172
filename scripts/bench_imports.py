"""Benchmark `smsledger import` and `export` on PostgreSQL, beside baselines
of the same run: a raw COPY of the same events, the service's HTTP recording
rate under wrk (as `scripts/bench --users` measures it), its routing p99
while the import runs, and a raw ordered scan of the ledger.

Run as `scripts/bench --imports 100000` (or 1000000); it prints a table and,
with --output, adds it to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import psycopg
from bench import Fixture, percentiles, server
from bench_users import wrk

from smsledger.ledger.application import Ledger
from smsledger.ledger.exporter import export_chunks
from smsledger.ledger.importer import CHUNK
from smsledger.projections.setwise import stream_events

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 1, 1, tzinfo=UTC)
NUMBER = "+14155559000"
SMSLEDGER = [sys.executable, "-m", "smsledger.ledger.cli"]
USERS, CONTACTS = 50, 5000
HTTP_SECONDS = 10


def phone(n: int) -> str:
    return f"+1415{5550000 + n:07d}"


def history(notes: int) -> Iterator[dict[str, Any]]:
    for u in range(USERS):
        yield {"type": "user", "user_id": f"u{u}", "email": f"u{u}@example.org"}
    for c in range(CONTACTS):
        yield {"type": "contact", "contact_id": f"c{c}", "phones": [phone(c)],
               "owner_user_id": f"u{c % USERS}"}  # fmt: skip
    for i in range(notes):
        c = (i * 7919) % CONTACTS
        yield {
            "type": "sms" if i % 3 else "call", "interaction_id": f"i{i}",
            "user_id": f"u{i % USERS}", "contact_id": f"c{c}", "to": phone(c),
            "from": NUMBER,
            "occurred_at": (START + timedelta(seconds=i * 37)).isoformat(),
        }  # fmt: skip


def _busy() -> float:
    """Seconds of CPU the whole machine has used, on all its cores."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _children_cpu() -> float:
    """Seconds of CPU of this process's children that have ended."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


@contextmanager
def database(admin_url: str) -> Iterator[str]:
    name = f"bench_imports_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def raw_copy(url: str, ledger: Ledger, account_id: str, notes: int) -> float:
    """Events per second of COPY of the import's own events (made, encoded,
    copied) into a table shaped as the ledger's, with its primary key."""
    from smsledger.domain.interactions import Interaction

    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as curs:
        curs.execute(
            "CREATE TABLE raw_events (id bigserial, originator_id uuid,"
            " originator_version integer, topic text, state bytea,"
            " PRIMARY KEY (originator_id, originator_version))"
        )
        with curs.copy(
            "COPY raw_events (originator_id, originator_version, topic, state)"
            " FROM STDIN"
        ) as copy:
            for line in history(notes):
                if "interaction_id" not in line:
                    continue
                note = Interaction.note(
                    line["type"], account_id, interaction_id=line["interaction_id"],
                    contact_id=line["contact_id"], to=line["to"],
                    from_number=line.get("from"), user_id=line["user_id"],
                    occurred_at=datetime.fromisoformat(line["occurred_at"]), body=None,
                )  # fmt: skip
                for event in note.collect_events():
                    stored = ledger.mapper.to_stored_event(event)
                    copy.write_row(
                        (stored.originator_id, 1, stored.topic, stored.state)
                    )
        conn.commit()
    return notes / (time.perf_counter() - started)


def http_recording(port: int, key: str) -> float:
    """Notes a second the service records over HTTP under wrk's connections,
    each request a new SMS note, after a warm-up (as `bench_users` does)."""
    users = [f"u{u}" for u in range(USERS)]
    fx = Fixture(key, "", NUMBER, users, [("c0", phone(0))])
    contacts = ROOT / "var" / "bench" / "wrk-contacts.txt"
    contacts.write_text("".join(f"{c} {p}\n" for c, p in fx.contacts))
    wrk(port, fx, contacts, 2)  # not counted: the server's warm-up
    rate, failed = wrk(port, fx, contacts, HTTP_SECONDS)
    if failed:
        raise SystemExit(f"wrk: {failed} requests failed")
    return rate


def route_while(port: int, key: str, running: threading.Event) -> list[float]:
    """Latencies of inbound SMS routed one after another while `running`."""
    samples = []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
        i = 0
        while running.is_set():
            started = time.perf_counter()
            c.post("/v1/inbound-sms", json={
                "from": phone(i % CONTACTS), "to": NUMBER, "body": "hi",
                "message_id": f"SM{uuid.uuid4().hex}",
            }).raise_for_status()  # fmt: skip
            samples.append(time.perf_counter() - started)
            i += 1
            time.sleep(0.02)  # a paced load, not a wait for anything
    return samples


def main(notes: int, admin_url: str, write: bool, chunk: int | None = None) -> None:
    chunk = chunk or CHUNK
    load = os.getloadavg()
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"import-{notes}.jsonl"
    with path.open("w") as f:
        f.writelines(json.dumps(line) + "\n" for line in history(notes))
    with database(admin_url) as url:
        ledger = Ledger(url)
        served, key = ledger.open_account("Served")
        served_ctx = ledger.context(served["account_id"])
        ledger.put_number(served_ctx, NUMBER, "desk@example.org")
        for line in history(0):  # the served account's team, for its routing
            if line["type"] == "user":
                ledger.put_user(served_ctx, line["user_id"], line["email"])
        ledger.put_contact(served_ctx, "c0", [phone(0)], owner_user_id="u0")
        target, _ = ledger.open_account("Imported")
        copy_rate = raw_copy(url, ledger, target["account_id"], notes)
        with server(url, workers=1) as (port, _):
            http_rate = http_recording(port, key)
            running = threading.Event()
            running.set()
            idle: list[float] = []
            idle_thread = threading.Thread(
                target=lambda: idle.extend(route_while(port, key, running))
            )
            idle_thread.start()
            time.sleep(5)  # a baseline of routing with no import beside it
            running.clear()
            idle_thread.join()
            running.set()
            during: list[float] = []
            router = threading.Thread(
                target=lambda: during.extend(route_while(port, key, running))
            )
            router.start()
            head = ledger.head()
            machine_before, before = _busy(), _children_cpu()
            started = time.perf_counter()
            subprocess.run(
                [*SMSLEDGER, "--database-url", url, "import", str(path),
                 "--account", target["account_id"], "--chunk", str(chunk)],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            client, busy = _children_cpu() - before, _busy() - machine_before
            running.clear()
            router.join()
        # Each message routed meanwhile appended two events: received, routed.
        imported = ledger.head() - head - 2 * len(during)
        import_rate = imported / seconds
        started = time.perf_counter()
        exported = sum(
            c.count(b"\n") for c in export_chunks(ledger, target["account_id"])
        )
        export_rate = exported / (time.perf_counter() - started)
        started = time.perf_counter()
        scanned = sum(1 for _ in stream_events(ledger.recorder, 0, ledger.head()))
        scan_rate = scanned / (time.perf_counter() - started)
        ledger.close()
    p99_idle, p99_during = percentiles(idle)[2], percentiles(during)[2]
    cores = os.cpu_count() or 1
    rows = [
        ("import (events/s)", import_rate, f"raw COPY {copy_rate:,.0f}/s: "
         f"{import_rate / copy_rate:.2f}x; HTTP recording {http_rate:,.0f}/s: "
         f"{import_rate / http_rate:.1f}x"),
        ("CPU of the import process an event (µs)", client / imported * 1e6,
         f"the machine's {cores} cores busy {busy / seconds * 100 / cores:.0f}%"
         " of the import's time (PostgreSQL, the service routing beside it)"),
        ("routing p99 during the import", p99_during * 1000,
         f"{p99_idle * 1000:.1f} ms with no import; {len(during)} routed"),
        ("export (events/s)", export_rate, f"raw ordered scan {scan_rate:,.0f}/s: "
         f"{export_rate / scan_rate:.2f}x ({exported:,} of {scanned:,} events)"),
    ]  # fmt: skip
    table = [
        f"### Import and export, {notes:,} interactions on PostgreSQL",
        "",
        f"`scripts/bench --imports {notes}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC;"
        f" {imported:,} events imported in {seconds:.1f} s, {chunk:,} lines a"
        f" transaction; load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f}"
        " after.",
        "",
        "| measure | ours | beside |",
        "| --- | --- | --- |",
        *(f"| {name} | {value:,.1f} | {beside} |" for name, value, beside in rows),
    ]
    print("\n".join(table))
    if write:
        doc = ROOT / "docs" / "PERFORMANCE.md"
        doc.write_text(doc.read_text() + "\n" + "\n".join(table) + "\n")
