"""The console's pages under the benchmark: how long the server takes to
answer the messages page (with and without filters) and one message's page,
beside the 100 ms a person should wait at most.

Each page is asked for in turn by one client on a kept-alive connection,
with a session cookie of the account (made with the server's SECRET_KEY).
The server's own time is read from the `Server-Timing` header the console
sets (its handler, from reading the session to the rendered page); the time
over HTTP on loopback is given beside it.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from urllib.parse import quote, urlencode

import httpx

from smsledger.api.web.sessions import COOKIE, Session, Sessions

BUDGET = 0.100  # seconds, at p95
TIMING = re.compile(r"app;dur=([0-9.]+)")


def session_cookie(secret: str, account_id: str) -> str:
    """A session of the account, as the console's sign-in would make it."""
    store = Sessions(secret)
    return store.serializer.dumps(asdict(Session.anonymous().signed_in(account_id)))


def filtered_pages(senders: list[str], recipients: list[str], day: str) -> list[str]:
    """One of each filter the console offers, on values the ledger holds."""
    rng = random.Random(9)
    queries = [
        {"rule": "previous_call"},
        {"rule": "unknown_sender"},
        {"status": "held"},
        {"delivery": "failed"},
        {"recipient": rng.choice(recipients)},
        {"sender": rng.choice(senders)},
        {"since": day, "until": day},
        {"rule": "previous_sms", "sender": rng.choice(senders)},
    ]
    return ["/decisions?" + urlencode(q) for q in queries]


def measure(
    port: int,
    cookie: str,
    message_ids: list[str],
    senders: list[str],
    recipients: list[str],
    day: str,
    samples: int,
    add: Callable[[str, str, str, str], None],
) -> None:
    """Time the pages; report each row through `add`."""
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        cookies={COOKIE: cookie},
        timeout=60,
    )
    try:
        ids = message_ids
        kinds = {
            "messages page, no filter": ["/decisions"],
            "messages page, one of 8 filters": filtered_pages(senders, recipients, day),
            "one message's page": [f"/decisions/{quote(i, safe='')}" for i in ids],
        }
        for label, paths in kinds.items():
            for path in paths[:3]:  # warm-up, not counted
                client.get(path)
            server: list[float] = []
            total: list[float] = []
            for n in range(samples):
                path = paths[n % len(paths)]
                began = time.perf_counter()
                answer = client.get(path)
                total.append(time.perf_counter() - began)
                assert answer.status_code == 200, (path, answer.status_code)
                timing = TIMING.search(answer.headers.get("server-timing", ""))
                assert timing, answer.headers
                server.append(float(timing.group(1)) / 1000)
            for name, values in (("server side", server), ("over HTTP", total)):
                p50, p95 = _percentile(values, 0.5), _percentile(values, 0.95)
                add(
                    f"console: {label}, {name} p50 / p95 ({samples} requests)",
                    f"{p50 * 1000:.1f} / {p95 * 1000:.1f} ms",
                    f"{BUDGET * 1000:.0f} ms at p95",
                    f"{BUDGET / p95:.1f}x" if p95 else "",
                )
    finally:
        client.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
