"""A small HTTP/1.1 load generator on asyncio streams, for the benchmark.

It keeps connections alive and writes prebuilt requests, so that on a 2-core
machine the client spends little of the CPU the server under test needs. While
it measures, its garbage collector is off: a collection of the benchmark's heap
stalls this loop for 15 ms or more, which would show as the server's latency.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

Body = Callable[[int], bytes]
CONNECTIONS = 32  # an open loop's connections, and its baseline's


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Connection:
    def __init__(self, host: str, port: int, path: str, token: str) -> None:
        self.host, self.port = host, port
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, body: bytes) -> int:
        assert self.reader
        assert self.writer
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        return await read_answer(self.reader)

    def close(self) -> None:
        if self.writer:
            self.writer.close()


async def read_answer(reader: asyncio.StreamReader) -> int:
    """An HTTP answer's status, once its whole body is read."""
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _connections(
    count: int, host: str, port: int, path: str, token: str
) -> list[Connection]:
    connections = [Connection(host, port, path, token) for _ in range(count)]
    await asyncio.gather(*(c.open() for c in connections))
    return connections


@asynccontextmanager
async def _no_collection() -> AsyncIterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def closed_loop(
    host: str, port: int, path: str, token: str, body: Body,
    clients: int, seconds: float, ok: int = 201, warmup: float = 0.0,
) -> Result:  # fmt: skip
    """`clients` connections, each sending its next request when answered.

    The first `warmup` seconds, on the same connections, are not counted: the
    workers that serve them are those measured (see `open_loop`).
    """
    connections = await _connections(clients, host, port, path, token)
    counter = iter(range(10**12))

    async def run(seconds: float) -> Result:
        result = Result()
        deadline = time.perf_counter() + seconds

        async def client(connection: Connection) -> None:
            while (start := time.perf_counter()) < deadline:
                status = await connection.post(body(next(counter)))
                if status != ok:
                    result.errors += 1
                    continue
                result.latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(client(c) for c in connections))
        result.seconds = time.perf_counter() - began
        return result

    async with _no_collection():
        await run(warmup)
        result = await run(seconds)
    for connection in connections:
        connection.close()
    return result


async def open_loop(
    host: str, port: int, path: str, token: str, body: Body,
    rate: float, seconds: float, ok: int = 201, pool: int = CONNECTIONS,
    warmup: float = 0.0,
) -> Result:  # fmt: skip
    """HTTP requests at a fixed rate (see `at_rate`), over `pool` connections.

    The warm-up runs on the same connections as the measurement. A server
    process's first requests of a kind are slow while its database
    connections load their caches and plans, and the kernel may hand new
    connections to any worker: warming on other connections could leave the
    measured worker cold.
    """
    connections = await _connections(pool, host, port, path, token)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    counter = iter(range(10**12))

    async def send() -> bool:
        connection = await idle.get()
        try:
            return await connection.post(body(next(counter))) == ok
        finally:
            idle.put_nowait(connection)

    result = await at_rate(send, rate, seconds, warmup)
    for connection in connections:
        connection.close()
    return result


async def at_rate(
    send: Callable[[], Awaitable[bool]], rate: float, seconds: float,
    warmup: float = 0.0,
) -> Result:  # fmt: skip
    """`send` (which says whether it succeeded) at a fixed rate, whatever the
    answers; each latency counts from the time the request was due.

    A late answer delays no later request, so queueing shows in the latency.
    Each request is started at its time, not all scheduled ahead, so that the
    generator's own work does not delay the first ones. The first `warmup`
    seconds at the same rate are not counted.
    """

    async def one(result: Result, scheduled: float) -> None:
        if await send():
            result.latencies.append(time.perf_counter() - scheduled)
        else:
            result.errors += 1

    async def run(seconds: float) -> Result:
        result = Result()
        running: set[asyncio.Task[None]] = set()
        began = time.perf_counter()
        for i in range(int(rate * seconds)):
            scheduled = began + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            task = asyncio.create_task(one(result, scheduled))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
        result.seconds = time.perf_counter() - began
        return result

    async with _no_collection():
        await run(warmup)
        return await run(seconds)
