"""Request and response bodies of the HTTP API, with the examples the docs show.

Field names are the client's (`from`, not `from_`). Values are checked for shape
here; what they mean (a valid phone, an existing user) is checked by the ledger.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from smsledger.domain.vocabulary import (
    DEFAULT_POLICY,
    DeliveryState,
    DispatchState,
    NoteKind,
    Policy,
    Rule,
    Status,
)

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
Moment = Annotated[
    datetime,
    AfterValidator(_moment),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Request(BaseModel):
    # Unknown fields are refused: a misspelt field must not be silently ignored.
    model_config = ConfigDict(extra="forbid")


# Accounts.


class AccountCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme Sales",
                    "default_region": "US",
                    "routing_policy": "sms_then_call",
                    "enhanced_inbound": False,
                }
            ]
        }
    )

    name: Name
    default_region: Region = "US"
    routing_policy: Policy = DEFAULT_POLICY
    enhanced_inbound: StrictBool = False


class AccountPatch(Request):
    """Only the fields sent change; null is refused, as no setting can be cleared."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"routing_policy": "most_recent_interaction"},
                {
                    "twilio_account_sid": "AC0123456789abcdef0123456789abcdef",
                    "twilio_auth_token": "f0e1d2c3b4a5968778695a4b3c2d1e0f",
                },
            ]
        }
    )

    name: Name | SkipJsonSchema[None] = None
    default_region: Region | SkipJsonSchema[None] = None
    routing_policy: Policy | SkipJsonSchema[None] = None
    enhanced_inbound: StrictBool | SkipJsonSchema[None] = None
    twilio_auth_token: Secret | SkipJsonSchema[None] = Field(
        default=None,
        description="Checks Twilio's signatures; stored encrypted, never shown.",
    )
    twilio_account_sid: Secret | SkipJsonSchema[None] = Field(
        default=None, description="The Twilio account; stored encrypted, never shown."
    )

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for values sent: an omitted field keeps its default.
        if value is None:
            raise ValueError("must not be null")
        return value


ACCOUNT_EXAMPLE: dict[str, Any] = {
    "account_id": "0b6f9a4e-3c1d-4a5e-9f7b-2d8c6e1a4b3f",
    "name": "Acme Sales",
    "default_region": "US",
    "routing_policy": "sms_then_call",
    "enhanced_inbound": False,
    "twilio_auth_token_set": False,
    "twilio_account_sid_set": False,
}


class Account(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ACCOUNT_EXAMPLE]})

    account_id: str
    name: str
    default_region: str
    routing_policy: Policy
    enhanced_inbound: bool
    twilio_auth_token_set: bool = Field(
        description="Whether Twilio webhooks can be verified; the token is never shown."
    )
    twilio_account_sid_set: bool = Field(
        description="Whether the Twilio account SID is set; it is never shown."
    )


class AccountCreated(Account):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **ACCOUNT_EXAMPLE,
                    "api_key": "sl_Q2xh7Kc9vB1mZ0pRt4YwUe8sNa3LdFg6HjJk5TqVo1E",
                }
            ]
        }
    )

    api_key: str | None = Field(
        description="Shown once: only its hash is stored. null when an "
        "Idempotency-Key retry answers for an account opened before."
    )


# API keys.

KEY_EXAMPLE: dict[str, Any] = {
    "key_id": "key_5f2c9a1e0b7d4c3a",
    "name": "zapier",
    "prefix": "sl_Q2xh7Kc",
    "created_at": "2026-11-01T10:00:00Z",
}


class ApiKeyCreate(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "zapier"}]})

    name: Name = Field(
        max_length=100, description="Unique among the account's live keys."
    )


class ApiKey(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**KEY_EXAMPLE, "last_used_at": "2026-11-02T08:31:00Z"}]
        }
    )

    key_id: str
    name: str
    prefix: str | None = Field(
        description="The key's first characters, to tell keys apart; null for "
        "an account's first key when it was opened before keys had names."
    )
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None, description="To the minute or so; null if never used."
    )


class ApiKeyCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **KEY_EXAMPLE,
                    "api_key": "sl_Q2xh7Kc9vB1mZ0pRt4YwUe8sNa3LdFg6HjJk5TqVo1E",
                }
            ]
        }
    )

    key_id: str
    name: str
    prefix: str
    created_at: datetime
    api_key: str = Field(description="Shown once: only its hash is stored.")


class ApiKeys(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [{**KEY_EXAMPLE, "last_used_at": None}]}]
        }
    )

    items: list[ApiKey]


