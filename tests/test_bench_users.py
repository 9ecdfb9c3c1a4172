"""The users' benchmark: its open loop over HTTP, and a run end to end (its
figures are not checked: it is no test)."""

import asyncio
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import openloop  # noqa: E402

SERVICE_SECONDS = 0.1


async def slow_server(reader, writer):
    """Answers each request on its connection 0.1 s after reading it."""
    while head := await reader.readuntil(b"\r\n\r\n"):
        length = re.search(rb"Content-Length: (\d+)", head)
        await reader.readexactly(int(length.group(1)) if length else 0)
        await asyncio.sleep(SERVICE_SECONDS)  # the service time under test
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()


def test_open_loop_counts_the_wait_behind_a_slow_answer_in_latency():
    async def run():
        server = await asyncio.start_server(slow_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await openloop.run(
                "127.0.0.1", port, lambda i: openloop.get("127.0.0.1", port, "/"),
                [0.0, 0.01, 0.02, 0.03, 0.04], ok=200, pool=1,
            )  # fmt: skip

    # On a thread of its own: another test's event loop may still be running
    # on this one, and asyncio.run refuses to start beside it.
    with ThreadPoolExecutor(1) as thread:
        result = thread.submit(lambda: asyncio.run(run())).result()

    # One connection: each request waits for those before it. Counted from
    # when it was sent, each would take 0.1 s; from when it was due, the
    # fifth takes 5 x 0.1 - 0.04 s.
    assert result.errors == 0
    assert sorted(result.latencies)[-1] == pytest.approx(0.46, abs=0.04)
    assert result.late >= 0.36


def test_bench_users_smoke_run_measures_both_set_ups(postgres_admin_url, tmp_path):
    output = tmp_path / "users.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/bench.py"), "--users", "--smoke",
         "--output", str(output)],
        env={**os.environ, "BENCH_DATABASE_URL": postgres_admin_url},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = output.read_text()
    header = next(line for line in text.splitlines() if line.startswith("| measure"))
    assert "default" in header
    assert "split" in header
    rows = {
        line.split(" | ")[0].strip("| "): line.split(" | ")[1:3]
        for line in text.splitlines()
        if line.startswith("| ")
    }
    assert (
        "x" in rows["recording, wrk at 32 connections, vs plain `save` at 2 threads"][0]
    )
    for setup in rows["mails the SMTP sink accepted"]:
        assert int(setup.replace(",", "")) > 0  # delivery was on, to the sink
    assert rows["requests failed (recording, routing)"] == ["0, 0", "0, 0"]
    assert "a route alone, one every 20 ms: p50, p99" in rows
    # Delivery's lag was read while routing ran, in seconds, for each set-up.
    for cell in rows["oldest pending mail while routing (Poisson; bursts), at most"]:
        poisson, bursts = (float(part.removesuffix(" s")) for part in cell.split("; "))
        assert 0 <= poisson < 60
        assert 0 <= bursts < 60
    assert "Budget of a route" in text
    assert "Budget of a note" in text
    assert rows["the append"][0].endswith("ms")
