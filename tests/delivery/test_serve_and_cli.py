"""The worker runs inside the service by default, or as `smsledger deliver`."""

import signal
import subprocess
import sys

from fastapi.testclient import TestClient

from smsledger.api.app import create_app
from smsledger.api.settings import Settings
from smsledger.ledger.application import Ledger
from smsledger.ledger.cli import main
from smsledger.ledger.mail import mail_id
from tests.delivery.conftest import JANE, NUMBER, set_up_team, wait_until


def test_service_mails_decisions_and_stops_its_worker_on_shutdown(database_url, smtp):
    settings = Settings(database_url=database_url, smtp_url=smtp.url)
    app = create_app(settings)
    ledger: Ledger = app.state.ledger
    settings_, api_key = ledger.open_account("Acme")
    set_up_team(ledger, ledger.context(settings_["account_id"]))
    headers = {"Authorization": f"Bearer {api_key}"}

    with TestClient(app) as client:
        assert app.state.delivery.running
        body = {"from": JANE, "to": NUMBER, "body": "Hi", "message_id": "SM1"}
        assert client.post("/v1/inbound-sms", json=body, headers=headers).is_success
        smtp.inbox.wait_for(1)
        wait_until(
            lambda: (
                client.get("/v1/routing-decisions/SM1", headers=headers).json()[
                    "delivery"
                ]["email"]
                == "sent"
            )
        )

    assert not app.state.delivery.running
    assert smtp.inbox.ids() == [mail_id(settings_["account_id"], "SM1")]


def test_service_can_leave_delivery_to_another_process(database_url):
    app = create_app(Settings(database_url=database_url, delivery_worker=False))
    with TestClient(app):
        assert app.state.delivery is None


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