# Users.


class UserPut(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ann@example.com", "name": "Ann", "active": True}]
        }
    )

    email: Email
    name: Name | None = None
    active: StrictBool = True


class User(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "u-ann",
                    "email": "ann@example.com",
                    "name": "Ann",
                    "active": True,
                }
            ]
        }
    )

    user_id: str
    email: str
    name: str | None
    active: bool


class UserPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "user_id": "u-ann",
                            "email": "ann@example.com",
                            "name": "Ann",
                            "active": True,
                        }
                    ],
                    "next_cursor": "azp1LWFubg",
                }
            ]
        }
    )

    items: list[User]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


# Contacts.


class ContactPut(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Jane Roe",
                    "phones": ["+14155550111", "(415) 555-0112"],
                    "owner_user_id": "u-ann",
                }
            ]
        }
    )

    name: Name | None = None
    phones: list[Phone] = Field(max_length=50)
    owner_user_id: Id | None = Field(default=None, description="null clears the owner")


class Contact(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "contact_id": "c-42",
                    "name": "Jane Roe",
                    "phones": ["+14155550111"],
                    "owner_user_id": "u-ann",
                }
            ]
        }
    )

    contact_id: str
    name: str | None
    phones: list[str]
    owner_user_id: str | None


class ContactPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "contact_id": "c-42",
                            "name": "Jane Roe",
                            "phones": ["+14155550111"],
                            "owner_user_id": "u-ann",
                        }
                    ],
                    "next_cursor": "azpjLTQy",
                }
            ]
        }
    )

    items: list[Contact]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class HistoryEvent(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "Interaction.SmsSent",
                    "position": 17,
                    "recorded_at": "2026-11-20T14:03:01.120000Z",
                    "data": {
                        "account_id": ACCOUNT_EXAMPLE["account_id"],
                        "interaction_id": "i-9",
                        "contact_id": "c-42",
                        "user_id": "u-ann",
                        "to": "+14155550111",
                        "from_number": "+14155550100",
                        "occurred_at": "2026-11-20T14:03:00Z",
                        "body": "Does Tuesday work?",
                    },
                }
            ]
        }
    )

    type: str = Field(description="The recorded event, e.g. `Contact.OwnerChanged`.")
    position: int
    recorded_at: datetime
    data: dict[str, Any]


# Inbound numbers.


class NumberPut(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"backup_email": "frontdesk@example.com", "label": "Sales line"}
            ]
        }
    )

    backup_email: Email
    label: Name | None = None


class InboundNumber(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "+14155550100",
                    "backup_email": "frontdesk@example.com",
                    "label": "Sales line",
                }
            ]
        }
    )

    number: str
    backup_email: str
    label: str | None


# Interactions.


class SmsNote(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "interaction_id": "i-9",
                    "user_id": "u-ann",
                    "contact_id": "c-42",
                    "to": "+14155550111",
                    "from": "+14155550100",
                    "occurred_at": "2026-11-20T14:03:00Z",
                    "body": "Does Tuesday work?",
                }
            ]
        }
    )

    interaction_id: Id | None = None
    user_id: Id
    contact_id: Id
    to: Phone
    sent_from: Phone = Field(alias="from")
    occurred_at: Moment | None = None
    body: SmsText | None = None


class CampaignSmsNote(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "interaction_id": "i-10",
                    "contact_id": "c-42",
                    "to": "+14155550111",
                    "from": "+14155550100",
                    "reply": "campaigns@example.com",
                    "occurred_at": "2026-11-21T09:00:00Z",
                    "body": "Our winter offer: reply YES to book.",
                }
            ]
        }
    )

    interaction_id: Id | None = None
    contact_id: Id
    to: Phone
    sent_from: Phone = Field(alias="from")
    reply: Email = Field(description="The email address replies must go to.")
    occurred_at: Moment | None = None
    body: SmsText | None = None


class CallNote(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "interaction_id": "i-11",
                    "user_id": "u-ann",
                    "contact_id": "c-42",
                    "to": "+14155550111",
                    "from": "+14155550100",
                    "occurred_at": "2026-11-19T16:30:00Z",
                }
            ]
        }
    )

    interaction_id: Id | None = None
    user_id: Id
    contact_id: Id
    to: Phone
    sent_from: Phone | None = Field(default=None, alias="from")
    occurred_at: Moment | None = None


