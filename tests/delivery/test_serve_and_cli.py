"""The worker runs beside the server, as its child process, by default; or as
`smsledger deliver`, in processes of its own."""

import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from smsledger.api.app import create_app
from smsledger.api.delivery_process import DeliveryProcess
from smsledger.api.settings import Settings
from smsledger.ledger.application import Ledger
from smsledger.ledger.cli import main
from smsledger.ledger.mail import mail_id
from tests.delivery.conftest import JANE, NUMBER, set_up_team, wait_until
from tests.faults.harness import Served, call

ADMIN_TOKEN = "delivery-admin"


def supervised_children(server_pid):
    """The server's delivery processes (`deliver --supervised`), alive."""
    found = []
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            if alive(int(pid)) and b"--supervised" in command_line(int(pid)):
                found.append(int(pid))
    return found


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def alive(pid):
    """Running: neither gone nor a zombie left for a parent to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Server(Served):
    """The server, with its account's id and API key."""

    account_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


@pytest.fixture
def server(database_url, smtp, tmp_path):
    """`scripts/serve` as a person starts it, with an account whose number's
    mail goes to the desk."""
    served = Server(
        {
            "DATABASE_URL": database_url,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "WEB_CONCURRENCY": "1",
            "SMTP_URL": smtp.url,
        },
        tmp_path / "serve.log",
    )
    served.start()
    try:
        served.wait_until_healthy()
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        made = call(served.base, "POST", "/v1/accounts", {"name": "Acme"}, admin)
        assert made.status == 201, made
        served.account_id = made.body["account_id"]
        served.headers = {"Authorization": f"Bearer {made.body['api_key']}"}
        number = {"backup_email": "desk@acme.test"}
        put = call(served.base, "PUT", f"/v1/inbound-numbers/{NUMBER}", number,
                   served.headers)  # fmt: skip
        assert put.status in (200, 201), put
        yield served
    finally:
        served.stop()


def route(served, message_id):
    sms = {"from": JANE, "to": NUMBER, "body": "Hi", "message_id": message_id}
    answer = call(served.base, "POST", "/v1/inbound-sms", sms, served.headers)
    assert answer.status == 201, answer


def mailed(served, message_id):
    path = f"/v1/routing-decisions/{message_id}"
    answer = call(served.base, "GET", path, headers=served.headers)
    return answer.body["delivery"]["email"] == "sent"


def test_server_mails_from_a_process_of_its_own_and_stops_it_on_shutdown(server, smtp):
    (child,) = wait_until(lambda: supervised_children(server.pid))
    route(server, "SM1")
    smtp.inbox.wait_for(1)
    wait_until(lambda: mailed(server, "SM1"))
    niceness = os.getpriority(os.PRIO_PROCESS, server.pid)
    assert os.getpriority(os.PRIO_PROCESS, child) == min(19, niceness + 10)

    server.process.send_signal(signal.SIGTERM)  # the server alone, not its group
    server.process.wait(timeout=60)

    assert not alive(child)
    assert smtp.inbox.ids() == [mail_id(server.account_id, "SM1")]


def test_delivery_process_that_dies_is_started_again(server, smtp):
    (first,) = wait_until(lambda: supervised_children(server.pid))
    os.kill(first, signal.SIGKILL)

    again = wait_until(
        lambda: [p for p in supervised_children(server.pid) if p != first], 15
    )
    assert len(again) == 1
    route(server, "SM1")
    smtp.inbox.wait_for(1)

    assert wait_until(lambda: mailed(server, "SM1"))


def test_delivery_process_dies_with_a_killed_server(server):
    (child,) = wait_until(lambda: supervised_children(server.pid))

    server.process.kill()  # the server alone: no shutdown of its own
    server.process.wait()

    wait_until(lambda: not alive(child), 45)


