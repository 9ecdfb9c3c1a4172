"""Replies go out through Twilio once, are retried like mail, and once sent
are their user's SMS note; a stand-in on loopback checks each request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.cli import main
from smsledger.ledger.delivery import DeliveryWorker
from smsledger.ledger.mail import MaildirTransport
from smsledger.ledger.sms import TwilioSender
from tests.conftest import TEST_SECRET_KEY
from tests.delivery.conftest import JANE, NUMBER, Clock, free_port
from tests.delivery.twilio_standin import SID, TOKEN, TwilioStandIn

REFUSAL = (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    """The stand-in, not running yet: `start()` brings it up."""
    standin = TwilioStandIn(free_port())
    yield standin
    standin.stop()


@pytest.fixture
def handed(ledger: Ledger, team: AccountContext) -> AccountContext:
    """Jane's message went to Ann, who handed it to Bob; Twilio is set up."""
    ledger.change_account(
        team.account_id, twilio_account_sid=SID, twilio_auth_token=TOKEN
    )
    ledger.put_user(team, "bob", "bob@acme.test", "Bob")
    ledger.route_inbound_sms(team, JANE, NUMBER, "Is Tuesday ok?", "SM1")
    ledger.hand_off(team, "SM1", to_user_id="bob", by_user_id="ann")
    return team


def worker(
    ledger: Ledger, twilio: TwilioStandIn, clock: Clock, tmp_path: Path
) -> DeliveryWorker:
    return DeliveryWorker(
        ledger,
        MaildirTransport(tmp_path / "mail"),
        mail_from="routing@acme.test",
        sms=TwilioSender(twilio.url, timeout=5),
        clock=clock,
        rand=lambda: 1.0,
    )


def reply_of(ledger: Ledger, ctx: AccountContext) -> dict[str, Any]:
    (reply,) = ledger.replies(ctx, "SM1")
    return reply


def test_reply_is_sent_once_and_is_then_the_users_sms_note(
    ledger: Ledger,
    handed: AccountContext,
    twilio: TwilioStandIn,
    clock: Clock,
    tmp_path: Path,
) -> None:
    twilio.start()
    queued = ledger.reply(handed, "SM1", user_id="bob", body="Tuesday is fine").value
    assert queued["status"] == "queued"
    sender = worker(ledger, twilio, clock, tmp_path)

    sender.run_once()
    sender.run_once()

    assert twilio.received == [{"From": NUMBER, "To": JANE, "Body": "Tuesday is fine"}]
    sent = reply_of(ledger, handed)
    assert (sent["status"], sent["attempts"]) == ("sent", 1)
    assert sent["provider_id"] == "SM" + "1".zfill(32)
    following = ledger.route_inbound_sms(handed, JANE, NUMBER, "Great").value
    assert following["rule"] == "previous_sms"
    assert following["recipient"]["user_id"] == "bob"
    assert following["evidence"]["interaction_id"] == queued["reply_id"]
    assert ledger.replay_decision(handed, following["message_id"])["consistent"]


def test_reply_refused_by_twilio_fails_with_its_message_and_makes_no_note(
    ledger: Ledger,
    handed: AccountContext,
    twilio: TwilioStandIn,
    clock: Clock,
    tmp_path: Path,
) -> None:
    twilio.refusal = REFUSAL
    twilio.start()
    ledger.reply(handed, "SM1", user_id="bob", body="Tuesday is fine")
    sender = worker(ledger, twilio, clock, tmp_path)

    for _ in range(4):
        sender.run_once()
        clock.advance(3600)

    failed = reply_of(ledger, handed)
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert "Attempt to send to unsubscribed recipient" in failed["last_error"]
    assert twilio.received == []
    following = ledger.route_inbound_sms(handed, JANE, NUMBER, "Hello?").value
    assert following["rule"] == "handoff"  # the hand-off's note, not the reply's


def test_reply_sent_during_an_outage_goes_out_once_when_twilio_returns(
    ledger: Ledger,
    handed: AccountContext,
    twilio: TwilioStandIn,
    clock: Clock,
    tmp_path: Path,
) -> None:
    ledger.reply(handed, "SM1", user_id="bob", body="Tuesday is fine")
    sender = worker(ledger, twilio, clock, tmp_path)

    sender.run_once()
    waiting = reply_of(ledger, handed)
    assert (waiting["status"], waiting["attempts"]) == ("queued", 1)
    assert "ConnectError" in waiting["last_error"]
    sender.run_once()  # not due yet: no second try
    assert reply_of(ledger, handed)["attempts"] == 1

    twilio.start()
    clock.advance(3600)
    sender.run_once()
    clock.advance(3600)
    sender.run_once()

    assert len(twilio.received) == 1
    sent = reply_of(ledger, handed)
    assert (sent["status"], sent["attempts"]) == ("sent", 2)


def test_a_replys_lease_survives_the_rebuild_switch(
    ledger: Ledger, handed: AccountContext, clock: Clock
) -> None:
    ledger.reply(handed, "SM1", user_id="bob", body="Tuesday is fine")
    queue, until = ledger.dispatches, clock() + timedelta(seconds=5)
    (item,) = queue.claim("first", clock(), until, 10)

    ledger.rebuild_views()

    assert queue.claim("second", clock(), until, 10) == []
    assert queue.renew(item, "first", until)
    assert ledger.handoff_mails.claim("second", clock(), until, 10) != []


def test_deliver_command_sends_replies_with_the_servers_key(
    ledger: Ledger,
    handed: AccountContext,
    twilio: TwilioStandIn,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    twilio.start()
    ledger.reply(handed, "SM1", user_id="bob", body="Tuesday is fine")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    command = ["--database-url", database_url, "deliver", "--once"]
    command += ["--maildir", str(tmp_path / "mail"), "--twilio-api-url", twilio.url]

    assert main(command) == 0

    assert twilio.received == [{"From": NUMBER, "To": JANE, "Body": "Tuesday is fine"}]