class Interaction(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "interaction_id": "i-9",
                    "kind": "sms",
                    "contact_id": "c-42",
                    "user_id": "u-ann",
                    "reply": None,
                    "to": "+14155550111",
                    "from": "+14155550100",
                    "occurred_at": "2026-11-20T14:03:00Z",
                    "body": "Does Tuesday work?",
                    "position": 17,
                }
            ]
        }
    )

    interaction_id: str
    kind: NoteKind
    contact_id: str
    user_id: str | None
    reply: str | None
    to: str
    sent_from: str | None = Field(alias="from")
    occurred_at: datetime
    body: str | None
    position: int


# Inbound SMS and their routing decisions.


class InboundSms(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from": "+14155550111",
                    "to": "+14155550100",
                    "body": "Yes, Tuesday works",
                    "message_id": "SM0001",
                    "received_at": "2026-11-26T15:04:05Z",
                }
            ]
        }
    )

    sender: Phone = Field(alias="from")
    to: Phone
    body: SmsText
    message_id: Id | None = Field(
        default=None,
        description="The provider's id; a repeat answers the first decision.",
    )
    received_at: Moment | None = None


class Recipient(BaseModel):
    email: str
    user_id: str | None = None


def _absent(value: object) -> bool:
    return value is None


class Delivery(BaseModel):
    # Kept open: delivery records may carry more than these fields.
    model_config = ConfigDict(extra="allow")

    email: DeliveryState
    attempts: int = Field(description="Tries made so far, the one that delivered too.")
    last_error: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="Why the last try did not deliver; absent once the mail is sent.",
    )
    next_attempt_at: datetime | None = Field(
        default=None,
        exclude_if=_absent,
        description="When a pending mail that failed is tried again.",
    )


DECISION_EXAMPLE: dict[str, Any] = {
    "message_id": "SM0001",
    "status": "routed",
    "from": "+14155550111",
    "to": "+14155550100",
    "body": "Yes, Tuesday works",
    "received_at": "2026-11-26T15:04:05Z",
    "contact_ids": ["c-42"],
    "rule": "previous_sms",
    "recipient": {"email": "ann@example.com", "user_id": "u-ann"},
    "evidence": {
        "interaction_id": "i-9",
        "kind": "sms",
        "user_id": "u-ann",
        "contact_id": "c-42",
        "occurred_at": "2026-11-20T14:03:00Z",
    },
    "skipped": [
        {"interaction_id": "i-12", "user_id": "u-bob", "reason": "user_inactive"}
    ],
    "policy": "sms_then_call",
    "position": 1234,
    "explanation": (
        "Routed to ann@example.com: Ann sent the last SMS to Jane Roe on "
        "2026-11-20 14:03 UTC."
    ),
    "delivery": {"email": "sent", "attempts": 1},
}


class Handoff(BaseModel):
    handoff_id: str
    to_user_id: str
    to_email: str
    by_user_id: str | None
    note: str | None
    at: datetime


class Decision(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DECISION_EXAMPLE]})

    message_id: str
    status: Status
    sender: str = Field(alias="from")
    to: str
    body: str
    received_at: datetime
    contact_ids: list[str]
    rule: Rule
    recipient: Recipient | None = Field(description="null while the message is held")
    evidence: dict[str, Any] | None
    skipped: list[dict[str, str]]
    policy: Policy
    position: int = Field(description="The ledger position the decision was made at.")
    explanation: str
    delivery: Delivery | None = None
    handoffs: list[Handoff] | None = Field(
        default=None,
        exclude_if=_absent,
        description="Its hand-offs, oldest first; absent until the first.",
    )


class HandoffRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"to_user_id": "u-bob", "by_user_id": "u-ann", "note": "Bob's client"}
            ]
        }
    )

    to_user_id: Id
    by_user_id: Id | None = None
    note: (
        Annotated[str, AfterValidator(_text), _at_most(1000), _string(1000)] | None
    ) = None
    handoff_id: Id | None = None


class ReplyRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user_id": "u-ann", "body": "See you Tuesday at 10."}]
        }
    )

    user_id: Id
    body: SmsText
    reply_id: Id | None = None


REPLY_EXAMPLE: dict[str, Any] = {
    "reply_id": "r-1",
    "message_id": "SM0001",
    "user_id": "u-bob",
    "body": "See you Tuesday at 10.",
    "status": "sent",
    "attempts": 1,
    "last_error": None,
    "provider_id": "SM5f3a0c9d2b7e4a1c8f6d0e2b4a6c8e0f",
    "queued_at": "2026-11-26T15:10:00Z",
}


