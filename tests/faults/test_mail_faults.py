"""Mail under faults, with the service and the worker as separate processes: the
mail server down for a while, the worker killed again and again, and a fresh
checkout with no mail server and no var/ folder yet."""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from smsledger.ledger.application import Ledger
from smsledger.ledger.mail import mail_id, maildir_name
from tests.api.test_serve import ROOT, Connection, free_port, wait_until_healthy
from tests.delivery.conftest import NUMBER, SmtpServer, set_up_team, wait_until

ADMIN_TOKEN = "fault-admin"
SMSLEDGER = Path(sys.executable).parent / "smsledger"
# The worker is killed this many times; a longer run measures the duplicate
# rate better: MAIL_FAULT_KILLS=60 MAIL_FAULT_DECISIONS=600 (docs/OPERATIONS.md).
KILLS = int(os.environ.get("MAIL_FAULT_KILLS", "5"))
DECISIONS = int(os.environ.get("MAIL_FAULT_DECISIONS", "60"))


def small_pool(database_url):
    """The URL with a pool of two connections, on PostgreSQL."""
    if not database_url.startswith("postgres"):
        return database_url
    return database_url + ("&" if "?" in database_url else "?") + "pool_size=2"


def environment(**settings):
    """The test's environment without its mail settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in ("SMTP_URL", "MAILDIR")}
    return {**env, **settings}


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait()


class Service:
    """The HTTP API as a process, with one account whose number is configured."""

    def __init__(self, command, database_url, cwd, log, **settings):
        self.port = free_port()
        env = environment(
            DATABASE_URL=small_pool(database_url),
            ADMIN_TOKEN=ADMIN_TOKEN,
            HOST="127.0.0.1",
            PORT=str(self.port),
            WEB_CONCURRENCY="1",
            **settings,
        )
        env.pop("WORKERS", None)
        with log.open("w") as out:
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.log = log

    def __enter__(self):
        try:
            wait_until_healthy(self.process, self.port, self.log)
            self.http = Connection(self.port)
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            status, account = self.http.call(
                "POST", "/v1/accounts", {"name": "Acme"}, admin
            )
            assert status == 201, account
        except BaseException:
            stop(self.process)
            raise
        self.account_id = account["account_id"]
        self.http.headers = {"Authorization": f"Bearer {account['api_key']}"}
        self.http.ok(
            "PUT", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "desk@acme.test"}
        )
        return self

    def __exit__(self, *exc):
        self.http.close()
        stop(self.process)

    def route(self, message_id):
        body = {
            "from": "+14155550111",
            "to": NUMBER,
            "body": "Hi",
            "message_id": message_id,
        }
        return self.http.ok("POST", "/v1/inbound-sms", body)

    def deliveries(self):
        """Each decision's delivery, by message id, in one request."""
        page = self.http.ok("GET", "/v1/routing-decisions?limit=100")
        return {d["message_id"]: d["delivery"] for d in page["items"]}


