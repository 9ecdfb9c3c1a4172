"""Each hand-off is mailed, once, to the user it was handed to, and popped
where the account has enhanced inbound."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.delivery import DeliveryWorker
from smsledger.ledger.mail import MaildirTransport
from tests.delivery.conftest import JANE, NUMBER, Clock


def mails(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted((folder / "new").iterdir())
    ]


def test_each_handoff_is_mailed_once_to_its_user(
    ledger: Ledger, team: AccountContext, clock: Clock, tmp_path: Path
) -> None:
    ledger.put_user(team, "bob", "bob@acme.test", "Bob")
    ledger.put_user(team, "cat", "cat@acme.test", "Cat")
    ledger.route_inbound_sms(team, JANE, NUMBER, "Is Tuesday ok?", "SM1")
    ledger.hand_off(
        team,
        "SM1",
        to_user_id="bob",
        by_user_id="ann",
        note="Bob books Tuesdays",
        handoff_id="h1",
    )
    again = ledger.hand_off(
        team,
        "SM1",
        to_user_id="bob",
        by_user_id="ann",
        note="Bob books Tuesdays",
        handoff_id="h1",
    )
    assert not again.created
    ledger.hand_off(team, "SM1", to_user_id="cat", by_user_id="bob", handoff_id="h2")
    folder = tmp_path / "mail"
    worker = DeliveryWorker(
        ledger,
        MaildirTransport(folder),
        mail_from="r@acme.test",
        clock=clock,
        base_url="https://sms.acme.test",
    )

    worker.run_once()
    worker.run_once()

    sent = {mail["To"]: mail for mail in mails(folder)}
    assert sorted(sent) == ["ann@acme.test", "bob@acme.test", "cat@acme.test"]
    to_bob = sent["bob@acme.test"].get_content()
    assert sent["bob@acme.test"]["Subject"].startswith("Handed to you: SMS from")
    assert "Is Tuesday ok?" in to_bob
    assert "Handed to you by ann." in to_bob
    assert "Their note: Bob books Tuesdays" in to_bob
    assert "Open it in the inbox: https://sms.acme.test/inbox/SM1" in to_bob
    assert ledger.handoff_mails.counts() == {"sent": 2}


def test_a_handoff_pops_for_its_user_with_enhanced_inbound(
    ledger: Ledger, team: AccountContext
) -> None:
    ledger.change_account(team.account_id, enhanced_inbound=True)
    ledger.put_user(team, "bob", "bob@acme.test", "Bob")
    ledger.route_inbound_sms(team, JANE, NUMBER, "Is Tuesday ok?", "SM1")
    woken: list[int] = []
    ledger.on_routed.append(lambda: woken.append(1))

    ledger.hand_off(team, "SM1", to_user_id="bob", by_user_id="ann")

    assert woken == [1]
    ((_, popped),) = ledger.alerts(team, "bob", 0)
    assert popped["message_id"] == "SM1"
    assert popped["handoffs"][-1]["to_user_id"] == "bob"
    assert len(ledger.alerts(team, "ann", 0)) == 1  # the decision's own pop
