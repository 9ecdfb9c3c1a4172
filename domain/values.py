"""Value objects: E.164 phone numbers and email addresses."""

from __future__ import annotations

import functools
import re

import phonenumbers

from smsledger.domain.errors import InvalidInput

DEFAULT_REGION = "US"
# Deliberately loose: one @, a dot in the domain, no spaces or control
# characters. Deliverability is proven by the SMTP server, not by a regular
# expression.
_PART = r"[^@\s\x00-\x1f\x7f]+"
_EMAIL = re.compile(rf"^{_PART}@{_PART}\.{_PART}$")


# What `_e164` answers for a number with an extension: E.164 has no room for
# one, and cutting it off would record another line than the one sent.
_EXTENSION = "extension"


def parse_phone(raw: str, region: str, field: str) -> str:
    """Return `raw` in E.164, parsing national formats with `region`."""
    e164 = _e164(raw, region)
    if e164 == _EXTENSION:
        raise InvalidInput(
            field, f"{raw!r} has an extension; send the number without it"
        )
    if e164 is None:
        raise InvalidInput(field, f"{raw!r} is not a valid phone number")
    return e164


# Parsing is the costliest step of recording a note, and the same numbers
# (a team's own, its contacts') come again and again.
@functools.lru_cache(maxsize=65536)
def _e164(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if number.extension:
        return _EXTENSION
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_sender(raw: str, region: str) -> str:
    """An inbound sender in E.164 when it is a phone number, else as sent.

    Short codes and alphanumeric sender ids are accepted: they match no contact.
    A phone number with an extension is refused, as by `parse_phone`.
    """
    try:
        return parse_phone(raw, region, "from")
    except InvalidInput:
        if _e164(raw, region) == _EXTENSION:
            raise
        return raw.strip()


def parse_email(raw: str, field: str) -> str:
    value = raw.strip()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidInput(field, f"{raw!r} is not an email address")
    return value


def check_region(raw: str, field: str = "default_region") -> str:
    region = raw.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(field, f"{raw!r} is not a supported region code")
    return region
