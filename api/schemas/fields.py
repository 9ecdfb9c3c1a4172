"""The fields every body shares: ids, names, phones, moments; the base of requests.

Values are checked for shape here; what they mean (a valid phone, an existing
user) is checked by the ledger.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema

# An id travels in paths: no slash, no control character, no space at either end.
ID_PATTERN = r"^[^\s/\x00-\x1f\x7f](?:[^/\x00-\x1f\x7f]*[^\s/\x00-\x1f\x7f])?$"
ID_MAX = 200
_ID = re.compile(ID_PATTERN)
# Caps on what a client may send, in characters. Generous for real use; they
# keep one request from storing megabytes in an append-only ledger.
NAME_MAX = 200
SMS_MAX = 1600  # what Twilio accepts in one (concatenated) SMS
PHONE_MAX = 64  # a phone number however formatted, a short code, a sender id
EMAIL_MAX = 254  # RFC 5321's limit on a path
REGION_MAX = 8
SECRET_MAX = 256
# Names are shown in mails and pages: no control characters (C0, DEL, C1).
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Moments outside these years cannot be stored as sortable text.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


def _text(value: str) -> str:
    # JSON can spell a lone surrogate (\ud800), which no database can store.
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    # PostgreSQL text cannot hold NUL; refuse it on every backend alike.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _id(value: str) -> str:
    value = _text(value)
    if len(value) > ID_MAX or not _ID.match(value):
        raise ValueError(
            f"must be 1 to {ID_MAX} characters, without slashes, control "
            "characters or spaces at either end"
        )
    return value


def _name(value: str) -> str:
    if _CONTROL.search(_text(value)):
        raise ValueError("must not contain control characters")
    return value


def _at_most(most: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > most:
            raise ValueError(f"must be at most {most} characters")
        return value

    return AfterValidator(check)


def _string(most: int, pattern: str = "^[^\\x00]*$") -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "maxLength": most, "pattern": pattern})


def _moment(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must have a UTC offset (RFC 3339)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError("must be between 1970 and 9999")
    return utc


Id = Annotated[
    str,
    AfterValidator(_id),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": ID_MAX, "pattern": ID_PATTERN}
    ),
]
Text = Annotated[
    str,
    AfterValidator(_text),
    WithJsonSchema({"type": "string", "pattern": "^[^\\x00]*$"}),
]
Name = Annotated[
    str, AfterValidator(_name), _at_most(NAME_MAX), _string(NAME_MAX, NAME_PATTERN)
]
Phone = Annotated[str, AfterValidator(_text), _at_most(PHONE_MAX), _string(PHONE_MAX)]
SmsText = Annotated[str, AfterValidator(_text), _at_most(SMS_MAX), _string(SMS_MAX)]
Email = Annotated[str, AfterValidator(_text), _at_most(EMAIL_MAX), _string(EMAIL_MAX)]
Region = Annotated[
    str, AfterValidator(_text), _at_most(REGION_MAX), _string(REGION_MAX)
]
Secret = Annotated[
    str, AfterValidator(_text), _at_most(SECRET_MAX), _string(SECRET_MAX)
]
# A note written to a colleague, as a hand-off carries one.
NOTE_MAX = 1000
Note = Annotated[str, AfterValidator(_text), _at_most(NOTE_MAX), _string(NOTE_MAX)]
Moment = Annotated[
    datetime,
    AfterValidator(_moment),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Request(BaseModel):
    # Unknown fields are refused: a misspelt field must not be silently ignored.
    model_config = ConfigDict(extra="forbid")
