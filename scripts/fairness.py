"""Measure how much one tenant's what-ifs slow another tenant's routing.

On PostgreSQL, it records a history of about `--events` events over several
accounts (one of them, the what-if account, with a single decision), serves
it with a checkout's own `scripts/serve` as users run it (one worker), then
measures another tenant's routing latency over HTTP, idle and while
`--what-ifs` clients post what-ifs of the one account in a loop. Clients
answered 429 wait `Retry-After`, as a well-behaved client does.

    .venv/bin/python scripts/fairness.py                 # this checkout
    .venv/bin/python scripts/fairness.py --checkout /work/main --database-url URL

The history is written with this checkout's code; `--database-url` reuses
one written before (its accounts' keys are kept beside it in `--keys`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smsledger.domain.interactions import Interaction  # noqa: E402
from smsledger.ledger.application import Ledger  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)


def phone(n: int) -> str:
    return f"+1415{2_000_000 + n:07d}"


def generate(url: str, events: int, accounts: int) -> dict[str, Any]:
    """Accounts with users, contacts and notes; the last is the what-if one."""
    rng = random.Random(1)
    ledger = Ledger(url)
    teams = []
    try:
        for a in range(accounts):
            settings, key = ledger.open_account(f"Team {a}")
            ctx = ledger.context(settings["account_id"])
            number = phone(7_900_000 + a)
            ledger.put_number(ctx, number, f"desk{a}@example.org")
            users = [f"u{u}" for u in range(10)]
            for user_id in users:
                ledger.put_user(ctx, user_id, f"{user_id}.{a}@example.org")
            contacts = [(f"c{c}", phone(a * 100_000 + c)) for c in range(300)]
            for contact_id, to in contacts:
                ledger.put_contact(ctx, contact_id, [to], owner_user_id="u0")
            teams.append((ctx, key, number, users, contacts))
        per_account = events // accounts
        for ctx, _, number, users, contacts in teams:
            batch = []
            for i in range(per_account):
                contact_id, to = rng.choice(contacts)
                kind = rng.choice(("sms", "call"))
                batch.append(
                    Interaction.note(
                        kind, ctx.account_id, interaction_id=f"g{i}",
                        contact_id=contact_id, to=to, from_number=number,
                        body=None, user_id=rng.choice(users),
                        occurred_at=START + timedelta(seconds=rng.randrange(10**7)),
                    )
                )  # fmt: skip
                if len(batch) == 500:
                    ledger.save(*batch)
                    batch.clear()
            if batch:
                ledger.save(*batch)
        # The what-if account's one decision.
        ctx, _, number, _, contacts = teams[-1]
        ledger.route_inbound_sms(ctx, contacts[0][1], number, "hi", message_id="SM0")
        head = ledger.head()
    finally:
        ledger.close()
    return {
        "events": head,
        "what_if_key": teams[-1][1],
        "router_key": teams[0][1],
        "router_number": teams[0][2],
        "router_phones": [to for _, to in teams[0][4]],
    }


def fresh_database(admin_url: str) -> str:
    name = f"fairness_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(checkout: Path, url: str, port: int, scratch: str) -> subprocess.Popen[bytes]:
    """The checkout's `scripts/serve`, writing nothing into the checkout."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "DELIVERY_WORKER": "false",
        "ACCESS_LOG": "false",
        "SECRET_KEY": "fairness-measurement",
        "MAILDIR": f"{scratch}/mail",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    proc = subprocess.Popen(
        [str(checkout / "scripts" / "serve")], env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start") from None
            time.sleep(0.1)  # polling a readiness condition, with a deadline


def route_latencies(
    base: str, history: dict[str, Any], seconds: float, tag: str
) -> list[float]:
    """Another tenant routes an SMS every 50 ms; the latency of each."""
    headers = {"Authorization": f"Bearer {history['router_key']}"}
    latencies = []
    ends = time.monotonic() + seconds
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        i = 0
        while time.monotonic() < ends:
            body = {
                "from": random.choice(history["router_phones"]),
                "to": history["router_number"],
                "body": "hi",
                "message_id": f"{tag}-{i}",
            }
            began = time.perf_counter()
            response = client.post("/v1/inbound-sms", json=body)
            latencies.append(time.perf_counter() - began)
            assert response.status_code == 201, response.text
            i += 1
            time.sleep(max(0.0, 0.05 - latencies[-1]))  # pacing, not synchronisation
    return latencies


def what_ifs(
    base: str, key: str, clients: int, stop: threading.Event
) -> dict[str, int]:
    counts = {"200": 0, "429": 0, "other": 0}
    lock = threading.Lock()

    def loop() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        body = {"policy": "most_recent_interaction"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            while not stop.is_set():
                response = client.post("/v1/routing-decisions/what-if", json=body)
                code = str(response.status_code)
                with lock:
                    counts[code if code in counts else "other"] += 1
                if response.status_code == 429:
                    stop.wait(float(response.headers.get("Retry-After", "1")))

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument(
        "--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--database-url", help="reuse a history written before")
    parser.add_argument("--keys", type=Path, default=Path("var/fairness.json"))
    parser.add_argument("--events", type=int, default=52_000)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--what-ifs", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    if args.database_url:
        url = args.database_url
        history = json.loads(args.keys.read_text())
    else:
        url = fresh_database(args.admin_url)
        history = generate(url, args.events, args.accounts)
        args.keys.parent.mkdir(parents=True, exist_ok=True)
        args.keys.write_text(json.dumps(history))
        print(f"history: {history['events']} events in {url}")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as scratch:
        proc = serve(args.checkout, url, port, scratch)
        try:
            run = uuid.uuid4().hex[:6]
            route_latencies(base, history, 2, f"warm-{run}")
            idle = route_latencies(base, history, args.seconds, f"idle-{run}")
            stop = threading.Event()
            counts: dict[str, int] = {}
            load = threading.Thread(
                target=lambda: counts.update(
                    what_ifs(base, history["what_if_key"], args.what_ifs, stop)
                )
            )
            load.start()
            try:
                loaded = route_latencies(base, history, args.seconds, f"load-{run}")
            finally:
                stop.set()
                load.join()
        finally:
            proc.terminate()
            proc.wait(30)

    def p50(values: list[float]) -> float:
        return statistics.median(values) * 1000

    print(f"checkout: {args.checkout}")
    print(f"ledger: {history['events']} events, {url}")
    print(f"routing p50 idle:   {p50(idle):8.1f} ms ({len(idle)} requests)")
    print(f"routing p50 loaded: {p50(loaded):8.1f} ms ({len(loaded)} requests)")
    print(f"ratio: {p50(loaded) / p50(idle):.2f}x")
    print(f"what-ifs answered: {counts}")


if __name__ == "__main__":
    main()
