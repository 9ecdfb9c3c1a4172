"""Each routed decision is mailed once, through a real SMTP server on loopback."""

import mailbox

import pytest

from smsledger.ledger.compose import compose_all
from smsledger.ledger.delivery import DeliveryWorker
from smsledger.ledger.mail import MaildirTransport, mail_id
from tests.delivery.conftest import JANE, NUMBER, STRANGER, worker_for

BODY = "Yes, Tuesday works"


def route(ledger, ctx, message_id, sender=JANE, body=BODY):
    return ledger.route_inbound_sms(ctx, sender, NUMBER, body, message_id).value


def delivery(ledger, ctx, message_id):
    return ledger.get_decision(ctx, message_id)["delivery"]


def test_each_decision_is_mailed_once_to_its_recipient(ledger, team, smtp):
    route(ledger, team, "SM1")
    route(ledger, team, "SM2", sender=STRANGER, body="Who is this?")
    worker = worker_for(ledger, smtp.url)

    assert worker.run_once() == 2
    assert worker.run_once() == 0

    mails = {mail["Message-ID"]: (to, mail) for to, mail in smtp.inbox.mails}
    assert len(smtp.inbox.mails) == 2
    to, mail = mails[mail_id(team.account_id, "SM1")]
    assert to == ["ann@acme.test"]
    assert mail["To"] == "ann@acme.test"
    assert mail["Subject"] == f"SMS from Jane Roe ({JANE}) to {NUMBER}"
    text = mail.get_content()
    assert BODY in text
    assert ledger.get_decision(team, "SM1")["explanation"] in text
    to, mail = mails[mail_id(team.account_id, "SM2")]
    assert to == ["desk@acme.test"]
    assert "Who is this?" in mail.get_content()
    assert delivery(ledger, team, "SM1") == {"email": "sent", "attempts": 1}
    assert delivery(ledger, team, "SM2") == {"email": "sent", "attempts": 1}


def test_mail_carries_sender_contact_number_time_and_headers(ledger, team, smtp):
    route(ledger, team, "SM1")
    worker_for(ledger, smtp.url).run_once()

    ((_, mail),) = smtp.inbox.mails
    text = mail.get_content()
    decision = ledger.get_decision(team, "SM1")
    for part in (f"From: {JANE}", "Jane Roe", f"To: {NUMBER}", "Received: "):
        assert part in text
    assert mail["Date"] is not None
    assert mail["From"] == "routing@acme.test"
    assert mail.get_content_type() == "text/plain"
    assert decision["received_at"][:10] in text


def test_non_ascii_sms_arrives_intact(ledger, team, smtp):
    body = "Grüße, Zoë! Привет, 你好, مرحبا 👋 — à mardi"
    ledger.put_contact(team, "c1", [JANE], "Zoë Ångström")
    route(ledger, team, "SM1", body=body)
    worker_for(ledger, smtp.url).run_once()

    ((_, mail),) = smtp.inbox.mails
    assert body in mail.get_content()
    assert "Zoë Ångström" in mail["Subject"]


def test_held_message_is_not_mailed_until_routed(ledger, account, smtp):
    ledger.route_inbound_sms(account, JANE, NUMBER, BODY, "SM1")
    worker = worker_for(ledger, smtp.url)
    assert worker.run_once() == 0
    assert ledger.get_decision(account, "SM1").get("delivery") is None

    ledger.put_number(account, NUMBER, "desk@acme.test")
    assert worker.run_once() == 1
    assert [to for to, _ in smtp.inbox.mails] == [["desk@acme.test"]]


def test_smtp_down_keeps_decisions_pending_then_delivers_each_once(
    ledger, team, smtp_down, clock
):
    for n in range(3):
        route(ledger, team, f"SM{n}")
    worker = worker_for(ledger, smtp_down.url, clock)

    assert worker.run_once() == 3
    for n in range(3):
        state = delivery(ledger, team, f"SM{n}")
        assert (state["email"], state["attempts"]) == ("pending", 1)
        assert "Connection" in state["last_error"]
    assert worker.run_once() == 0  # each waits for its retry time

    smtp_down.start()
    clock.advance(60)
    assert worker.run_once() == 3
    clock.advance(3600)
    assert worker.run_once() == 0

    assert sorted(smtp_down.inbox.ids()) == sorted(
        mail_id(team.account_id, f"SM{n}") for n in range(3)
    )
    for n in range(3):
        assert delivery(ledger, team, f"SM{n}") == {"email": "sent", "attempts": 2}


def test_refused_mail_fails_after_bounded_attempts_and_stays_failed(
    ledger, team, smtp, clock
):
    smtp.inbox.refuse["ann@acme.test"] = "550 5.1.1 No such mailbox"
    route(ledger, team, "SM1")
    worker = worker_for(ledger, smtp.url, clock)

    tries = 0
    while worker.run_once():
        tries += 1
        clock.advance(3600)

    state = delivery(ledger, team, "SM1")
    assert (state["email"], state["attempts"], tries) == ("failed", 3, 3)
    assert "550" in state["last_error"]
    assert smtp.inbox.mails == []
    assert ledger.outbox.counts() == {"failed": 1}


