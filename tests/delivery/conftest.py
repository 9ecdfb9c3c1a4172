"""Fixtures for delivery: a real SMTP server on loopback, a clock, a team."""

from __future__ import annotations

import email
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller

from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.delivery import DeliveryWorker
from smsledger.ledger.mail import SmtpTransport

NUMBER = "+14155550100"
JANE = "+14155550111"
STRANGER = "+14155550199"


def wait_until(
    condition: Callable[[], Any], timeout: float = 10.0, every: float = 0.01
) -> Any:
    """Poll `condition` until it is true; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(every)
    return result


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, for streams: a test
    client would wait for the end of a stream that never ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive())
        assert server.started
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Inbox:
    """An aiosmtpd handler that keeps every mail it accepts."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []
        # The client's address of each mail: one per SMTP session.
        self.peers: list[Any] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP reply
        self.changed = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        mail = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.changed:
            self.mails.append((list(envelope.rcpt_tos), mail))
            self.peers.append(session.peer)
            self.changed.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.mails) >= count, timeout):
                pytest.fail(f"{count} mails expected, {len(self.mails)} arrived")

    def ids(self) -> list[str]:
        return [mail["Message-ID"] for _, mail in self.mails]


class SmtpServer:
    def __init__(self, port: int, **kwargs: Any) -> None:
        self.port = port
        self.inbox = Inbox()
        self.kwargs = kwargs
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, **self.kwargs
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A running SMTP server on loopback."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """An SMTP server that is not running yet: `start()` brings it up."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


class Clock:
    """The worker's idea of now; tests move it on instead of waiting."""

    def __init__(self) -> None:
        # A minute ahead: what the test routes first is due at once.
        self.now = datetime.now(UTC) + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def worker_for(
    ledger: Ledger, smtp_url: str, clock: Clock | None = None, **kwargs: Any
) -> DeliveryWorker:
    """A worker that sends through `smtp_url`, with no jitter."""
    return DeliveryWorker(
        ledger,
        SmtpTransport(smtp_url, timeout=5),
        mail_from="routing@acme.test",
        clock=clock or Clock(),
        rand=lambda: 1.0,
        **kwargs,
    )


def set_up_team(ledger: Ledger, ctx: AccountContext, number: str = NUMBER) -> None:
    """Ann texted Jane Roe from the team's number; replies from Jane go to Ann."""
    ledger.put_number(ctx, number, "desk@acme.test")
    ledger.put_user(ctx, "ann", "ann@acme.test", "Ann")
    ledger.put_contact(ctx, "c1", [JANE], "Jane Roe")
    ledger.record_interaction(
        ctx,
        "sms",
        contact_id="c1",
        to=JANE,
        from_number=number,
        user_id="ann",
        occurred_at=datetime(2026, 11, 20, 14, 3, tzinfo=UTC),
    )


@pytest.fixture
def team(ledger: Ledger, account: AccountContext) -> AccountContext:
    set_up_team(ledger, account)
    return account
