"""Bodies of the directory: users, contacts and their history, inbound numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from smsledger.api.schemas.accounts import ACCOUNT_EXAMPLE
from smsledger.api.schemas.fields import Email, Id, Name, Phone, Request

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
