"""Fixtures for the `smsledger` command: a ledger with decisions to check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.cli import main

NUMBER = "+14155550100"
SMS_AT = datetime(2026, 11, 5, 10, tzinfo=UTC)


def phone(c: int) -> str:
    return f"+1415555{7000 + c}"


class History:
    """Ann texted contacts k0..k3; Bob called k0 and k2 an hour later; each
    contact then replied once (SM0..SM3). Cat owns every contact."""

    contacts = 4
    newer_call = frozenset({"SM0", "SM2"})

    def __init__(self, ledger: Ledger, ctx: AccountContext) -> None:
        self.ledger = ledger
        self.ctx = ctx
        ledger.put_number(ctx, NUMBER, "frontdesk@example.org")
        for user_id in ("ann", "bob", "cat"):
            ledger.put_user(ctx, user_id, f"{user_id}@example.org")
        self.message_ids = []
        for c in range(self.contacts):
            ledger.put_contact(ctx, f"k{c}", [phone(c)], owner_user_id="cat")
            self.note("sms", "ann", c, SMS_AT)
            if c % 2 == 0:
                self.note("call", "bob", c, SMS_AT + timedelta(hours=1))
            self.message_ids.append(self.reply(c, f"SM{c}")["message_id"])

    def note(self, kind: str, user_id: str, c: int, at: datetime) -> None:
        self.ledger.record_interaction(
            self.ctx, kind, contact_id=f"k{c}", to=phone(c), from_number=NUMBER,
            user_id=user_id, occurred_at=at,
        )  # fmt: skip

    def reply(self, c: int, message_id: str) -> dict[str, Any]:
        saved = self.ledger.route_inbound_sms(
            self.ctx, phone(c), NUMBER, "hi", message_id=message_id
        )
        return saved.value

    def deactivate_in_view_only(self, user_id: str) -> None:
        """Alter the live view by hand, as a bug or a stray UPDATE would: the
        ledger still says the user is active."""
        view = self.ledger.view
        with view.snapshot() as tx:
            version = tx.version
        with view.datastore.transaction(commit=True) as curs:
            statement = "UPDATE {users} SET active = %s WHERE user_id = %s"
            curs.execute(view.sql(statement, version), (False, user_id))


@pytest.fixture
def history(ledger: Ledger, account: AccountContext) -> History:
    return History(ledger, account)


@pytest.fixture
def smsledger(database_url: str, capsys: pytest.CaptureFixture[str]):
    """Run the command in this process on the test's database: exit code, output."""

    def run(*args: str) -> tuple[int, str]:
        code = main(["--database-url", database_url, *args])
        return code, capsys.readouterr().out

    return run
