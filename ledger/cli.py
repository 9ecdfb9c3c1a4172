"""The `smsledger` command: the server, and operations on a ledger named by
DATABASE_URL.

Its settings are the server's (`smsledger.api.settings.Settings`): the same environment
gives the same database and the same secret key.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import signal
import sys
from collections.abc import Callable, Sequence

from smsledger.api.settings import Settings
from smsledger.domain.accounts import POLICIES
from smsledger.ledger.application import Ledger
from smsledger.ledger.commands import (
    Command,
    audit_verify,
    audit_what_if,
    deliver,
    projections_rebuild,
    projections_status,
    secrets_migrate,
    secrets_rotate,
)
from smsledger.ledger.importer import CHUNK
from smsledger.ledger.replicas import Replicas
from smsledger.ledger.sealing import Sealer
from smsledger.ledger.storage import NoLedger, Unreachable, check_ledger_there
from smsledger.ledger.transfer import export_to, import_from


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
    server = groups.add_parser(
        "serve",
        help="serve the HTTP API with uvicorn",
        description="Serve the HTTP API with uvicorn. Every other setting comes "
        "from the environment, as for the server (README.md).",
    )
    server.add_argument(
        "--host", default=settings.host, help="default: $HOST or %(default)s"
    )
    server.add_argument(
        "--port",
        type=bounded(0, 65535),
        default=settings.port,
        help="default: $PORT or %(default)s",
    )
    server.add_argument(
        "--workers",
        type=bounded(1, 1024),
        default=settings.workers,
        help="worker processes (default: $WORKERS, $WEB_CONCURRENCY or %(default)s)",
    )
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
        "deliver", help="mail routed decisions, as a process of its own"
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
        "--concurrency",
        type=bounded(1, 64),
        default=settings.delivery_concurrency,
        help="mails in flight at once, each from a worker thread of its own "
        "(default: $DELIVERY_CONCURRENCY or %(default)s)",
    )
    mail.add_argument(
        "--once", action="store_true", help="send what is due now, then exit"
    )
    mail.add_argument(
        "--supervised",
        action="store_true",
        help="run as `serve`'s child: log as the server does, leave Ctrl-C to it",
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


def bounded(low: int, high: int) -> Callable[[str], int]:
    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"a whole number from {low} to {high}")
        return value

    return whole


def serve(args: argparse.Namespace) -> int:
    # Each worker process builds its app from the environment: the flags go there.
    given = {
        "DATABASE_URL": args.database_url,
        "DATABASE_REPLICA_URL": args.replica_url,
        "HOST": args.host,
        "PORT": str(args.port),
        "WORKERS": str(args.workers),
    }
    os.environ.update(given)
    from smsledger.api.__main__ import serve  # uvicorn: for this command only

    return serve(Settings())


def supervised(settings: Settings) -> None:
    """As the server's child: its log lines in the server's log format, and
    Ctrl-C, which reaches the whole process group, left to the server, which
    stops this process once it has stopped serving."""
    from smsledger.api.logs import log_config

    logging.config.dictConfig(log_config(settings.log_format))
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Commands that read or rewrite a ledger: none of them makes an empty one.
NEED_A_LEDGER = ("projections", "audit", "export", "import", "secrets")


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings()
    args = parser(settings).parse_args(argv)
    if args.group == "serve":
        return serve(args)
    if args.group == "deliver" and args.supervised:
        supervised(settings)
    sealer = None
    if args.group == "secrets":
        sealer = _sealer(settings)
        if sealer is None:
            return 2
    if args.group == "deliver":
        sealer = _delivery_sealer(settings, args.supervised)
    if args.group in NEED_A_LEDGER and not _ledger_there(args.database_url):
        return 1
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


def _ledger_there(database_url: str) -> bool:
    """Whether the database holds a ledger; if not, said on stderr."""
    try:
        check_ledger_there(database_url)
    except (NoLedger, Unreachable) as error:
        print(
            f"smsledger: {error}; set DATABASE_URL (or --database-url) to the "
            "server's database, or run this where the server runs",
            file=sys.stderr,
        )
        return False
    return True


def _delivery_sealer(settings: Settings, supervised: bool) -> Sealer | None:
    """The server's key, for the Twilio secrets replies are sent with. Beside
    the server, made if the server has not made it yet; elsewhere, without a
    key, replies wait (each try says why) and mail goes on."""
    try:
        return settings.sealer(create=supervised)
    except FileNotFoundError:
        return None


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
