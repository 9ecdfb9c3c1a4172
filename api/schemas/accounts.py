"""Bodies of accounts and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from pydantic.json_schema import SkipJsonSchema

from smsledger.api.schemas.fields import Name, Region, Request, Secret
from smsledger.domain.vocabulary import DEFAULT_POLICY, Policy

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
