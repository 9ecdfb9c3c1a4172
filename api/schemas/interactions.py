"""Bodies of the notes a team records: SMS, campaign SMS and calls."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from smsledger.api.schemas.fields import Email, Id, Moment, Phone, Request, SmsText
from smsledger.domain.vocabulary import NoteKind

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
