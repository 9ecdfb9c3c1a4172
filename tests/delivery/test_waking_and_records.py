"""A worker hears of decisions routed in another process at once (where the
database can tell it), and records a batch's mails as the server takes them."""

import threading

import psycopg
import pytest

from smsledger.ledger.application import Ledger
from smsledger.ledger.mail import mail_id
from smsledger.ledger.sealing import Sealer
from smsledger.ledger.waking import Waker
from tests.conftest import TEST_SECRET_KEY
from tests.delivery.conftest import JANE, NUMBER, worker_for


def route(ledger, ctx, message_id):
    return ledger.route_inbound_sms(ctx, JANE, NUMBER, "Yes", message_id).value


def delivery(ledger, ctx, message_id):
    return ledger.get_decision(ctx, message_id)["delivery"]


@pytest.fixture
def elsewhere(database_url):
    """The same ledger as another process opens it: its appends wake no
    worker of `ledger` in process."""
    app = Ledger(database_url, Sealer(TEST_SECRET_KEY))
    yield app
    app.close()


def test_a_decision_routed_in_another_process_wakes_a_waiting_worker(
    ledger, team, smtp, elsewhere, database_url
):
    # Polling once a minute: only a wake sends the mail within the test.
    worker = worker_for(ledger, smtp.url, poll=60)
    waker = Waker(ledger, [worker])
    listening = waker.start()
    assert listening == database_url.startswith("postgresql")
    if not listening:
        return  # SQLite cannot tell one process of another's appends
    worker.start()
    try:
        route(elsewhere, team, "SM1")
        smtp.inbox.wait_for(1)
        route(elsewhere, team, "SM2")
        smtp.inbox.wait_for(2)
    finally:
        waker.stop()
        worker.stop()
    assert sorted(smtp.inbox.ids()) == sorted(
        mail_id(team.account_id, m) for m in ("SM1", "SM2")
    )


def test_only_appends_that_make_something_due_are_told(
    ledger, team, elsewhere, database_url
):
    if not database_url.startswith("postgresql"):
        # Nothing to listen to: the workers poll.
        assert ledger.backend.due_notices(threading.Event()) is None
        return
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"LISTEN {ledger.backend.due_channel}")
        for n in range(3):
            elsewhere.record_interaction(
                team, "sms", contact_id="c1", to=JANE, from_number=NUMBER,
                user_id="ann", interaction_id=f"n{n}",
            )  # fmt: skip
        route(elsewhere, team, "SM1")
        routed_at = ledger.head()
        route(elsewhere, team, "SM2")
        told = [int(n.payload) for n in conn.notifies(timeout=10, stop_after=2)]
    # Not the notes: the first notice is the first decision's append.
    assert told == [routed_at, ledger.head()]


def test_a_batch_is_recorded_whole_when_one_mail_was_recorded_meanwhile(ledger, team):
    for m in ("SM1", "SM2", "SM3"):
        route(ledger, team, m)
    accepted = [
        ledger.prepare_delivered(team.account_id, m, mail_id(team.account_id, m))
        for m in ("SM1", "SM2", "SM3")
    ]
    # Another worker recorded SM2 after this one read it.
    ledger.record_delivered(team.account_id, "SM2", mail_id(team.account_id, "SM2"))

    ledger.record_accepted(accepted)

    for m in ("SM1", "SM2", "SM3"):
        assert delivery(ledger, team, m) == {"email": "sent", "attempts": 1}
    assert ledger.outbox.counts() == {"sent": 3}


def test_a_batch_is_recorded_with_each_mail_once(ledger, team, smtp):
    for n in range(25):
        route(ledger, team, f"SM{n}")
    worker = worker_for(ledger, smtp.url)
    while worker.run_once():
        pass
    assert len(smtp.inbox.mails) == 25
    assert ledger.outbox.counts() == {"sent": 25}
    assert all(
        delivery(ledger, team, f"SM{n}") == {"email": "sent", "attempts": 1}
        for n in range(25)
    )
