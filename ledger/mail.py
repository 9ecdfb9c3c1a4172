"""The mail a routing decision becomes, and the transports that carry it.

`SMTP_URL` chooses the transport: `smtp://host:port` (plain),
`smtp+starttls://user:pass@host:port` and `smtps://user:pass@host:port`
(implicit TLS). Without it, mails go to a Maildir under `./var/`, where a
mail client or `ls` shows them.

A transport calls `accepted` as soon as the mail is delivered, before the
next mail of its session or QUIT: the worker records the delivery there, so that a crash
between the two, which would send the mail again, has as little time as it can.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from smsledger.domain.errors import InvalidInput
from smsledger.domain.ids import scoped_id

DEFAULT_MAIL_FROM = "smsledger@localhost"
DEFAULT_MAILDIR = "var/mail"
# 7-bit transfer encodings: any text survives any mail server unchanged.
POLICY = policy.default.clone(cte_type="7bit")
PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def mail_id(account_id: str, message_id: str, handoff_id: str | None = None) -> str:
    """The Message-ID of a decision's mail (or of one of its hand-offs'):
    the same on every try."""
    key = (
        message_id if handoff_id is None else f"{message_id}\x1fhandoff\x1f{handoff_id}"
    )
    return f"<{scoped_id(account_id, 'mail', key).hex}@smsledger>"


def compose(
    decision: dict[str, Any],
    contacts: Sequence[dict[str, Any]],
    *,
    mail_from: str,
    decided_at: datetime,
    handoff: dict[str, Any] | None = None,
    base_url: str | None = None,
) -> EmailMessage:
    """The mail for a routed decision; `contacts` are the matched contacts.

    With `handoff`, the mail of that hand-off, to the user it was handed to.
    With `base_url`, a link to the message in the inbox.

    The workers send what `mail_bytes.render` writes, at a tenth of the cost;
    this is the reference its tests compare it with, and what it falls back
    on for an address out of the ordinary.
    """
    mail = EmailMessage(policy=POLICY)
    mail["Subject"] = subject_of(decision, contacts, handoff)
    mail["From"] = mail_from
    if handoff is None:
        mail["To"] = decision["recipient"]["email"]
        mail["Date"] = format_datetime(decided_at)
    else:
        mail["To"] = handoff["to_email"]
        mail["Date"] = format_datetime(datetime.fromisoformat(handoff["at"]))
    # Date and Message-ID come from the decision, so a retried mail is the
    # same mail, which lets the receiving side drop a duplicate.
    handoff_id = handoff["handoff_id"] if handoff else None
    mail["Message-ID"] = mail_id(
        decision["account_id"], decision["message_id"], handoff_id
    )
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body_text(decision, contacts, handoff, base_url))
    return mail


def subject_of(
    decision: dict[str, Any],
    contacts: Sequence[dict[str, Any]],
    handoff: dict[str, Any] | None,
) -> str:
    names = ", ".join(c["name"] or c["contact_id"] for c in contacts)
    sender = f"{names} ({decision['from']})" if names else decision["from"]
    subject = f"SMS from {sender} to {decision['to']}"
    if handoff is not None:
        subject = f"Handed to you: {subject}"
    # A header is one line: a line break in a name must not end it.
    return " ".join(subject.split())


def body_text(
    decision: dict[str, Any],
    contacts: Sequence[dict[str, Any]],
    handoff: dict[str, Any] | None,
    base_url: str | None,
) -> str:
    received = datetime.fromisoformat(decision["received_at"])
    lines = [
        decision["body"],
        "",
        "-- ",
        f"From: {decision['from']}",
    ]
    for contact in contacts:
        name = contact["name"] or "(no name)"
        lines.append(f"Contact: {name} (id {contact['contact_id']})")
    if not contacts:
        lines.append("Contact: none matches this number")
    lines += [
        f"To: {decision['to']}",
        f"Received: {received.strftime('%Y-%m-%d %H:%M:%S UTC')}",
        f"Message: {decision['message_id']}",
        "",
        f"Why you: {decision['explanation']}",
    ]
    if handoff is not None:
        by = handoff["by_user_id"] or "a colleague"
        lines.append(f"Handed to you by {by}.")
        if handoff["note"]:
            lines.append(f"Their note: {handoff['note']}")
    if base_url:
        lines += ["", f"Open it in the inbox: {inbox_url(base_url, decision)}"]
    return "\n".join(lines) + "\n"


def inbox_url(base_url: str, decision: dict[str, Any]) -> str:
    return f"{base_url.rstrip('/')}/inbox/{quote(decision['message_id'], safe='')}"


def compose_sign_in_link(
    to: str, url: str, expires_at: datetime, mail_from: str
) -> EmailMessage:
    """The mail that carries a sign-in link to its user."""
    mail = EmailMessage(policy=POLICY)
    mail["Subject"] = "Your sign-in link"
    mail["From"] = mail_from
    mail["To"] = to
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@smsledger>"
    mail["Auto-Submitted"] = "auto-generated"
    until = expires_at.strftime("%H:%M UTC")
    mail.set_content(
        "Open this link to sign in to your inbox. It works once, until "
        f"{until}:\n\n{url}\n\nIf you did not ask for it, ignore this mail.\n"
    )
    return mail


class TransientFailure(Exception):
    """The mail was not delivered this time; trying again later may work."""


class PermanentFailure(Exception):
    """The mail server refused the mail itself (5xx)."""


Accepted = Callable[[], None]


@dataclass(frozen=True)
class Rendered:
    """A mail as bytes (lines end in \\n), with its envelope: what
    `mail_bytes.render` makes."""

    message_id: str
    mail_from: str
    to: str
    data: bytes


Mail = EmailMessage | Rendered


def _nothing() -> None:
    pass


class Session(Protocol):
    def send(self, mail: Mail, accepted: Accepted = _nothing) -> None:
        """Deliver `mail`, calling `accepted` once it is delivered; raise
        TransientFailure or PermanentFailure when it is not."""


class Transport(Session, Protocol):
    def session(self) -> AbstractContextManager[Session]:
        """Several mails, one after another, over one connection."""


class SmtpTransport:
    """Sends mails over SMTP: one session for each `send`, or for a batch."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in PORTS or not parts.hostname:
            raise InvalidInput(
                "SMTP_URL",
                "must be smtp://host:port, smtp+starttls://user:pass@host:port "
                "or smtps://user:pass@host:port",
            )
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or PORTS[parts.scheme]
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password or "")
        self.timeout = timeout
        self.tls = tls or ssl.create_default_context()

    def send(self, mail: Mail, accepted: Accepted = _nothing) -> None:
        with self.session() as session:
            session.send(mail, accepted)

    @contextmanager
    def session(self) -> Iterator[SmtpSession]:
        session = SmtpSession(self)
        try:
            yield session
        finally:
            session.close()

    def open(self) -> smtplib.SMTP:
        """A session ready to take mail: connected, TLS and login done."""
        try:
            session = self._connect()
        except (smtplib.SMTPException, OSError) as error:
            raise _transient(error) from error
        try:
            if self.scheme == "smtp+starttls":
                session.starttls(context=self.tls)
            if self.user is not None:
                session.login(self.user, self.password)
        except (smtplib.SMTPException, OSError) as error:
            session.close()
            raise _transient(error) from error
        return session

    def _connect(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.tls
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


class SmtpSession:
    """One connection for mail after mail, made at the first and made again
    after one breaks; a mail refused leaves it usable (smtplib resets it)."""

    def __init__(self, transport: SmtpTransport) -> None:
        self.transport = transport
        self.connection: smtplib.SMTP | None = None

    def send(self, mail: Mail, accepted: Accepted = _nothing) -> None:
        if self.connection is None:
            self.connection = self.transport.open()
        try:
            _submit(self.connection, mail)
        except TransientFailure:
            self.close()
            raise
        # Before the next mail or QUIT: the server has this one, and each
        # round trip until it is recorded is time in which a crash sends it
        # twice.
        accepted()

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def _submit(session: smtplib.SMTP, mail: Mail) -> None:
    try:
        if isinstance(mail, Rendered):
            data = mail.data.replace(b"\n", b"\r\n")
            session.sendmail(mail.mail_from, [mail.to], data)
        else:
            session.send_message(mail)
    except smtplib.SMTPRecipientsRefused as refused:
        ((code, reply),) = refused.recipients.values()
        raise _failure(code, reply) from refused
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
        raise _failure(error.smtp_code, error.smtp_error) from error
    except (smtplib.SMTPException, OSError) as error:
        # The session broke off, perhaps after the server took the mail.
        raise _transient(error) from error


def _transient(error: Exception) -> TransientFailure:
    # Cannot connect, TLS or login failed, the session broke: all worth
    # another try.
    return TransientFailure(f"{type(error).__name__}: {error}")


def _failure(code: int, reply: bytes | str) -> Exception:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    message = f"{code} {text}"
    return PermanentFailure(message) if 500 <= code < 600 else TransientFailure(message)


class MaildirTransport:
    """Writes each mail into a Maildir, for running without a mail server.

    The file is named after the mail's Message-ID, so writing the same mail
    again (a retry after a crash) leaves the one file there is."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, mail: Mail, accepted: Accepted = _nothing) -> None:
        if isinstance(mail, Rendered):
            message_id, data = mail.message_id, mail.data
        else:
            message_id, data = mail["Message-ID"], mail.as_bytes()
        name = maildir_name(message_id)
        if not self._holds(name):
            self._write(name, data)
        accepted()

    @contextmanager
    def session(self) -> Iterator[MaildirTransport]:
        yield self

    def _holds(self, name: str) -> bool:
        """Whether the mail is there, unread in new/ or moved to cur/ by a
        mail client, which adds `:2,` and flags to the name."""
        if (self.path / "new" / name).exists():
            return True
        cur = self.path / "cur"
        return cur.is_dir() and any(
            entry.name == name or entry.name.startswith(f"{name}:")
            for entry in os.scandir(cur)
        )

    def _write(self, name: str, data: bytes) -> None:
        # Made with the first mail, so that a service that sends none leaves
        # no folder behind; parents too, as ./var/ may not exist yet.
        for folder in ("tmp", "new", "cur"):
            (self.path / folder).mkdir(parents=True, exist_ok=True)
        tmp = self.path / "tmp" / f"{name}.{os.getpid()}.{uuid.uuid4().hex}"
        try:
            with tmp.open("xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            # Whole or not at all; a second writer of the same mail replaces
            # it with the same bytes.
            tmp.rename(self.path / "new" / name)
        finally:
            tmp.unlink(missing_ok=True)
        new = os.open(self.path / "new", os.O_RDONLY)
        try:
            os.fsync(new)  # the rename is durable before it is recorded
        finally:
            os.close(new)


def maildir_name(message_id: str | None) -> str:
    """A Maildir file name for a Message-ID: no `/`, no `:`, nothing odd."""
    name = re.sub(r"[^A-Za-z0-9._@-]", "_", (message_id or "").strip().strip("<>"))
    if name.strip("."):
        return name
    raise ValueError(f"no file name can be made of the Message-ID {message_id!r}")


def transport(smtp_url: str | None, maildir: str | Path = DEFAULT_MAILDIR) -> Transport:
    """SMTP when a URL is given, else the Maildir."""
    if smtp_url:
        return SmtpTransport(smtp_url)
    return MaildirTransport(maildir)
