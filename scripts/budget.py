"""Where a request's time goes: py-spy profiles of a server under load,
attributed to the steps of a route or a note by the frames on each stack.

    python scripts/budget.py CPU.txt WALL.txt --hz 250 --requests N

Both files are `py-spy record --format raw` of the same process over the
same seconds: CPU.txt of running threads only, WALL.txt with `--idle` too.
A thread sampled `hz` times a second stands for 1/hz seconds a sample, so
a step's samples over the requests served give its milliseconds a request.
The waits (a thread idle in the read's or the append's round trip, the
commit's flush included) are the wall profile's samples of that step less
the CPU profile's.

A stack goes to the first bucket of `BUCKETS` that any of its frames matches,
so a log line written inside the append counts as logging, and the delivery
thread's own appends as mail.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


def _frame(names: str, file: str = "") -> str:
    """A frame of a function of `names` (a regex), of a class or not, in a
    file whose path ends with `file`: py-spy writes `Class.name (dir/file:N)`."""
    return rf"^(?:[\w<>]+\.)*(?:{names}) \((?:[^)]*/)?{file}"


# (bucket, patterns of which one frame of the stack matches one).
_PATTERNS: list[tuple[str, tuple[str, ...]]] = [
    ("logging", (_frame(r"\w+", r"(?:logging/__init__|uvicorn/logging)\.py"),)),
    ("mail: rendering", (_frame("render|compose", r"mail(?:_bytes)?\.py"),)),
    ("mail: sending (SMTP)", (_frame(r"\w+", r"smtplib\.py"),)),
    (
        "mail: reading, claiming and recording",
        (_frame(r"\w+", r"ledger/deliver(?:y|ed)\.py"),),
    ),
    ("the append", (_frame("append_each|insert_events|collect_events"),)),
    ("the read", (_frame("read", r"projections/(?:postgres_view|sqlite)\.py"),)),
    (
        "parsing: HTTP, JSON, numbers",
        (
            _frame(r"data_received|on_\w+", r"httptools_impl\.py"),
            _frame("_parsed|_read|_headers|_caller", r"api/hot\.py"),
            _frame("parse_phone|parse_sender"),
        ),
    ),
    ("decide, or make the note", (_frame("_prepare", r"ledger/batch\.py"),)),
    (
        "the answer: JSON out, HTTP write",
        (
            _frame("_answer|_answer_one|_settle", r"ledger/batch\.py"),
            _frame("__call__", r"api/hot\.py"),
            _frame("send", r"httptools_impl\.py"),
        ),
    ),
    (
        "middlewares: request ids, metrics, limits",
        (_frame("__call__", r"api/(?:logs|metrics|limits|ratelimit|app)\.py"),),
    ),
]  # fmt: skip
BUCKETS: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile("|".join(patterns))) for name, patterns in _PATTERNS
]
# The event loop's own frame at the top of a stack: uvloop's C code runs,
# reading and writing sockets and parsing HTTP (httptools).
LOOP = "the event loop in C: sockets, HTTP parsing"
LOOP_LEAF = re.compile(_frame("run", r"asyncio/runners\.py"))
REST = "the rest"
MAIL = "mail: "  # the steps of the delivery process
WAITS = ("the read", "the append")  # round trips whose waits are reported


def stacks(lines: Iterable[str]) -> Counter[tuple[str, ...]]:
    """py-spy's raw output: `frame;frame;... count`, root first."""
    counted: Counter[tuple[str, ...]] = Counter()
    for line in lines:
        frames, _, count = line.rstrip("\n").rpartition(" ")
        if frames and count.isdigit():
            counted[tuple(frames.split(";"))] += int(count)
    return counted


def bucket(stack: tuple[str, ...]) -> str:
    for name, pattern in BUCKETS:
        if any(pattern.search(frame) for frame in stack):
            return name
    if stack and LOOP_LEAF.search(stack[-1]):
        return LOOP
    return REST


def attribute(counted: Counter[tuple[str, ...]]) -> Counter[str]:
    samples: Counter[str] = Counter()
    for stack, count in counted.items():
        samples[bucket(stack)] += count
    return samples


@dataclass
class Line:
    bucket: str
    cpu_ms: float
    wait_ms: float | None  # for WAITS only


def budget(
    cpu: Counter[tuple[str, ...]],
    wall: Counter[tuple[str, ...]],
    hz: float,
    requests: int,
) -> list[Line]:
    """Each bucket's CPU a request, in milliseconds, and the waits of the
    round trips; the CPU profile and the wall profile cover as many requests."""
    per = 1000.0 / hz / requests
    used = attribute(cpu)
    spent = attribute(wall)
    names = [name for name, _ in BUCKETS] + [LOOP, REST]
    return [
        Line(
            name,
            used[name] * per,
            max(0.0, spent[name] - used[name]) * per if name in WAITS else None,
        )
        for name in names
    ]


def markdown(
    lines: list[Line], measured_ms: float | None = None, mail_ms: float | None = None
) -> list[str]:
    """The budget as a table; with `measured_ms`, the CPU a request the
    kernel counted, shared out as the samples are. Sampled without pausing
    the process, a thread that waits for a core, the GIL or a socket can
    count as running, so the samples give the shares and the kernel the
    total. With `mail_ms`, the part of it the delivery process spent, which
    the mail steps share and the others do not: its threads wait on sockets
    far more than the server's, so one scale for both would overstate mail."""
    total = sum(line.cpu_ms for line in lines)
    mail = sum(line.cpu_ms for line in lines if line.bucket.startswith(MAIL))

    def scale(line: Line) -> float | None:
        if not measured_ms or not total:
            return None
        if mail_ms is None:
            return measured_ms / total
        if line.bucket.startswith(MAIL):
            return mail_ms / mail if mail else None
        return (measured_ms - mail_ms) / (total - mail) if total > mail else None

    rows = [
        "| step | sampled a request | share | CPU a request | waiting a request |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for line in lines:
        wait = "" if line.wait_ms is None else f"{line.wait_ms:.2f} ms"
        share = line.cpu_ms / total if total else 0.0
        factor = scale(line)
        cpu = f"{line.cpu_ms * factor:.3f} ms" if factor is not None else ""
        rows.append(
            f"| {line.bucket} | {line.cpu_ms:.3f} ms | {share:.0%} | {cpu} | {wait} |"
        )
    measured = f"{measured_ms:.3f} ms" if measured_ms else ""
    if measured_ms and mail_ms is not None:
        measured += f" (delivery process {mail_ms:.3f} ms)"
    rows.append(f"| all | {total:.3f} ms | 100% | {measured} | |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cpu", help="py-spy raw output, running threads")
    parser.add_argument("wall", help="py-spy raw output, with --idle")
    parser.add_argument("--hz", type=float, required=True, help="py-spy's --rate")
    parser.add_argument("--requests", type=int, required=True)
    args = parser.parse_args()
    with open(args.cpu) as cpu, open(args.wall) as wall:
        lines = budget(stacks(cpu), stacks(wall), args.hz, args.requests)
    print("\n".join(markdown(lines)))


if __name__ == "__main__":
    main()
