"""An open-loop HTTP load: Poisson arrivals or bursts, latency from each
request's scheduled time.

Users do not wait for one answer before the next SMS arrives: requests come
when they come, and a slow answer delays no later request. So each request
has a time it is due, drawn before the run, and its latency counts from that
time, not from when a free connection let it go: queueing behind a stall
shows in the latency instead of being left out (coordinated omission).

Why not an existing tool: wrk2 and vegeta send at a constant rate; oha ignores
its bursts when it is given a rate, and counts latency from the schedule only
at a constant one. None sends Poisson arrivals or bursts while counting from
each request's scheduled time. This is small, on asyncio streams, over
connections kept alive; its garbage collector is off while it measures (a
collection stalls the loop, which would show as the server's latency), and
`late` says how far behind its own schedule it sent.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loadgen import read_answer

Request = Callable[[int], bytes]  # the whole HTTP/1.1 request of the i-th send


def poisson(rate: float, seconds: float, seed: int = 7) -> list[float]:
    """Send times (from 0) of a Poisson process of `rate` a second."""
    rng = random.Random(seed)
    times: list[float] = []
    at = rng.expovariate(rate)
    while at < seconds:
        times.append(at)
        at += rng.expovariate(rate)
    return times


def bursts(size: int, period: float, seconds: float) -> list[float]:
    """`size` requests at once every `period` seconds: size / period a second."""
    return [n * period for n in range(round(seconds / period)) for _ in range(size)]


def latencies(scheduled: list[float], answered: list[float | None]) -> list[float]:
    """Each answered request's latency from its scheduled time; None: failed."""
    return [done - due for due, done in zip(scheduled, answered, strict=True) if done]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    late: float = 0.0  # the latest send after its scheduled time

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        return percentile(self.latencies, share)


def post(host: str, port: int, path: str, token: str) -> Callable[[bytes], bytes]:
    """A POST of a JSON body, as the API's clients send it."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    return lambda body: head + str(len(body)).encode() + b"\r\n\r\n" + body


def get(host: str, port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()


class Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, request: bytes) -> int:
        """The answer's status, once its whole body is read."""
        self.writer.write(request)
        return await read_answer(self.reader)


async def run(
    host: str, port: int, request: Request, schedule: list[float],
    *, ok: int, pool: int = 32, warmup: list[float] | None = None,
) -> Result:  # fmt: skip
    """Send `request(i)` at each time of `schedule` over `pool` kept-alive
    connections; a request due while all are busy waits for one, and that
    wait counts. The `warmup` schedule runs first on the same connections
    (so on the same server processes), not counted."""
    opened = [await asyncio.open_connection(host, port) for _ in range(pool)]
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for reader, writer in opened:
        idle.put_nowait(Connection(reader, writer))
    counter = iter(range(10**12))

    async def one(
        n: int, due: float, result: Result, answered: list[float | None]
    ) -> None:
        connection = await idle.get()
        result.late = max(result.late, time.perf_counter() - due)
        try:
            status = await connection.send(request(next(counter)))
        finally:
            idle.put_nowait(connection)
        if status == ok:
            answered[n] = time.perf_counter()

    async def timed(schedule: list[float]) -> Result:
        result = Result()
        answered: list[float | None] = [None] * len(schedule)
        tasks: list[asyncio.Task[None]] = []
        began = time.perf_counter()
        due_times = [began + at for at in schedule]
        for n, due in enumerate(due_times):
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(n, due, result, answered)))
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - began
        result.latencies = latencies(due_times, answered)
        result.errors = answered.count(None)
        return result

    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        if warmup:
            await timed(warmup)
        return await timed(schedule)
    finally:
        if enabled:
            gc.enable()
        for _, writer in opened:
            writer.close()
