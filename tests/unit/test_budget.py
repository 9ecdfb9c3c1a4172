"""A profile's samples attributed to the steps of a request."""

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import budget

LOOP = "run (asyncio/runners.py:118)"
BATCH = "_run (smsledger/ledger/batch.py:84);_carry_out (smsledger/ledger/batch.py:92)"
APPEND = (
    f"{BATCH};append_each (smsledger/ledger/commit.py:60);"
    "insert_events (smsledger/projections/postgres.py:109)"
)
READ = (
    f"{BATCH};_prepare (smsledger/ledger/batch.py:128);"
    "read (smsledger/projections/postgres_view.py:130);execute (psycopg/cursor.py:97)"
)
DECIDE = (
    f"{BATCH};_prepare (smsledger/ledger/batch.py:131);step (batch.py:112);"
    "_decide (smsledger/ledger/routing.py:200);decide (smsledger/domain/routing.py:40)"
)
DELIVERY = (
    "run (smsledger/ledger/delivery.py:244);run_once (smsledger/ledger/delivery.py:110)"
)


def stack(text: str) -> tuple[str, ...]:
    return tuple(text.split(";"))


def test_raw_lines_become_stacks_with_their_counts():
    lines = [f"{LOOP};{READ} 3\n", f"{LOOP};{READ} 2\n", "not a sample\n", "\n"]

    assert budget.stacks(lines) == Counter({stack(f"{LOOP};{READ}"): 5})


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        (READ, "the read"),
        (DECIDE, "decide, or make the note"),
        (APPEND, "the append"),
        (f"{APPEND};info (logging/__init__.py:1489)", "logging"),
        (f"{DELIVERY};_deliver (d.py:1);_compose (smsledger/ledger/delivery.py:190)",
         "mail: rendering"),
        (f"{DELIVERY};send (smsledger/ledger/mail.py:200);sendmail (smtplib.py:880)",
         "mail: sending (SMTP)"),
        (f"{DELIVERY};{APPEND}", "mail: claiming and recording"),
        (f"{LOOP};_parsed (smsledger/api/hot.py:170)", "parsing: HTTP, JSON, numbers"),
        (f"{LOOP};data_received (uvicorn/protocols/http/httptools_impl.py:150)",
         "parsing: HTTP, JSON, numbers"),
        (f"{LOOP};_run_once (asyncio/base_events.py:1900)", budget.REST),
    ],
    ids=["read", "decide", "append", "log-in-append", "mail-render", "smtp",
         "delivery-append", "json", "http", "rest"],
)  # fmt: skip
def test_a_stack_goes_to_its_step(frames, expected):
    assert budget.bucket(stack(frames)) == expected


def test_budget_gives_cpu_a_request_and_the_round_trips_waits():
    cpu = Counter({stack(APPEND): 50, stack(READ): 25, stack(LOOP): 100})
    # The wall profile also has the threads' idle time in their round trips.
    wall = Counter({stack(APPEND): 250, stack(READ): 75, stack(LOOP): 900})

    lines = {
        line.bucket: line for line in budget.budget(cpu, wall, hz=250, requests=100)
    }

    # 50 samples at 250 a second are 0.2 s, over 100 requests.
    assert lines["the append"].cpu_ms == pytest.approx(2.0)
    assert lines["the append"].wait_ms == pytest.approx(8.0)
    assert lines["the read"].cpu_ms == pytest.approx(1.0)
    assert lines["the read"].wait_ms == pytest.approx(2.0)
    assert lines[budget.REST].wait_ms is None
    assert lines["logging"].cpu_ms == 0
    table = budget.markdown(list(lines.values()))
    assert table[-1] == "| all | 7.000 ms | |"
