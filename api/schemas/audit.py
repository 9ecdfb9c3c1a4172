"""Bodies of auditing: a decision replayed, and what-if under another policy."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from smsledger.api.schemas.decisions import DECISION_EXAMPLE, Decision
from smsledger.api.schemas.fields import Request
from smsledger.domain.vocabulary import Policy, Rule

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
