"""`smsledger import` and `smsledger export`: files in and out of an account."""

from __future__ import annotations

import argparse
import csv
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import BinaryIO, TextIO

from smsledger.api import lines
from smsledger.domain.errors import NotFound
from smsledger.ledger.application import Ledger
from smsledger.ledger.exporter import export_chunks
from smsledger.ledger.importer import Importer, ImportReport
from smsledger.ledger.progress import ProgressBar

SHOWN = 10  # rejected lines printed; --errors has them all


def import_from(args: argparse.Namespace, ledger: Ledger) -> int:
    try:
        ctx = ledger.context(args.account)
    except (NotFound, ValueError):
        print(f"no account {args.account!r}", file=sys.stderr)
        return 2
    fmt = args.format or lines.format_of(args.file)
    # An import makes millions of short-lived objects: the collector need
    # not walk again the long-lived ones the process started with (about a
    # twentieth of the import's CPU).
    gc.freeze()
    with ExitStack() as stack:
        stream = _open(args.file, stack)
        total = _count_lines(args.file)
        bar = stack.enter_context(ProgressBar("import", unit="lines"))
        importer = Importer(ledger, ctx, dry_run=args.dry_run, chunk=args.chunk)
        report = importer.run(
            lines.read(stream, fmt, args.type),
            progress=lambda done: bar.update(done, max(total, done)),
        )
    _summarise(report, args.dry_run)
    if args.errors:
        _write_errors(report, args.errors)
    return 1 if report.rejected else 0


def export_to(args: argparse.Namespace, ledger: Ledger) -> int:
    try:
        ledger.context(args.account)
    except (NotFound, ValueError):
        print(f"no account {args.account!r}", file=sys.stderr)
        return 2
    written = 0
    with ExitStack() as stack:
        if args.output == "-":
            sys.stdout.flush()
            out: BinaryIO = sys.stdout.buffer
        else:
            out = stack.enter_context(open(args.output, "wb"))
        bar = stack.enter_context(ProgressBar("export", unit="ledger events read"))
        for chunk in export_chunks(ledger, args.account, progress=bar.update):
            out.write(chunk)
            written += chunk.count(b"\n")
    where = "" if args.output == "-" else f" to {args.output}"
    # On stderr: the lines may be on stdout.
    print(f"exported {written} lines of account {args.account}{where}", file=sys.stderr)
    return 0


def _open(path: str, stack: ExitStack) -> TextIO:
    if path == "-":
        return sys.stdin
    return stack.enter_context(open(path, encoding="utf-8-sig", newline=""))


def _count_lines(path: str) -> int:
    """How many lines a file has, for the progress bar; 0 for a stream."""
    if path == "-" or not os.path.isfile(path):
        return 0
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in _chunks(f))


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(1 << 20):
        yield chunk


def _summarise(report: ImportReport, dry_run: bool) -> None:
    verb = "would be recorded" if dry_run else "recorded"
    print(
        f"lines: {report.lines}, {verb}: {report.accepted}, "
        f"duplicates: {report.duplicates}, derived: {report.derived}, "
        f"rejected: {len(report.rejected)}"
    )
    for rejected in report.rejected[:SHOWN]:
        print(
            f"line {rejected.line}: {rejected.field or '(line)'}: {rejected.reason}",
            file=sys.stderr,
        )
    if len(report.rejected) > SHOWN:
        print(f"... and {len(report.rejected) - SHOWN} more", file=sys.stderr)
    for line in report.redecided:
        print(f"line {line}: routed otherwise than the file says", file=sys.stderr)


def _write_errors(report: ImportReport, path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=["line", "field", "reason"])
        writer.writeheader()
        writer.writerows(r.as_dict() for r in report.rejected)
