"""Accounts opened before keys had names keep their one key, as "default"."""

from eventsourcing.persistence import StoredEvent

from smsledger.domain.accounts import Account
from smsledger.ledger.application import hash_key

OLD_KEY = "sl_an-account-key-from-before-named-keys"


def open_as_before_named_keys(ledger) -> str:
    """An account opened with its key's hash in its Opened event."""
    account = Account(
        "Old", "US", "sms_then_call", False, api_key_hash=hash_key(OLD_KEY)
    )
    (event,) = account.collect_events()
    stored: StoredEvent = ledger.mapper.to_stored_event(event)
    ledger.recorder.insert_events([stored], events_to_fold=[event])
    return account.account_id


def test_the_key_of_an_account_opened_before_named_keys_still_works(ledger):
    account_id = open_as_before_named_keys(ledger)

    ctx = ledger.authenticate(OLD_KEY)

    assert ctx is not None
    assert ctx.account_id == account_id
    assert [
        (k["key_id"], k["name"], k["prefix"]) for k in ledger.api_keys(account_id)
    ] == [("default", "default", None)]


def test_it_can_be_revoked_and_survives_a_rebuild_until_then(ledger):
    account_id = open_as_before_named_keys(ledger)
    ledger.rebuild_views()
    assert ledger.authenticate(OLD_KEY) is not None

    ledger.revoke_api_key(account_id, "default")

    assert ledger.authenticate(OLD_KEY) is None
    ledger.rebuild_views()
    assert ledger.authenticate(OLD_KEY) is None
    assert ledger.api_keys(account_id) == []
