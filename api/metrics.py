"""/metrics in Prometheus's text format, and the request timings behind it.

Counts made by each process (requests, decisions, commits, mail tries, alert
streams) are summed over the server's worker processes when
PROMETHEUS_MULTIPROC_DIR is set, as `scripts/serve` does. Gauges of state
(the mail queue, held messages, lag) are read from the database at each
scrape: whichever process or machine changed them, it knows.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from bisect import bisect_left
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsledger.ledger.replicas import Replicas
from smsledger.ledger.storage import UNAVAILABLE

# Upper bounds of the request timing buckets, in seconds.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
REQUESTS = Histogram(
    "smsledger_http_request_duration_seconds",
    "Time to answer a request, by method, route template and status.",
    ["method", "route", "status"],
    buckets=REQUEST_BUCKETS,
)
ALERT_STREAMS = Gauge(
    "smsledger_alert_streams_open",
    "Alert streams (GET /v1/users/{user_id}/alerts) open now.",
    multiprocess_mode="livesum",
)
# How long a request's timing may wait in its process before /metrics sees it.
FLUSH_SECONDS = 1.0

router = APIRouter(tags=["operations"])

Labels = tuple[str, str, str]


class RequestTimings:
    """This process's request timings, added to REQUESTS at most a second later.

    With several workers, observing a histogram takes a lock and writes two
    values into a memory-mapped file: per request, that was most of what timing
    cost. Here a request adds to plain counts instead, and the counts are added
    to the histogram a second after the first of them, before this process
    answers a scrape, and when it stops. Only the event loop's thread touches
    them, so they need no lock."""

    def __init__(self) -> None:
        # Per labels: the sum of seconds, then a count per bucket, +Inf last.
        self._counts: dict[Labels, list[float]] = {}
        # The loop a flush is due on; None once flushed.
        self._flush_on: asyncio.AbstractEventLoop | None = None

    def observe(self, labels: Labels, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        # A loop of its own, not only a flag: a test's loop may end before
        # the flush it was to run.
        if self._flush_on is not loop:
            self._flush_on = loop
            loop.call_later(FLUSH_SECONDS, self.flush)
        counts = self._counts.get(labels)
        if counts is None:
            counts = self._counts[labels] = [0.0] * (len(REQUEST_BUCKETS) + 2)
        counts[0] += seconds
        counts[bisect_left(REQUEST_BUCKETS, seconds) + 1] += 1

    def flush(self) -> None:
        self._flush_on = None
        counts, self._counts = self._counts, {}
        for labels, (total, *buckets) in counts.items():
            child = REQUESTS.labels(*labels)
            # What Histogram.observe does, a batch at a time: prometheus_client
            # has no public call to add many observations at once.
            child._sum.inc(total)
            for bucket, count in zip(child._buckets, buckets, strict=True):
                if count:
                    bucket.inc(count)


class RequestMetrics:
    """ASGI middleware: times every request, the hot routes' included, by the
    route that served it; `unmatched` for a path no route has."""

    def __init__(self, app: ASGIApp, hot_paths: Collection[str]) -> None:
        self.app = app
        self.hot_paths = frozenset(hot_paths)
        self.timings = RequestTimings()
        self._labels: dict[tuple[str, str, int], Labels] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            if scope["type"] == "lifespan":  # the server stops: keep the last
                self.timings.flush()
            return
        if scope["path"] == "/metrics":
            self.timings.flush()
        began = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.timings.observe(
                self._labels_of(scope, status), time.perf_counter() - began
            )

    def _labels_of(self, scope: Scope, status: int) -> Labels:
        route = getattr(scope.get("route"), "path", None)
        if route is None:
            route = scope["path"] if scope["path"] in self.hot_paths else "unmatched"
        key = (scope["method"], route, status)
        labels = self._labels.get(key)
        if labels is None:
            labels = self._labels[key] = (key[0], route, str(status or "none"))
        return labels


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus's text format; no key needed (keep it off the public side)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseGauges(request.app.state.replicas))
    directory = request.app.state.settings.prometheus_multiproc_dir
    text = generate_latest(processes(directory)) + generate_latest(registry)
    return Response(text, media_type=CONTENT_TYPE_LATEST)


def processes(directory: str | None) -> CollectorRegistry:
    """Every worker process's counts, summed; or this process's."""
    if not directory:
        return REGISTRY
    _forget_dead(Path(directory))
    registry = CollectorRegistry()
    # prometheus_client's multiprocess module has no annotations.
    MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    return registry


_LIVE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db")


def _forget_dead(directory: Path) -> None:
    """Drop the live gauges of worker processes that died without a word
    (killed, then restarted by the server): their streams are gone too."""
    for path in directory.glob("gauge_live*.db"):
        match = _LIVE_FILE.fullmatch(path.name)
        if match and not _alive(int(match.group(1))):
            # Untyped in prometheus_client, as above.
            mark_process_dead(int(match.group(1)), str(directory))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DatabaseGauges(Collector):
    """The state of the queue, the held messages and the lag, as the primary
    (and each standby) says it is now."""

    def __init__(self, replicas: Replicas) -> None:
        self.replicas = replicas
        self.ledger = replicas.primary

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "smsledger_database_up",
            "1 if the database answered this scrape, else 0.",
            labels=["database"],
        )
        try:
            now = self.ledger.gauges()
        except UNAVAILABLE:
            up.add_metric(["primary"], 0)
            yield up
            return
        up.add_metric(["primary"], 1)
        yield _gauge("smsledger_ledger_head", "The ledger's last position.", now.head)
        yield _gauge(
            "smsledger_mail_pending", "Mails waiting to be sent.", now.mail_pending
        )
        yield _gauge(
            "smsledger_mail_failed",
            "Mails given up on (refused for good); they stay until handled.",
            now.mail_failed,
        )
        age = (
            (datetime.now(UTC) - now.oldest_pending).total_seconds()
            if now.oldest_pending
            else 0.0
        )
        yield _gauge(
            "smsledger_mail_oldest_pending_age_seconds",
            "How long ago the oldest mail still waiting was routed; 0 if none.",
            max(0.0, age),
        )
        yield _gauge(
            "smsledger_mail_pending_max_tries",
            "The most tries any mail still waiting has had.",
            now.most_tries_pending,
        )
        yield _gauge(
            "smsledger_handoff_mail_pending",
            "Mails of hand-offs waiting to be sent to the user handed to.",
            now.handoff_mail_pending,
        )
        yield _gauge(
            "smsledger_handoff_mail_failed",
            "Mails of hand-offs given up on (refused for good).",
            now.handoff_mail_failed,
        )
        yield _gauge(
            "smsledger_replies_queued",
            "Replies waiting to be sent through Twilio.",
            now.replies_queued,
        )
        yield _gauge(
            "smsledger_replies_failed",
            "Replies Twilio refused (4xx) on every try; they stay until handled.",
            now.replies_failed,
        )
        waited = (
            (datetime.now(UTC) - now.oldest_queued_reply).total_seconds()
            if now.oldest_queued_reply
            else 0.0
        )
        yield _gauge(
            "smsledger_replies_oldest_queued_age_seconds",
            "How long ago the oldest reply still waiting was asked for; 0 if none.",
            max(0.0, waited),
        )
        yield _gauge(
            "smsledger_held_messages",
            "Inbound SMS held because their number is not configured.",
            now.held,
        )
        lag = GaugeMetricFamily(
            "smsledger_view_lag_events",
            "Events of the ledger a copy of the routing view has not folded yet:"
            " the live view (always 0: it is folded with each append), a rebuild"
            " in progress, and each standby's copy.",
            labels=["copy", "where"],
        )
        lag.add_metric(["live", "primary"], 0)
        for version, position in now.builds:
            lag.add_metric(["rebuild", f"v{version}"], max(0, now.head - position))
        for name, behind in self.replicas.lags():
            up.add_metric([f"standby {name}"], 0 if behind is None else 1)
            if behind is not None:
                lag.add_metric(["standby", name], behind)
        yield lag
        yield up


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
