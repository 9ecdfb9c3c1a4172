"""Bodies of inbound SMS, from the API and Twilio's webhook, and of decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from smsledger.api.schemas.fields import Id, Moment, Phone, Request, SmsText
from smsledger.domain.vocabulary import DeliveryState, Policy, Rule, Status

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
