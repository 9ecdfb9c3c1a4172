"""Benchmark the rebuild on PostgreSQL beside a raw ordered scan of the same
ledger, measured in the same run, round after round.

    scripts/bench_rebuild.py URL [URL ...] [--rounds 3] [--generate N]
                             [--baseline-python PATH]

Each URL is a database holding a ledger (`--generate N` first makes one of
N events there with the bench's generator, if it holds fewer). Each round
scans the ledger, then rebuilds it in a process of its own, so its CPU and
peak RSS are its own; with `--baseline-python`, the same rebuild also runs
under that interpreter (another checkout's environment), alternated with
ours. Each line gives the load average beside its figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import psycopg
from stores import server_cpu


def raw_scan_rate(url: str) -> float:
    """Events a second that a plain client reads the ledger at, in order."""
    with psycopg.connect(url) as conn, conn.cursor(name="scan") as curs:
        curs.itersize = 5000
        began = time.perf_counter()
        curs.execute("SELECT * FROM ledger_events ORDER BY notification_id")
        rows = sum(1 for _ in curs)
        return rows / (time.perf_counter() - began)


def rebuild_child(url: str) -> None:
    """Rebuild once and print what it took, as one JSON line."""
    import os

    from smsledger.ledger.application import Ledger

    ledger = Ledger(url)
    server_before, before = server_cpu(url), os.times()
    began = time.perf_counter()
    events = ledger.rebuild_views().events
    seconds = time.perf_counter() - began
    server, after = server_cpu(url), os.times()
    ledger.close()
    print(
        json.dumps(
            {
                "events": events,
                "seconds": seconds,
                "cpu": after.user + after.system - before.user - before.system,
                "server_cpu": (server or 0) - (server_before or 0),
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def rebuild(python: str, url: str) -> dict[str, Any]:
    done = subprocess.run(
        [python, __file__, "--child", url],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def generate(url: str, events: int) -> None:
    from bench import generate as make

    from smsledger.ledger.application import Ledger

    ledger = Ledger(url)
    try:
        if ledger.head() < events:
            began = time.perf_counter()
            made = make(ledger, events).events
            print(f"generated {made:,} events in {time.perf_counter() - began:.0f}s")
    finally:
        ledger.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")


def report(name: str, result: dict[str, Any], scan: float) -> None:
    events = result["events"]
    rate = events / result["seconds"]
    print(
        f"  {name}: {events:,} events in {result['seconds']:.2f}s, {rate:,.0f}/s,"
        f" {rate / scan:.2f}x of the scan; CPU process {result['cpu']:.2f}s,"
        f" PostgreSQL {result['server_cpu']:.2f}s;"
        f" peak RSS {result['peak_mb']:.0f} MB; load {load()}",
        flush=True,
    )


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        rebuild_child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--generate", type=int, default=0)
    parser.add_argument("--baseline-python", default="")
    args = parser.parse_args()
    for url in args.urls:
        if args.generate:
            generate(url, args.generate)
        print(f"== {url.rsplit('/', 1)[-1]}", flush=True)
        for round_ in range(1, args.rounds + 1):
            scan = raw_scan_rate(url)
            print(f" round {round_}: raw ordered scan {scan:,.0f}/s; load {load()}")
            report("rebuild", rebuild(sys.executable, url), scan)
            if args.baseline_python:
                report("baseline", rebuild(args.baseline_python, url), scan)


if __name__ == "__main__":
    main()
