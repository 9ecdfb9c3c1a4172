"""`smsledger secrets rotate|migrate`: sealed secrets under a new key, and the
one rewrite of the ledger that seals the secrets written in the clear."""

from uuid import UUID

import pytest

from smsledger.ledger.application import Ledger
from smsledger.ledger.cli import main
from smsledger.ledger.sealing import Sealer
from tests.conftest import TEST_SECRET_KEY
from tests.stored import places_holding

TOKEN = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
SID = "AC0123456789abcdef0123456789abcdef"
NEW_KEY = "the-secret-key-after-rotation"


@pytest.fixture
def server_key(monkeypatch):
    """The environment of the server whose ledger the tests write."""
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("SECRET_KEY_PREVIOUS", raising=False)


def token_seen_by(database_url, sealer, account_id):
    other = Ledger(database_url, sealer)
    try:
        return other.twilio_auth_token(account_id)
    finally:
        other.close()


def write_as_before_sealing(ledger, account_id):
    """The token set as it was before secrets were sealed: in the clear in
    its event, and in a column of the view's accounts table."""
    account = ledger.repository.get(UUID(account_id))
    account.change_settings({"twilio_auth_token": TOKEN, "name": "Acme Sales"})
    ledger.save(account)
    view = ledger.view
    with view.snapshot() as tx:
        version = tx.version
    with view.datastore.transaction(commit=True) as curs:
        for statement in (
            "ALTER TABLE {accounts} ADD COLUMN twilio_auth_token TEXT",
            "UPDATE {accounts} SET twilio_auth_token = %s",
        ):
            params = (TOKEN,) if "%s" in statement else ()
            curs.execute(view.sql(statement, version), params)


def test_migration_seals_the_token_everywhere_and_verify_still_passes(
    ledger, history, smsledger, database_url, server_key
):
    account_id = history.ctx.account_id
    write_as_before_sealing(ledger, account_id)
    assert len(places_holding(database_url, TOKEN)) == 2  # the event, the view

    code, out = smsledger("secrets", "migrate")

    assert code == 0
    assert out.splitlines() == [
        "events holding a provider secret in the clear rewritten: 1",
        "routing view rebuilt from the rewritten ledger",
    ]
    assert places_holding(database_url, TOKEN) == []
    assert token_seen_by(database_url, Sealer(TEST_SECRET_KEY), account_id) == TOKEN
    settings = ledger.account_settings(account_id)
    assert settings["name"] == "Acme Sales"
    assert settings["twilio_auth_token_set"] is True
    assert smsledger("audit", "verify") == (
        0,
        "decisions checked: 4, consistent: 4, inconsistent: 0\n",
    )


def test_migration_run_again_finds_nothing_to_rewrite(
    ledger, history, smsledger, database_url, server_key
):
    write_as_before_sealing(ledger, history.ctx.account_id)
    smsledger("secrets", "migrate")
    head = ledger.head()

    code, out = smsledger("secrets", "migrate")

    assert (code, out) == (
        0,
        "events holding a provider secret in the clear rewritten: 0\n",
    )
    assert ledger.head() == head


def test_dry_run_lists_what_it_would_rewrite_and_changes_nothing(
    ledger, history, smsledger, database_url, server_key
):
    write_as_before_sealing(ledger, history.ctx.account_id)
    before = places_holding(database_url, TOKEN)

    code, out = smsledger("secrets", "migrate", "--dry-run")

    assert (code, out) == (
        0,
        "events holding a provider secret in the clear would be rewritten: 1\n",
    )
    assert places_holding(database_url, TOKEN) == before


def test_rotate_reseals_with_the_new_key_what_the_old_one_sealed(
    ledger, account, smsledger, database_url, monkeypatch
):
    ledger.change_account(
        account.account_id, twilio_auth_token=TOKEN, twilio_account_sid=SID
    )
    monkeypatch.setenv("SECRET_KEY", NEW_KEY)
    monkeypatch.setenv("SECRET_KEY_PREVIOUS", TEST_SECRET_KEY)

    code, out = smsledger("secrets", "rotate")

    assert (code, out) == (
        0,
        "provider secrets resealed with SECRET_KEY: 2 secret(s) of 1 account(s)\n",
    )
    assert token_seen_by(database_url, Sealer(NEW_KEY), account.account_id) == TOKEN
    old_only = Sealer(TEST_SECRET_KEY)
    assert token_seen_by(database_url, old_only, account.account_id) is None
    assert smsledger("secrets", "rotate")[1].endswith("0 secret(s) of 0 account(s)\n")
    assert places_holding(database_url, TOKEN) == []
    assert places_holding(database_url, SID) == []


def test_rotate_without_the_old_key_names_the_accounts_it_cannot_open(
    ledger, account, smsledger, database_url, monkeypatch
):
    ledger.change_account(account.account_id, twilio_auth_token=TOKEN)
    head = ledger.head()
    monkeypatch.setenv("SECRET_KEY", NEW_KEY)
    monkeypatch.delenv("SECRET_KEY_PREVIOUS", raising=False)

    code, out = smsledger("secrets", "rotate")

    assert code == 1
    assert out.splitlines()[-1] == (
        f"unreadable with the keys given: account {account.account_id}"
    )
    assert ledger.head() == head
    old = Sealer(TEST_SECRET_KEY)
    assert token_seen_by(database_url, old, account.account_id) == TOKEN


def test_secrets_commands_refuse_to_run_without_the_servers_key(
    database_url, monkeypatch, tmp_path, capsys
):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "none" / "secret_key"))

    code = main(["--database-url", database_url, "secrets", "rotate"])

    assert code == 2
    assert "no SECRET_KEY, and no key file at" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_migration_clears_the_token_from_an_old_version_it_could_not_drop(
    ledger, history, smsledger, database_url, server_key
):
    write_as_before_sealing(ledger, history.ctx.account_id)
    # A version a reader kept from being dropped, as the rebuild leaves it.
    with ledger.view.datastore.transaction(commit=True) as curs:
        curs.execute(
            "CREATE TABLE sl9_accounts (account_id TEXT, twilio_auth_token TEXT)"
        )
        curs.execute(
            ledger.view.sql("INSERT INTO sl9_accounts VALUES (%s, %s)", 0),
            (history.ctx.account_id, TOKEN),
        )

    code, out = smsledger("secrets", "migrate")

    assert code == 0
    assert out.splitlines()[-1] == "old view table cleared: sl9_accounts"
    assert places_holding(database_url, TOKEN) == []
