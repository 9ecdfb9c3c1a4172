"""What each `smsledger` subcommand does with the ledger (the parser: `cli.py`)."""

from __future__ import annotations

import argparse
import csv
import gc
import json
import logging
import signal
from collections.abc import Callable
from typing import Any

from smsledger.ledger import audit, provider_secrets
from smsledger.ledger.application import Ledger
from smsledger.ledger.delivery import DeliveryWorker
from smsledger.ledger.mail import transport
from smsledger.ledger.progress import ProgressBar
from smsledger.ledger.sms import TwilioSender
from smsledger.ledger.waking import Waker

Command = Callable[[argparse.Namespace, Ledger], int]
log = logging.getLogger("smsledger.delivery")


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


def audit_verify(args: argparse.Namespace, ledger: Ledger) -> int:
    with ProgressBar("verify", unit="events") as bar:
        report = audit.verify(
            ledger, account_id=args.account, since=args.since, progress=bar.update
        )
    print(
        f"decisions checked: {report.checked}, consistent: {report.consistent}, "
        f"inconsistent: {len(report.inconsistent)}"
    )
    for message_id in report.inconsistent:
        print(f"inconsistent: {message_id}")
    return 1 if report.inconsistent else 0


def audit_what_if(args: argparse.Namespace, ledger: Ledger) -> int:
    with ProgressBar("what-if", unit="events") as bar:
        report = audit.what_if(
            ledger, args.policy, account_id=args.account, since=args.since,
            progress=bar.update,
        )  # fmt: skip
    changed = len(report.changed)
    print(
        f"decisions checked: {report.checked}; under {report.policy}, "
        f"{changed} would have gone to someone else"
    )
    for change, count in sorted(report.changes.items()):
        print(f"  {change}: {count}")
    if args.output:
        write_changes(report.changed, args.output)
        print(f"changed decisions written to {args.output}")
    return 0


def deliver(args: argparse.Namespace, ledger: Ledger) -> int:
    if not args.supervised:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    mail = transport(args.smtp_url, args.maildir)
    sms = TwilioSender(args.twilio_api_url)
    # Each worker spends most of a mail waiting (the database's commit, the
    # mail server's replies): several, sharing the outbox by leases, overlap
    # their waits.
    workers = [
        DeliveryWorker(ledger, mail, mail_from=args.mail_from, sms=sms,
                       base_url=args.public_base_url)
        for _ in range(1 if args.once else args.concurrency)
    ]  # fmt: skip
    first, others = workers[0], workers[1:]
    if args.once:
        while first.run_once() == first.batch:
            pass
    else:

        def stop(*_: object) -> None:
            for worker in workers:
                worker.stop(timeout=0)  # joined below, not in the handler

        # Beside the server, Ctrl-C is the server's to handle (`cli.supervised`).
        for signum in (signal.SIGTERM,) if args.supervised else STOP_SIGNALS:
            signal.signal(signum, stop)
        where = "SMTP" if args.smtp_url else f"the Maildir {args.maildir}"
        if args.supervised:
            log.info("delivering decisions to %s, %d at a time", where, len(workers))
        else:
            print(f"delivering decisions to {where}; stop with Ctrl-C", flush=True)
        # As the API workers do (`api.app`): no full collection's pause
        # over what starting made.
        gc.collect()
        gc.freeze()
        for worker in others:
            worker.start()
        waker = Waker(ledger, workers)
        waker.start()
        first.run()
        waker.stop()
        for worker in others:
            worker.stop()
    counts = ledger.outbox.counts()
    said = ", ".join(f"{status}: {counts.get(status, 0)}" for status in MAIL_STATES)
    if args.supervised:
        log.info("delivery stopped; mails %s", said)
    else:
        print(said)
    return 0


MAIL_STATES = ("pending", "sent", "failed")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def secrets_rotate(args: argparse.Namespace, ledger: Ledger) -> int:
    _log_to_stderr()
    report = provider_secrets.rotate(ledger)
    print(
        f"provider secrets resealed with SECRET_KEY: {report.resealed} "
        f"secret(s) of {report.accounts} account(s)"
    )
    for account_id in report.unreadable:
        print(f"unreadable with the keys given: account {account_id}")
    return 1 if report.unreadable else 0


def secrets_migrate(args: argparse.Namespace, ledger: Ledger) -> int:
    _log_to_stderr()
    report = provider_secrets.migrate(ledger, dry_run=args.dry_run)
    verb = "would be rewritten" if args.dry_run else "rewritten"
    print(
        f"events holding a provider secret in the clear {verb}: {len(report.rewritten)}"
    )
    if report.rebuilt:
        print("routing view rebuilt from the rewritten ledger")
    for table in report.cleared:
        print(f"old view table cleared: {table}")
    return 0


def _log_to_stderr() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")


def write_changes(rows: list[dict[str, Any]], path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        if path.endswith(".json"):
            json.dump(rows, out, indent=2)
            return
        writer = csv.DictWriter(out, fieldnames=CHANGE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


CHANGE_COLUMNS = [
    "message_id",
    "account_id",
    "position",
    "recorded_rule",
    "recorded_recipient",
    "what_if_rule",
    "what_if_recipient",
]
