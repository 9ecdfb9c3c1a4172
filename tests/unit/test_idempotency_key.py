"""The Idempotency-Key header's form, and keys held while in flight."""

import pytest

from smsledger.api.idempotency import InFlight, KeyUse, parse
from smsledger.domain.errors import Conflict, InvalidInput


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("abc-123", "abc-123"),
        ('"abc-123"', "abc-123"),
        ('"with space"', "with space"),
        ('"a \\"quoted\\" one"', 'a "quoted" one'),
    ],
)
def test_bare_and_quoted_keys(raw, key):
    assert parse(raw) == key


@pytest.mark.parametrize(
    "raw", ["", '""', "a b", '"open', 'a"b', "é", "x" * 256, '"' + "x" * 256 + '"']
)
def test_malformed_keys_are_refused(raw):
    with pytest.raises(InvalidInput) as error:
        parse(raw)
    assert error.value.field == "Idempotency-Key"


def test_derived_id_depends_on_account_route_and_key():
    use = KeyUse("acct", "/v1/inbound-sms", "k", "f")
    assert use.derived_id() == KeyUse("acct", "/v1/inbound-sms", "k", "g").derived_id()
    others = [
        KeyUse("other", "/v1/inbound-sms", "k", "f"),
        KeyUse("acct", "/v1/interactions/sms", "k", "f"),
        KeyUse("acct", "/v1/inbound-sms", "k2", "f"),
    ]
    assert use.derived_id() not in {o.derived_id() for o in others}


def test_a_key_in_flight_is_refused_until_released():
    in_flight = InFlight()
    use = KeyUse("acct", "/v1/inbound-sms", "k", "f")
    with in_flight.claim(use):
        with pytest.raises(Conflict), in_flight.claim(use):
            pass
        with in_flight.claim(KeyUse("acct", "/v1/inbound-sms", "k2", "f")):
            pass
    with in_flight.claim(use):
        pass
