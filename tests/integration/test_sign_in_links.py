"""Sign-in links: once, for 15 minutes, in their account, for active users."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smsledger.domain.errors import InvalidInput, NotFound
from smsledger.domain.signin import SignInFailed, token_hash
from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.mail import MaildirTransport
from smsledger.ledger.signin import Mailer

BASE = "https://sms.acme.test"


@pytest.fixture
def ann(ledger: Ledger, account: AccountContext) -> AccountContext:
    ledger.put_user(account, "ann", "ann@acme.test", "Ann")
    return account


def test_a_link_signs_its_user_in_once(ledger: Ledger, ann: AccountContext) -> None:
    link = ledger.issue_sign_in_link(ann, "ann", base_url=BASE)

    signed_in = ledger.use_sign_in_link(link.token)

    assert link.url == f"{BASE}/sign-in/link/{link.token}"
    assert (signed_in.account_id, signed_in.user_id) == (ann.account_id, "ann")
    with pytest.raises(SignInFailed) as again:
        ledger.use_sign_in_link(link.token)
    assert again.value.reason == "used"


def test_only_the_hash_of_a_link_is_recorded(
    ledger: Ledger, ann: AccountContext
) -> None:
    link = ledger.issue_sign_in_link(ann, "ann", base_url=BASE)
    stored = b"".join(
        bytes(n.state) for n in ledger.recorder.select_notifications(1, 1000)
    )
    assert link.token.encode() not in stored
    assert token_hash(link.token).encode() in stored


def test_two_uses_at_once_sign_in_once(ledger: Ledger, ann: AccountContext) -> None:
    link = ledger.issue_sign_in_link(ann, "ann", base_url=BASE)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def use() -> None:
        start.wait()
        try:
            ledger.use_sign_in_link(link.token)
            outcomes.append("in")
        except SignInFailed as failed:
            outcomes.append(failed.reason)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["in", "used"]


def test_a_link_expires_after_15_minutes(ledger: Ledger, ann: AccountContext) -> None:
    issued = datetime.now(UTC)
    link = ledger.issue_sign_in_link(ann, "ann", base_url=BASE, now=issued)
    with pytest.raises(SignInFailed) as late:
        ledger.use_sign_in_link(link.token, now=issued + timedelta(minutes=15))
    assert late.value.reason == "expired"
    just_in_time = issued + timedelta(minutes=14, seconds=59)
    assert ledger.use_sign_in_link(link.token, now=just_in_time).user_id == "ann"


def test_another_accounts_link_fails(ledger: Ledger, ann: AccountContext) -> None:
    other, _ = ledger.open_account("Globex")
    link = ledger.issue_sign_in_link(ann, "ann", base_url=BASE)
    with pytest.raises(SignInFailed) as foreign:
        ledger.use_sign_in_link(link.token, account_id=other["account_id"])
    assert foreign.value.reason == "other_account"
    with pytest.raises(NotFound):
        ledger.issue_sign_in_link(
            ledger.context(other["account_id"]), "ann", base_url=BASE
        )


def test_an_inactive_user_cannot_sign_in(ledger: Ledger, ann: AccountContext) -> None:
    link = ledger.issue_sign_in_link(ann, "ann", base_url=BASE)
    ledger.put_user(ann, "ann", "ann@acme.test", "Ann", active=False)
    with pytest.raises(SignInFailed) as inactive:
        ledger.use_sign_in_link(link.token)
    assert inactive.value.reason == "inactive"
    with pytest.raises(InvalidInput):
        ledger.issue_sign_in_link(ann, "ann", base_url=BASE)


def test_unknown_and_tampered_tokens_fail(ledger: Ledger, ann: AccountContext) -> None:
    link = ledger.issue_sign_in_link(ann, "ann", base_url=BASE)
    for token in ("nonsense", link.token[:-1]):
        with pytest.raises(SignInFailed) as unknown:
            ledger.use_sign_in_link(token)
        assert unknown.value.reason == "unknown"


def test_links_are_mailed_to_every_active_user_with_the_address(
    ledger: Ledger, ann: AccountContext, tmp_path: Path
) -> None:
    folder = tmp_path / "mail"
    ledger.mailer = Mailer(MaildirTransport(folder), "r@acme.test")
    other, _ = ledger.open_account("Globex")
    globex = ledger.context(other["account_id"])
    ledger.put_user(globex, "ann-g", "ann@acme.test", "Ann at Globex")
    ledger.put_user(globex, "old", "old@acme.test", active=False)

    assert ledger.mail_sign_in_links(" Ann@ACME.test ", base_url=BASE) == 2
    assert ledger.mail_sign_in_links("old@acme.test", base_url=BASE) == 0
    assert ledger.mail_sign_in_links("nobody@acme.test", base_url=BASE) == 0

    texts = [path.read_text() for path in (folder / "new").iterdir()]
    assert len(texts) == 2
    tokens = [
        line.removeprefix(f"{BASE}/sign-in/link/")
        for text in texts
        for line in text.splitlines()
        if line.startswith(f"{BASE}/sign-in/link/")
    ]
    users = sorted(ledger.use_sign_in_link(token).user_id for token in tokens)
    assert users == ["ann", "ann-g"]
