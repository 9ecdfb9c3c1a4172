"""Request timings kept in the process, then added to the shared histogram:
each in the bucket Prometheus would put it in, and none lost or counted twice."""

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import REGISTRY

from smsledger.api.metrics import FLUSH_SECONDS, RequestTimings

NAME = "smsledger_http_request_duration_seconds"


def sample(suffix: str, route: str, **labels: str) -> float:
    labels = {"method": "GET", "route": route, "status": "200", **labels}
    return REGISTRY.get_sample_value(NAME + suffix, labels) or 0.0


def run_in_a_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """`main` on an event loop of its own, in a thread: a test before may
    have left a loop running in this one."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:
            failed.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def test_each_timing_lands_in_its_bucket_once_flushed():
    route = "/unit/buckets"
    timings = RequestTimings()

    async def observe() -> None:
        for seconds in (0.001, 0.003, 0.003, 20.0):
            timings.observe(("GET", route, "200"), seconds)
        assert sample("_count", route) == 0  # not yet added
        timings.flush()

    run_in_a_loop(observe)

    assert sample("_count", route) == 4
    assert sample("_sum", route) == 20.007
    # Cumulative, bounds included: 0.001 is in the 0.001 bucket.
    assert sample("_bucket", route, le="0.001") == 1
    assert sample("_bucket", route, le="0.0025") == 1
    assert sample("_bucket", route, le="0.005") == 3
    assert sample("_bucket", route, le="10.0") == 3
    assert sample("_bucket", route, le="+Inf") == 4


def test_timings_are_added_within_a_second_without_a_scrape():
    route = "/unit/later"
    timings = RequestTimings()

    async def observe_then_wait() -> None:
        timings.observe(("GET", route, "200"), 0.01)
        deadline = time.monotonic() + FLUSH_SECONDS + 5
        while sample("_count", route) < 1:
            assert time.monotonic() < deadline, "never added"
            await asyncio.sleep(0.05)  # polling interval, not synchronisation
        timings.observe(("GET", route, "200"), 0.01)
        timings.flush()

    run_in_a_loop(observe_then_wait)

    assert sample("_count", route) == 2