def test_deferred_mail_is_retried_until_accepted(ledger, team, smtp, clock):
    smtp.inbox.refuse["ann@acme.test"] = "451 4.3.0 Try again later"
    route(ledger, team, "SM1")
    worker = worker_for(ledger, smtp.url, clock)
    for _ in range(5):
        worker.run_once()
        clock.advance(3600)
    assert delivery(ledger, team, "SM1")["attempts"] == 5

    del smtp.inbox.refuse["ann@acme.test"]
    assert worker.run_once() == 1
    assert delivery(ledger, team, "SM1") == {"email": "sent", "attempts": 6}
    assert len(smtp.inbox.mails) == 1


def test_a_batch_goes_over_one_smtp_session(ledger, team, smtp):
    for n in range(5):
        route(ledger, team, f"SM{n}")

    assert worker_for(ledger, smtp.url).run_once() == 5

    assert len(smtp.inbox.mails) == 5
    assert len(set(smtp.inbox.peers)) == 1
    for n in range(5):
        assert delivery(ledger, team, f"SM{n}") == {"email": "sent", "attempts": 1}


def test_a_refused_mail_leaves_the_session_to_the_rest_of_the_batch(ledger, team, smtp):
    route(ledger, team, "SM1")
    route(ledger, team, "SM2", sender=STRANGER)  # to the desk, refused
    route(ledger, team, "SM3")
    smtp.inbox.refuse["desk@acme.test"] = "550 5.1.1 No such mailbox"

    assert worker_for(ledger, smtp.url).run_once() == 3

    assert sorted(smtp.inbox.ids()) == sorted(
        mail_id(team.account_id, m) for m in ("SM1", "SM3")
    )
    assert len(set(smtp.inbox.peers)) == 1
    assert delivery(ledger, team, "SM2")["email"] == "pending"
    assert "550" in delivery(ledger, team, "SM2")["last_error"]


class Killed(Exception):
    """Stands for the worker process dying."""


def test_worker_killed_between_send_and_record_resends_the_same_mail(
    ledger, team, smtp, clock
):
    route(ledger, team, "SM1")

    def die(item):
        raise Killed

    with pytest.raises(Killed):
        worker_for(ledger, smtp.url, clock, fault=die).run_once()
    assert len(smtp.inbox.mails) == 1
    assert delivery(ledger, team, "SM1")["email"] == "pending"

    survivor = worker_for(ledger, smtp.url, clock)
    assert survivor.run_once() == 0  # the dead worker's lease still holds
    clock.advance(survivor.lease.total_seconds() + 1)
    assert survivor.run_once() == 1
    clock.advance(3600)
    assert survivor.run_once() == 0

    first, second = smtp.inbox.ids()
    assert first == second == mail_id(team.account_id, "SM1")
    assert delivery(ledger, team, "SM1") == {"email": "sent", "attempts": 1}


def test_worker_whose_lease_ran_out_does_not_send(ledger, team, smtp, clock):
    route(ledger, team, "SM1")
    route(ledger, team, "SM2")
    slow = worker_for(ledger, smtp.url, clock)
    _, second = slow.ledger.outbox.claim(slow.owner, clock(), clock(), 10)
    other = worker_for(ledger, smtp.url, clock)
    assert other.run_once() == 2

    mails = compose_all(ledger.view, [second], slow.mail_from, slow.base_url)
    with slow.transport.session() as session:
        # Its lease ran out (at the clock's now), and another sent it.
        slow._deliver(
            second, session, clock(), mails[second],
            lambda accepted: ledger.record_accepted([accepted]),
        )  # fmt: skip

    assert len(smtp.inbox.mails) == 2


def test_rebuilt_view_keeps_delivered_mails_delivered(ledger, team, smtp):
    route(ledger, team, "SM1")
    worker = worker_for(ledger, smtp.url)
    worker.run_once()

    ledger.rebuild_views()

    assert worker.run_once() == 0
    assert len(smtp.inbox.mails) == 1
    assert delivery(ledger, team, "SM1") == {"email": "sent", "attempts": 1}


def test_without_smtp_url_mails_go_to_a_maildir(ledger, team, tmp_path):
    route(ledger, team, "SM1")
    worker = DeliveryWorker(
        ledger, MaildirTransport(tmp_path / "mail"), mail_from="routing@acme.test"
    )
    assert worker.run_once() == 1

    (mail,) = mailbox.Maildir(tmp_path / "mail", create=False)
    assert mail["To"] == "ann@acme.test"
    assert mail["Message-ID"] == mail_id(team.account_id, "SM1")
    assert delivery(ledger, team, "SM1")["email"] == "sent"