def test_fresh_checkout_without_smtp_url_mails_to_its_maildir(database_url, tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()  # no var/ in it: nothing has run here yet
    command = [sys.executable, "-m", "smsledger.api"]  # what scripts/serve runs
    with Service(command, database_url, checkout, tmp_path / "serve.log") as service:
        service.route("SM1")
        wait_until(lambda: service.deliveries()["SM1"]["email"] == "sent", 15, 0.1)
        account_id = service.account_id

    (written,) = (checkout / "var" / "mail" / "new").iterdir()
    assert written.name == maildir_name(mail_id(account_id, "SM1"))
    assert "To: desk@acme.test" in written.read_text()


def test_mail_server_down_then_back_gets_one_mail_per_decision(database_url, tmp_path):
    smtp = SmtpServer(free_port())
    smtp.start()
    command = [ROOT / "scripts" / "serve"]
    log = tmp_path / "serve.log"
    try:
        with Service(command, database_url, ROOT, log, SMTP_URL=smtp.url) as service:
            before = [f"SM{n}" for n in range(3)]
            for message_id in before:
                service.route(message_id)
            smtp.inbox.wait_for(len(before))

            smtp.stop()
            during = [f"SM{n}" for n in range(3, 8)]
            for message_id in during:
                service.route(message_id)

            # Each failed try is on its decision, with why and when the next is.
            def tried():
                states = service.deliveries()
                return all(states[m]["attempts"] for m in during) and states

            failed = wait_until(tried, 15, 0.1)
            for message_id in during:
                state = failed[message_id]
                assert state["email"] == "pending", state
                assert "Connect" in state["last_error"], state
                assert state["next_attempt_at"], state

            smtp.start()
            everything = before + during
            wait_until(
                lambda: all(
                    d["email"] == "sent" for d in service.deliveries().values()
                ),
                15,
                0.1,
            )
            account_id = service.account_id
    finally:
        smtp.stop()

    assert sorted(smtp.inbox.ids()) == sorted(
        mail_id(account_id, m) for m in everything
    )


def test_worker_killed_again_and_again_loses_no_mail(database_url, capsys):
    """Each kill may fall between the server taking a mail and the worker
    recording it: that mail is sent again, under the same Message-ID."""
    database_url = small_pool(database_url)
    smtp = SmtpServer(free_port())
    smtp.start()
    ledger = Ledger(database_url)
    worker = [str(SMSLEDGER), "--database-url", database_url, "deliver"]
    worker += ["--smtp-url", smtp.url]
    try:
        settings, _ = ledger.open_account("Acme")
        ctx = ledger.context(settings["account_id"])
        set_up_team(ledger, ctx)
        for n in range(DECISIONS):
            ledger.route_inbound_sms(ctx, f"+1415555{n:04d}", NUMBER, "Hi", f"SM{n}")

        kills = 0
        while kills < KILLS and len(smtp.inbox.mails) < DECISIONS:
            process = subprocess.Popen(worker, stdout=subprocess.DEVNULL)
            try:
                # The fault's timing: after a few more mails, a number drawn at
                # random, so that the kills fall at different points of a batch
                # and every kill finds mail still to send.
                more = random.randint(1, 5)
                smtp.inbox.wait_for(len(smtp.inbox.mails) + more, timeout=15)
            finally:
                process.kill()
                process.wait()
            kills += 1

        last_kill = time.monotonic()
        survivor = subprocess.Popen(worker, stdout=subprocess.PIPE, text=True)
        try:
            # Said once its SIGTERM handler is in place: a stop sent before
            # would kill it rather than stop it.
            assert survivor.stdout is not None
            assert survivor.stdout.readline().startswith("delivering decisions")
            left = DECISIONS - len(set(smtp.inbox.ids()))
            # Within seconds of the kill, not a long lease later; a long
            # measuring run has more left to send.
            deadline = max(20, left / 10)
            wait_until(
                lambda: ledger.outbox.counts() == {"sent": DECISIONS}, deadline, 0.05
            )
            drained = time.monotonic() - last_kill
        finally:
            survivor.send_signal(signal.SIGTERM)
            out, _ = survivor.communicate(timeout=30)
    finally:
        ledger.close()
        smtp.stop()

    ids = Counter(smtp.inbox.ids())
    duplicates = sum(ids.values()) - len(ids)
    report = (
        f"mail after {kills} kill -9s of the worker: {duplicates} duplicates in "
        f"{DECISIONS} decisions ({duplicates / DECISIONS:.2%}, "
        f"{duplicates / max(kills, 1):.2f} a kill); the {left} left, some leased "
        f"by the last worker killed, were sent {drained:.1f} s after it died"
    )
    with capsys.disabled():
        print(f"\n{report}")
    assert kills == KILLS, report
    expected = {mail_id(ctx.account_id, f"SM{n}") for n in range(DECISIONS)}
    assert set(ids) == expected, report
    assert survivor.returncode == 0, out
    assert out.splitlines()[-1] == f"pending: 0, sent: {DECISIONS}, failed: 0"
