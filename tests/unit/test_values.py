import pytest

from smsledger.domain.errors import InvalidInput
from smsledger.domain.values import check_region, parse_email, parse_phone, parse_sender


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("(415) 555-0111", "US"),
        ("415.555.0111", "US"),
        ("+1 415 555 0111", "GB"),
        ("0014155550111", "FR"),
    ],
)
def test_national_and_international_formats_become_e164(raw, region):
    assert parse_phone(raw, region, "to") == "+14155550111"


def test_uk_national_number_uses_account_region():
    assert parse_phone("020 7946 0958", "GB", "to") == "+442079460958"


def test_invalid_phone_names_the_field():
    with pytest.raises(InvalidInput) as error:
        parse_phone("12", "US", "phones[1]")
    assert error.value.field == "phones[1]"


def test_short_code_sender_is_kept_as_sent():
    assert parse_sender(" ALERTS ", "US") == "ALERTS"
    assert parse_sender("(415) 555-0111", "US") == "+14155550111"


@pytest.mark.parametrize("raw", ["ann", "ann@", "@example.org", "a b@example.org"])
def test_bad_email_is_rejected(raw):
    with pytest.raises(InvalidInput):
        parse_email(raw, "email")


def test_unknown_region_is_rejected():
    with pytest.raises(InvalidInput):
        check_region("XX")
    assert check_region("gb") == "GB"


@pytest.mark.parametrize("raw", ["+14155550111 ext. 12", "4155550111;ext=5"])
def test_phone_with_an_extension_is_refused_not_cut(raw):
    with pytest.raises(InvalidInput) as error:
        parse_phone(raw, "US", "to")
    assert "extension" in error.value.message
    with pytest.raises(InvalidInput):
        parse_sender(raw, "US")


def test_email_with_a_control_character_is_rejected():
    with pytest.raises(InvalidInput):
        parse_email("ann\x01@example.org", "email")