class Reply(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REPLY_EXAMPLE]})

    reply_id: str
    message_id: str
    user_id: str
    body: str
    status: DispatchState
    attempts: int = Field(description="Tries made so far.")
    last_error: str | None = Field(
        default=None, description="Why the last try did not send (Twilio's message)."
    )
    provider_id: str | None = Field(
        default=None, description="Twilio's message SID, once it accepted the reply."
    )
    queued_at: datetime


class ReplyList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [REPLY_EXAMPLE]}]}
    )

    items: list[Reply]


class SignInLinkRequest(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"send": True}]})

    send: StrictBool = Field(default=False, description="Also mail it to the user.")


class SignInLink(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://sms.example.com/sign-in/link/3q2-7wN...",
                    "expires_at": "2026-11-26T15:25:00Z",
                }
            ]
        }
    )

    url: str
    expires_at: datetime


class DecisionPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": [DECISION_EXAMPLE], "next_cursor": "MTIzNDpTTTAwMDE"}
            ]
        }
    )

    items: list[Decision]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next, older page; null on the last page."
    )


# Auditing: replay and what-if.


class Replay(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "consistent": True,
                    "recorded": DECISION_EXAMPLE,
                    "replayed": DECISION_EXAMPLE,
                }
            ]
        }
    )

    consistent: bool = Field(
        description="Whether the replayed decision says what the recorded one says."
    )
    recorded: Decision
    replayed: Decision = Field(
        description="The decision recomputed from the ledger as it stood at the "
        "recorded decision's position, under the policy it was made with."
    )


class WhatIfRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"policy": "most_recent_interaction"},
                {"policy": "sms_then_call", "since": 1200, "limit": 20},
            ]
        }
    )

    policy: Policy = Field(description="The policy to replay the history under.")
    since: int = Field(
        default=0,
        strict=True,
        ge=0,
        le=2**63 - 1,
        description="Only decisions made at or after this ledger position.",
    )
    limit: int = Field(
        default=100,
        strict=True,
        ge=1,
        le=1000,
        description="At most this many changed decisions in `items`; "
        "`changed` counts them all.",
    )


WHAT_IF_CHANGE_EXAMPLE: dict[str, Any] = {
    "message_id": "SM0001",
    "position": 1234,
    "recorded_rule": "previous_sms",
    "recorded_recipient": "ann@example.com",
    "what_if_rule": "previous_call",
    "what_if_recipient": "bob@example.com",
}


class WhatIfChange(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [WHAT_IF_CHANGE_EXAMPLE]})

    message_id: str
    position: int = Field(description="The ledger position the decision was made at.")
    recorded_rule: Rule
    recorded_recipient: str | None = Field(description="null if the message was held")
    what_if_rule: Rule
    what_if_recipient: str | None


class WhatIf(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "policy": "most_recent_interaction",
                    "checked": 5120,
                    "changed": 3,
                    "changes": {"previous_sms -> previous_call": 3},
                    "items": [WHAT_IF_CHANGE_EXAMPLE],
                }
            ]
        }
    )

    policy: Policy
    checked: int = Field(description="How many of the decisions were replayed.")
    changed: int = Field(description="How many would have gone to someone else.")
    changes: dict[str, int] = Field(
        description="The changed decisions counted by `recorded rule -> what-if rule`."
    )
    items: list[WhatIfChange] = Field(
        description="The changed decisions, oldest first, at most `limit` of them. "
        "For the rest, ask again with `since` after the last one's position."
    )


# Health and problems.


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"]


class Ready(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ready"}]})

    status: Literal["ready"]


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 `application/problem+json`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "https://smsledger.dev/problems/invalid-input",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "phones[0]: '555' is not a valid phone number",
                    "errors": [
                        {
                            "field": "phones[0]",
                            "message": "'555' is not a valid phone number",
                        }
                    ],
                }
            ]
        }
    )

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError]


class TwilioSms(BaseModel):
    """The fields of Twilio's webhook that routing uses; Twilio sends more."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "MessageSid": "SM0001",
                    "AccountSid": "AC0001",
                    "From": "+14155550111",
                    "To": "+14155550100",
                    "Body": "Yes, Tuesday works",
                }
            ]
        },
    )

    sender: Phone = Field(alias="From")
    to: Phone = Field(alias="To")
    body: SmsText = Field(default="", alias="Body")
    message_sid: Id = Field(alias="MessageSid")
