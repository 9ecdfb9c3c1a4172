"""The `smsledger` command: operations on a ledger named by DATABASE_URL.

Its settings are the server's (`smsledger.api.settings.Settings`): the same environment
gives the same database and the same secret key.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from smsledger.api.settings import Settings
from smsledger.domain.accounts import POLICIES
from smsledger.ledger import audit, provider_secrets
from smsledger.ledger.application import Ledger
from smsledger.ledger.delivery import DeliveryWorker
from smsledger.ledger.importer import CHUNK
from smsledger.ledger.mail import transport
from smsledger.ledger.progress import ProgressBar
from smsledger.ledger.replicas import Replicas
from smsledger.ledger.sealing import Sealer
from smsledger.ledger.sms import TwilioSender
from smsledger.ledger.transfer import export_to, import_from

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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    worker = DeliveryWorker(
        ledger,
        transport(args.smtp_url, args.maildir),
        mail_from=args.mail_from,
        sms=TwilioSender(args.twilio_api_url),
        base_url=args.public_base_url,
    )
    if args.once:
        while worker.run_once() == worker.batch:
            pass
    else:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: worker.stop())
        where = "SMTP" if args.smtp_url else f"the Maildir {args.maildir}"
        print(f"delivering decisions to {where}; stop with Ctrl-C", flush=True)
        worker.run()
    counts = ledger.outbox.counts()
    print(", ".join(f"{status}: {counts.get(status, 0)}" for status in MAIL_STATES))
    return 0


MAIL_STATES = ("pending", "sent", "failed")


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


def parser(settings: Settings) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="smsledger", description=__doc__)
    top.add_argument(
        "--database-url",
        default=settings.database_url,
        help="the ledger's database (default: $DATABASE_URL or %(default)s)",
    )
    top.add_argument(
        "--replica-url",
        default=",".join(settings.replica_urls()),
        help="hot standbys, comma-separated: audits read there, else on the "
        "primary (default: $DATABASE_REPLICA_URL)",
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
    audits = groups.add_parser("audit", help="check decisions against the ledger")
    audit_verbs = audits.add_subparsers(dest="verb", required=True)
    verify = audit_verbs.add_parser(
        "verify", help="replay every recorded decision; exit 1 on any difference"
    )
    whatif = audit_verbs.add_parser(
        "what-if", help="which decisions another policy would have sent elsewhere"
    )
    whatif.add_argument("--policy", required=True, choices=POLICIES)
    whatif.add_argument(
        "--output", help="write the changed decisions to a .csv or .json file"
    )
    for command, run in ((verify, audit_verify), (whatif, audit_what_if)):
        command.add_argument("--account", help="only this account's decisions")
        command.add_argument(
            "--since",
            type=int,
            default=0,
            help="only decisions made at or after this ledger position",
        )
        command.set_defaults(run=run)
    mail = groups.add_parser(
        "deliver",
        help="mail routed decisions and send replies, as a process of its own",
    )
    mail.add_argument(
        "--smtp-url",
        default=settings.smtp_url.get_secret_value() if settings.smtp_url else None,
        help="smtp://, smtp+starttls:// or smtps:// (default: $SMTP_URL; "
        "without one, mails go to the Maildir)",
    )
    mail.add_argument(
        "--mail-from",
        default=settings.mail_from,
        help="sender address of the mails (default: $MAIL_FROM or %(default)s)",
    )
    mail.add_argument(
        "--maildir",
        default=settings.maildir,
        help="where mails go without SMTP (default: $MAILDIR or %(default)s)",
    )
    mail.add_argument(
        "--twilio-api-url",
        default=settings.twilio_api_url,
        help="Twilio's REST API, for replies (default: $TWILIO_API_URL or %(default)s)",
    )
    mail.add_argument(
        "--public-base-url",
        default=settings.public_base_url,
        help="the inbox's URL, for the link in each mail (default: $PUBLIC_BASE_URL)",
    )
    mail.add_argument(
        "--once", action="store_true", help="send what is due now, then exit"
    )
    mail.set_defaults(run=deliver)
    bring = groups.add_parser(
        "import", help="import a file of users, contacts, numbers and interactions"
    )
    bring.add_argument("file", help="a .csv or .jsonl file; - for standard input")
    bring.add_argument("--account", required=True, help="the account to import into")
    bring.add_argument(
        "--format", choices=("jsonl", "csv"), help="default: by the file's name"
    )
    bring.add_argument("--type", help="the type of lines that name none")
    bring.add_argument("--errors", help="write the rejected lines to this CSV file")
    bring.add_argument(
        "--dry-run", action="store_true", help="check the file, record nothing"
    )
    bring.add_argument(
        "--chunk", type=int, default=CHUNK, help="lines a transaction carries at most"
    )
    bring.set_defaults(run=import_from)
    take = groups.add_parser(
        "export", help="write an account's whole history as JSON Lines"
    )
    take.add_argument("--account", required=True)
    take.add_argument("--output", default="-", help="a file; - (default) for stdout")
    take.set_defaults(run=export_to)
    secrets = groups.add_parser(
        "secrets", help="provider secrets: reseal them with a new key, or migrate"
    )
    secret_verbs = secrets.add_subparsers(dest="verb", required=True)
    secret_verbs.add_parser(
        "rotate",
        help="reseal with SECRET_KEY every secret sealed with a key of "
        "SECRET_KEY_PREVIOUS",
    ).set_defaults(run=secrets_rotate)
    migrate = secret_verbs.add_parser(
        "migrate",
        help="rewrite the events holding a provider secret in the clear, sealing "
        "it, then rebuild the view (the one rewrite of the ledger)",
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="list what would be rewritten, only"
    )
    migrate.set_defaults(run=secrets_migrate)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings()
    args = parser(settings).parse_args(argv)
    sealer = None
    if args.group == "secrets":
        sealer = _sealer(settings)
        if sealer is None:
            return 2
    ledger = Ledger(args.database_url, sealer)
    run: Command = args.run
    urls = [url for url in args.replica_url.split(",") if url.strip()]
    # Audits read the whole ledger and may lag: a standby's work, if there is one.
    replicas = Replicas(ledger, urls if args.group == "audit" else [])
    try:
        return replicas.read(lambda on: run(args, on))
    finally:
        replicas.close()
        ledger.close()


def _sealer(settings: Settings) -> Sealer | None:
    """The server's sealer; None, said on stderr, if there is no key to use."""
    try:
        return settings.sealer(create=False)
    except FileNotFoundError:
        print(
            "smsledger: no SECRET_KEY, and no key file at "
            f"{settings.secret_key_file}: run this where the server runs, or "
            "set SECRET_KEY (or SECRET_KEY_FILE) to the server's",
            file=sys.stderr,
        )
        return None


if __name__ == "__main__":
    sys.exit(main())
