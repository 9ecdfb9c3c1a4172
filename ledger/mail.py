"""The mail a routing decision becomes, and the transports that carry it.

`SMTP_URL` chooses the transport: `smtp://host:port` (plain),
`smtp+starttls://user:pass@host:port` and `smtps://user:pass@host:port`
(implicit TLS). Without it, mails go to a Maildir under `./var/`, where a
mail client or `ls` shows them.
"""

from __future__ import annotations

import mailbox
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from domain.errors import InvalidInput
from domain.ids import scoped_id

DEFAULT_MAIL_FROM = "smsledger@localhost"
DEFAULT_MAILDIR = "var/mail"
# 7-bit transfer encodings: any text survives any mail server unchanged.
POLICY = policy.default.clone(cte_type="7bit")
PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def mail_id(account_id: str, message_id: str) -> str:
    """The Message-ID of a decision's mail: the same on every try."""
    return f"<{scoped_id(account_id, 'mail', message_id).hex}@smsledger>"


def compose(
    decision: dict[str, Any],
    contacts: Sequence[dict[str, Any]],
    *,
    mail_from: str,
    decided_at: datetime,
) -> EmailMessage:
    """The mail for a routed decision; `contacts` are the matched contacts."""
    names = ", ".join(c["name"] or c["contact_id"] for c in contacts)
    sender = f"{names} ({decision['from']})" if names else decision["from"]
    mail = EmailMessage(policy=POLICY)
    # A header is one line: a line break in a name must not end it.
    mail["Subject"] = " ".join(f"SMS from {sender} to {decision['to']}".split())
    mail["From"] = mail_from
    mail["To"] = decision["recipient"]["email"]
    # Date and Message-ID come from the decision, so a retried mail is the
    # same mail, which lets the receiving side drop a duplicate.
    mail["Date"] = format_datetime(decided_at)
    mail["Message-ID"] = mail_id(decision["account_id"], decision["message_id"])
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(_body(decision, contacts))
    return mail


def _body(decision: dict[str, Any], contacts: Sequence[dict[str, Any]]) -> str:
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
    return "\n".join(lines) + "\n"


class TransientFailure(Exception):
    """The mail was not delivered this time; trying again later may work."""


class PermanentFailure(Exception):
    """The mail server refused the mail itself (5xx)."""


class Transport(Protocol):
    def send(self, mail: EmailMessage) -> None: ...


class SmtpTransport:
    """Sends each mail over its own SMTP session."""

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

    def send(self, mail: EmailMessage) -> None:
        try:
            with self._connect() as session:
                if self.scheme == "smtp+starttls":
                    session.starttls(context=self.tls)
                if self.user is not None:
                    session.login(self.user, self.password)
                session.send_message(mail)
        except smtplib.SMTPRecipientsRefused as refused:
            ((code, reply),) = refused.recipients.values()
            raise _failure(code, reply) from refused
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            raise _failure(error.smtp_code, error.smtp_error) from error
        except (smtplib.SMTPException, OSError) as error:
            # Cannot connect, TLS or login failed, or the session broke off,
            # perhaps after the server took the mail: all worth another try.
            raise TransientFailure(f"{type(error).__name__}: {error}") from error

    def _connect(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.tls
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


def _failure(code: int, reply: bytes | str) -> Exception:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    message = f"{code} {text}"
    return PermanentFailure(message) if 500 <= code < 600 else TransientFailure(message)


class MaildirTransport:
    """Writes each mail into a Maildir, for running without a mail server."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, mail: EmailMessage) -> None:
        # Created with the first mail, so that a service that sends none
        # leaves no folder behind.
        mailbox.Maildir(self.path, create=True).add(mail)


def transport(smtp_url: str | None, maildir: str | Path = DEFAULT_MAILDIR) -> Transport:
    """SMTP when a URL is given, else the Maildir."""
    if smtp_url:
        return SmtpTransport(smtp_url)
    return MaildirTransport(maildir)
