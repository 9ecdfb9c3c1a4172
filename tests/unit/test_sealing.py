import pytest
from pydantic import SecretStr

from smsledger.api.settings import Settings
from smsledger.ledger.sealing import Sealer, SecretUnreadable, derive_key

TOKEN = "f0e1d2c3b4a5968778695a4b3c2d1e0f"


def test_sealed_value_opens_to_the_original_and_does_not_contain_it():
    sealer = Sealer("key-one")

    sealed = sealer.seal(TOKEN)

    assert TOKEN not in sealed
    assert sealer.seal(TOKEN) != sealed  # a fresh IV each time
    assert Sealer("key-one").open(sealed) == TOKEN


def test_a_value_sealed_with_another_key_does_not_open():
    sealed = Sealer("key-one").seal(TOKEN)

    with pytest.raises(SecretUnreadable):
        Sealer("key-two").open(sealed)


def test_a_tampered_value_does_not_open():
    sealed = Sealer("key-one").seal(TOKEN)
    tampered = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]

    with pytest.raises(SecretUnreadable):
        Sealer("key-one").open(tampered)


def test_previous_keys_open_and_reseal_moves_a_value_to_the_current_key():
    old = Sealer("key-one").seal(TOKEN)
    rotating = Sealer("key-two", previous=["key-zero", "key-one"])

    assert rotating.open(old) == TOKEN
    assert not rotating.is_current(old)
    resealed = rotating.reseal(old)
    assert rotating.is_current(resealed)
    assert Sealer("key-two").open(resealed) == TOKEN


def test_the_cipher_key_is_derived_not_the_secret_itself():
    key = derive_key("key-one")

    assert b"key-one" not in key
    assert key != derive_key("key-two")
    assert key == derive_key("key-one")


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="must not be empty"):
        Sealer("")


@pytest.mark.parametrize(
    ("given", "keys"),
    [(None, []), ("old", ["old"]), (" a, b ,,c ", ["a", "b", "c"])],
    ids=["unset", "one", "several"],
)
def test_previous_keys_are_read_comma_separated(given, keys):
    settings = Settings(
        secret_key_previous=SecretStr(given) if given is not None else None
    )

    assert settings.previous_secrets() == keys
