"""Request timings kept in the process, then added to the shared histogram:
each in the bucket Prometheus would put it in, and none lost or counted twice."""

import asyncio
import time

from prometheus_client import REGISTRY

from smsledger.api.metrics import FLUSH_SECONDS, RequestTimings

NAME = "smsledger_http_request_duration_seconds"


def sample(suffix: str, route: str, **labels: str) -> float:
    labels = {"method": "GET", "route": route, "status": "200", **labels}
    return REGISTRY.get_sample_value(NAME + suffix, labels) or 0.0


def test_each_timing_lands_in_its_bucket_once_flushed():
    route = "/unit/buckets"
    timings = RequestTimings()

    async def observe() -> None:
        for seconds in (0.001, 0.003, 0.003, 20.0):
            timings.observe(("GET", route, "200"), seconds)
        assert sample("_count", route) == 0  # not yet added
        timings.flush()

    asyncio.run(observe())

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

    asyncio.run(observe_then_wait())

    assert sample("_count", route) == 2
