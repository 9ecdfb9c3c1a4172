"""The console's pages under the benchmark: how long the server takes to
answer the messages page (with and without filters) and one message's page,
beside the 100 ms a person should wait at most.

Each page is asked for in turn by one signed-in client on a kept-alive
connection. The server's own time is read from the `Server-Timing` header the
console sets (its handler, from reading the session to the rendered page);
the time over HTTP on loopback is given beside it.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from urllib.parse import quote, urlencode

import httpx

BUDGET = 0.100  # seconds, at p95
TIMING = re.compile(r"app;dur=([0-9.]+)")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in(port: int, api_key: str) -> httpx.Client:
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", timeout=60, follow_redirects=True
    )
    page = client.get("/sign-in")
    found = TOKEN.search(page.text)
    assert found, page.text
    answer = client.post(
        "/sign-in", data={"csrf_token": found.group(1), "api_key": api_key}
    )
    if answer.status_code != 200 or "/decisions" not in str(answer.url):
        raise SystemExit(f"cannot sign in to the console: {answer.status_code}")
    return client


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
    api_key: str,
    senders: list[str],
    recipients: list[str],
    day: str,
    samples: int,
    add: Callable[[str, str, str, str], None],
) -> int:
    """Time the pages; report each row through `add`; the decisions seen."""
    client = signed_in(port, api_key)
    try:
        with httpx.Client(
            base_url=client.base_url, headers={"Authorization": f"Bearer {api_key}"}
        ) as api:
            page = api.get("/v1/routing-decisions", params={"limit": 200}).json()
        ids = [d["message_id"] for d in page["items"]]
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
    return len(ids)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
