"""The open loop's schedules and its latency from each request's due time."""

import itertools
import statistics
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import openloop


def test_poisson_arrivals_come_at_the_rate_with_exponential_gaps():
    times = openloop.poisson(200, 60)

    assert times == sorted(times)
    assert times[0] >= 0
    assert times[-1] < 60
    assert len(times) == pytest.approx(200 * 60, rel=0.03)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # An exponential gap's standard deviation equals its mean; a constant
    # rate's is zero.
    assert statistics.stdev(gaps) / statistics.mean(gaps) == pytest.approx(1, abs=0.05)


def test_poisson_schedule_is_the_same_for_the_same_seed_only():
    assert openloop.poisson(200, 2, seed=1) == openloop.poisson(200, 2, seed=1)
    assert openloop.poisson(200, 2, seed=1) != openloop.poisson(200, 2, seed=2)


def test_bursts_send_ten_at_once_every_50_ms_at_200_a_second():
    times = openloop.bursts(10, 0.05, 2.0)

    assert len(times) == 400
    moments = sorted(set(times))
    assert [times.count(t) for t in moments] == [10] * 40
    assert [b - a for a, b in itertools.pairwise(moments)] == (
        pytest.approx([0.05] * 39)
    )


def test_latency_counts_from_the_scheduled_time_and_leaves_out_failures():
    due = [1.0, 1.01, 1.02]
    # The second failed; the third was sent late, behind a stall.
    answered = [1.004, None, 1.5]

    assert openloop.latencies(due, answered) == pytest.approx([0.004, 0.48])


def test_percentile_of_none_is_nan_and_of_a_hundred_the_99th():
    assert openloop.percentile([], 0.99) != openloop.percentile([], 0.99)
    assert openloop.percentile([i / 100 for i in range(100)], 0.99) == 0.99