def test_a_delivery_process_dying_again_and_again_waits_longer_each_time(caplog):
    dying = DeliveryProcess(
        [sys.executable, "-c", "raise SystemExit(3)"],
        first_restart=0.01,
        last_restart=0.04,
    )

    def waits():
        return [r.args[2] for r in caplog.records if "started again" in r.message]

    with caplog.at_level(logging.INFO, logger="smsledger.delivery"):
        dying.start()
        try:
            wait_until(lambda: len(waits()) >= 5)
        finally:
            dying.stop()

    assert waits()[:5] == [0.01, 0.02, 0.04, 0.04, 0.04]
    assert all(r.args[1] == 3 for r in caplog.records if "started again" in r.message)


def test_a_delivery_process_that_ignores_sigterm_is_killed_after_the_grace(
    tmp_path,
):
    ready = tmp_path / "ready"
    stubborn = DeliveryProcess(
        [sys.executable, "-c",
         "import pathlib, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
         f"pathlib.Path({str(ready)!r}).touch(); time.sleep(120)"],
        grace=0.5,
    )  # fmt: skip
    stubborn.start()
    wait_until(ready.exists)

    stubborn.stop()

    assert stubborn.process is not None
    assert stubborn.process.returncode == -signal.SIGKILL


def test_api_workers_deliver_nothing_themselves(database_url):
    app = create_app(Settings(database_url=database_url))
    ledger: Ledger = app.state.ledger
    settings, api_key = ledger.open_account("Acme")
    set_up_team(ledger, ledger.context(settings["account_id"]))
    headers = {"Authorization": f"Bearer {api_key}"}

    with TestClient(app) as client:
        body = {"from": JANE, "to": NUMBER, "body": "Hi", "message_id": "SM1"}
        assert client.post("/v1/inbound-sms", json=body, headers=headers).is_success
        names = {thread.name for thread in threading.enumerate()}
        pending = ledger.outbox.counts()

    assert not {"smsledger-delivery", "smsledger-lease"} & names
    assert pending == {"pending": 1}


def test_server_can_leave_delivery_to_processes_of_their_own(database_url, tmp_path):
    served = Server(
        {"DATABASE_URL": database_url, "WEB_CONCURRENCY": "1",
         "DELIVERY_WORKER": "false"},
        tmp_path / "serve.log",
    )  # fmt: skip
    served.start()
    try:
        served.wait_until_healthy()
        assert supervised_children(served.pid) == []
    finally:
        served.stop()
    assert "delivery process" not in served.log.read_text()


def test_deliver_command_sends_what_is_due(database_url, smtp, capsys):
    ledger = Ledger(database_url)
    try:
        settings, _ = ledger.open_account("Acme")
        ctx = ledger.context(settings["account_id"])
        set_up_team(ledger, ctx)
        for n in range(3):
            ledger.route_inbound_sms(ctx, JANE, NUMBER, "Hi", f"SM{n}")
    finally:
        ledger.close()

    argv = ["--database-url", database_url, "deliver", "--smtp-url", smtp.url]
    assert main([*argv, "--once"]) == 0

    assert len(smtp.inbox.mails) == 3
    assert capsys.readouterr().out.splitlines()[-1] == "pending: 0, sent: 3, failed: 0"


def test_deliver_process_mails_as_decisions_arrive_and_stops_on_sigterm(
    database_url, smtp
):
    ledger = Ledger(database_url)
    command = [
        sys.executable,
        "-m",
        "smsledger.ledger.cli",
        "--database-url",
        database_url,
    ]
    process = subprocess.Popen(
        [*command, "deliver", "--smtp-url", smtp.url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("delivering decisions")
        settings, _ = ledger.open_account("Acme")
        ctx = ledger.context(settings["account_id"])
        set_up_team(ledger, ctx)
        ledger.route_inbound_sms(ctx, JANE, NUMBER, "Hi", "SM1")
        smtp.inbox.wait_for(1)
        wait_until(
            lambda: ledger.get_decision(ctx, "SM1")["delivery"]["email"] == "sent"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
        ledger.close()

    assert process.returncode == 0
    assert out.splitlines()[-1] == "pending: 0, sent: 1, failed: 0"
