"""A profile's samples attributed to the steps of a request."""

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import budget

HTTP = "uvicorn/protocols/http/httptools_impl.py"
LOOP = "Runner.run (asyncio/runners.py:118)"
BATCH = "Batcher._run (ledger/batch.py:84);Batcher._carry_out (ledger/batch.py:95)"
APPEND = (
    f"{BATCH};GroupCommit.append_each (ledger/commit.py:61);"
    "LedgerPostgresRecorder.insert_events (projections/postgres.py:109)"
)
READ = (
    f"{BATCH};Batcher._prepare (ledger/batch.py:128);"
    "PostgresRoutingView.read (projections/postgres_view.py:140);"
    "Cursor.execute (psycopg/cursor.py:113)"
)
DECIDE = (
    f"{BATCH};Batcher._prepare (ledger/batch.py:131);step (ledger/batch.py:112);"
    "Routing._decide (ledger/routing.py:200);decide (domain/routing.py:40)"
)
HOT = (
    f"{LOOP};RequestResponseCycle.run_asgi ({HTTP}:409);"
    "HotRoutes.__call__ (api/hot.py:118)"
)
DELIVERY = (
    "DeliveryWorker.run (ledger/delivery.py:243);"
    "DeliveryWorker.run_once (ledger/delivery.py:113)"
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
        (f"{APPEND};Logger.info (logging/__init__.py:1489)", "logging"),
        (f"{DELIVERY};compose_all (ledger/compose.py:20);"
         "render (ledger/mail_bytes.py:40)",
         "mail: rendering"),
        (f"{DELIVERY};compose_all (ledger/compose.py:20);"
         f"{READ}",
         "mail: reading, claiming and recording"),
        ("Records._run (ledger/delivered.py:71);"
         "DeliveryCommands.record_accepted (ledger/outcomes.py:55);"
         f"{APPEND}",
         "mail: reading, claiming and recording"),
        (f"{DELIVERY};Smtp.send (ledger/mail.py:200);SMTP.sendmail (smtplib.py:880)",
         "mail: sending (SMTP)"),
        (f"{DELIVERY};{APPEND}", "mail: reading, claiming and recording"),
        (f"{LOOP};_parsed (api/hot.py:170)", "parsing: HTTP, JSON, numbers"),
        (f"{LOOP};HttpToolsProtocol.data_received ({HTTP}:150)",
         "parsing: HTTP, JSON, numbers"),
        (f"{HOT};_parsed (api/hot.py:170)", "parsing: HTTP, JSON, numbers"),
        (f"{BATCH};Batcher._prepare (ledger/batch.py:121);"
         "Routing.prepare_route (ledger/routing.py:150);"
         "parse_phone (domain/values.py:30)", "parsing: HTTP, JSON, numbers"),
        (HOT, "the answer: JSON out, HTTP write"),
        (f"{HOT};RequestResponseCycle.send ({HTTP}:480);"
         "Logger.info (logging/__init__.py:1489)", "logging"),
        (LOOP, budget.LOOP),
        (f"{LOOP};NativeTelemetry.enabled (api/telemetry.py:20)", budget.REST),
        (f"{LOOP};RequestResponseCycle.run_asgi ({HTTP}:409);"
         "RequestIds.__call__ (api/logs.py:80)",
         "middlewares: request ids, metrics, limits"),
    ],
    ids=["read", "decide", "append", "log-in-append", "mail-render",
         "mail-read", "mail-record", "smtp",
         "delivery-append", "json", "http", "json-in-hot-route", "phone-number",
         "answer", "access-log", "event-loop", "rest", "middleware"],
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
    assert lines[budget.LOOP].cpu_ms == pytest.approx(4.0)
    assert lines[budget.LOOP].wait_ms is None
    assert lines["logging"].cpu_ms == 0
    # The kernel counted 3.5 ms of CPU a request: each step gets its share.
    table = budget.markdown(list(lines.values()), measured_ms=3.5)
    assert "| the append | 2.000 ms | 29% | 1.000 ms | 8.00 ms |" in table
    assert table[-1] == "| all | 7.000 ms | 100% | 3.500 ms | |"


def test_the_mail_steps_share_the_delivery_process_cpu_alone():
    mail = "Smtp.send (ledger/mail.py:200);SMTP.sendmail (smtplib.py:880)"
    cpu = Counter({stack(APPEND): 50, stack(mail): 150})
    lines = budget.budget(cpu, cpu, hz=250, requests=100)

    # The delivery process counted 1 ms a request, the server 2 ms: the
    # samples (6 ms of mail, 2 ms of append) do not say so, the kernel does.
    table = budget.markdown(lines, measured_ms=3.0, mail_ms=1.0)
    assert "| mail: sending (SMTP) | 6.000 ms | 75% | 1.000 ms |  |" in table
    assert "| the append | 2.000 ms | 25% | 2.000 ms | 0.00 ms |" in table
    total = "3.000 ms (delivery process 1.000 ms)"
    assert table[-1] == f"| all | 8.000 ms | 100% | {total} | |"
