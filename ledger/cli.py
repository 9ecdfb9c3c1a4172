"""The `smsledger` command: operations on a ledger named by DATABASE_URL."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from ledger.application import Ledger
from ledger.progress import ProgressBar
from ledger.storage import DEFAULT_DATABASE_URL

Command = Callable[[argparse.Namespace, Ledger], int]


def projections_status(args: argparse.Namespace, ledger: Ledger) -> int:
    for line in ledger.projection_status():
        print(line)
    return 0


def projections_rebuild(args: argparse.Namespace, ledger: Ledger) -> int:
    with ProgressBar("rebuild", unit="events") as bar:
        report = ledger.rebuild_views(progress=bar.update)
    print(
        f"routing view rebuilt: version {report.old_version} -> "
        f"{report.new_version}, {report.events} events, "
        f"live at position {report.position}"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="smsledger", description=__doc__)
    top.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        help="the ledger's database (default: $DATABASE_URL or %(default)s)",
    )
    groups = top.add_subparsers(dest="group", required=True)
    projections = groups.add_parser("projections", help="inspect or rebuild views")
    verbs = projections.add_subparsers(dest="verb", required=True)
    verbs.add_parser("status", help="each view's position and lag").set_defaults(
        run=projections_status
    )
    verbs.add_parser(
        "rebuild", help="rebuild the routing view beside the live one and switch"
    ).set_defaults(run=projections_rebuild)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    ledger = Ledger(args.database_url)
    try:
        run: Command = args.run
        return run(args, ledger)
    finally:
        ledger.close()


if __name__ == "__main__":
    sys.exit(main())
