"""Bodies of the inbox's verbs: hand-offs, replies and sign-in links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from smsledger.api.schemas.fields import Id, Note, Request, SmsText
from smsledger.domain.vocabulary import DispatchState


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
    note: Note | None = None
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
