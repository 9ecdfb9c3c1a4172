"""Every failed try says why on its decision; leases outlive slow sends and
the rebuild's switch, so a mail is sent once."""

import asyncio
import threading
from datetime import datetime, timedelta

from smsledger.ledger.delivery import DeliveryWorker
from smsledger.ledger.mail import MaildirTransport, mail_id
from smsledger.projections.persistence import from_time_key
from tests.delivery.conftest import JANE, NUMBER, Inbox, wait_until, worker_for


def route(ledger, ctx, message_id):
    ledger.route_inbound_sms(ctx, JANE, NUMBER, "Yes, Tuesday works", message_id)


def delivery(ledger, ctx, message_id):
    return ledger.get_decision(ctx, message_id)["delivery"]


def lease_until(ledger, message_id):
    with ledger.view.snapshot() as tx:
        statement = "SELECT lease_until FROM {outbox} WHERE message_id = %s"
        tx.curs.execute(ledger.view.sql(statement, tx.version), (message_id,))
        value = tx.fetchone()["lease_until"]
    return from_time_key(value) if value else None


def test_unwritable_maildir_is_recorded_on_the_decision_then_retried(
    ledger, team, clock, tmp_path
):
    blocker = tmp_path / "var"
    blocker.write_text("a file where the Maildir's parent should be")
    route(ledger, team, "SM1")
    worker = DeliveryWorker(
        ledger,
        MaildirTransport(blocker / "mail"),
        mail_from="routing@acme.test",
        clock=clock,
        rand=lambda: 1.0,
    )

    assert worker.run_once() == 1
    state = delivery(ledger, team, "SM1")
    assert (state["email"], state["attempts"]) == ("pending", 1)
    assert state["last_error"].startswith(("NotADirectoryError", "FileExistsError"))
    next_try = datetime.fromisoformat(state["next_attempt_at"])
    assert next_try == clock() + timedelta(seconds=2)
    assert worker.run_once() == 0  # released, but not due before its next try

    blocker.unlink()
    clock.advance(2)
    assert worker.run_once() == 1
    assert delivery(ledger, team, "SM1") == {"email": "sent", "attempts": 2}
    (written,) = (blocker / "mail" / "new").iterdir()
    assert mail_id(team.account_id, "SM1") in written.read_text()


def test_mail_that_cannot_be_composed_fails_after_bounded_tries(
    ledger, team, smtp, clock
):
    route(ledger, team, "SM1")
    # A line break cannot be put in a header: composing fails every time.
    worker = worker_for(ledger, smtp.url, clock)
    worker.mail_from = "routing@acme.test\nBcc: everyone@acme.test"

    tries = 0
    while worker.run_once():
        tries += 1
        clock.advance(3600)

    state = delivery(ledger, team, "SM1")
    assert (state["email"], state["attempts"], tries) == ("failed", 3, 3)
    assert state["last_error"].startswith("cannot compose the mail: ValueError")
    assert smtp.inbox.mails == []


class HeldInbox(Inbox):
    """Holds each mail's DATA until `release` is set."""

    def __init__(self):
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.entered.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 10)
        return await super().handle_DATA(server, session, envelope)


def test_busy_worker_keeps_its_lease_past_its_length(ledger, team, smtp, clock):
    smtp.stop()
    smtp.inbox = HeldInbox()
    smtp.start()
    route(ledger, team, "SM1")
    busy = worker_for(ledger, smtp.url, clock, lease=timedelta(seconds=0.3))
    sending = threading.Thread(target=busy.run_once)
    sending.start()
    try:
        assert smtp.inbox.entered.wait(10)
        first = lease_until(ledger, "SM1")
        clock.advance(10)  # far past the lease it took
        # The heartbeat renews it from the worker's clock.
        wait_until(lambda: lease_until(ledger, "SM1") > first + timedelta(seconds=9))
        assert worker_for(ledger, smtp.url, clock).run_once() == 0
    finally:
        smtp.inbox.release.set()
        sending.join()

    assert smtp.inbox.ids() == [mail_id(team.account_id, "SM1")]
    assert delivery(ledger, team, "SM1") == {"email": "sent", "attempts": 1}


def test_lease_survives_the_rebuild_switch_while_the_mail_is_in_flight(
    ledger, team, smtp, clock
):
    route(ledger, team, "SM1")
    claims_after_switch = []

    def rebuild_then_compete(item):
        # The server has the mail; it is not recorded yet.
        ledger.rebuild_views()
        claims_after_switch.append(worker_for(ledger, smtp.url, clock).run_once())

    assert worker_for(ledger, smtp.url, clock, fault=rebuild_then_compete).run_once()

    assert claims_after_switch == [0]
    assert smtp.inbox.ids() == [mail_id(team.account_id, "SM1")]
    assert delivery(ledger, team, "SM1") == {"email": "sent", "attempts": 1}
