"""The decision record: built once; stored, folded, replayed and answered as is.

A decision is recorded as a plain JSON document in its `InboundSms.Held` or
`Routed` event, and the view, the audit and the API all read that document.
`DecisionRecord` is its one builder; `plain` and `encode` its one JSON encoding,
so that a replayed decision and a recorded one compare equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smsledger.domain.routing import Decision
from smsledger.domain.vocabulary import Policy

# What a decision says, as opposed to when and about which message.
DECIDED = ("status", "rule", "contact_ids", "recipient", "evidence", "skipped",
           "explanation", "policy")  # fmt: skip


def encode(value: Any) -> str:
    """The one JSON encoding of decisions (and of the view's documents)."""
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def plain(value: Any) -> Any:
    """`value` as JSON would read it back: datetimes as UTC text."""
    return json.loads(encode(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A decision with the message it is about, as the ledger records it."""

    account_id: str
    message: dict[str, Any]  # message_id, from, to, body, received_at
    decision: Decision
    policy: Policy
    position: int  # the ledger head the facts were read at
    alert: bool  # enhanced inbound raises an alert for its user

    @classmethod
    def build(
        cls,
        account_id: str,
        message: dict[str, Any],
        decision: Decision,
        policy: Policy,
        position: int,
        enhanced_inbound: bool,
    ) -> DecisionRecord:
        recipient = decision.recipient
        alert = enhanced_inbound and bool(recipient and recipient.get("user_id"))
        return cls(account_id, message, decision, policy, position, alert)

    @property
    def held(self) -> bool:
        return self.decision.status == "held"

    def document(self) -> dict[str, Any]:
        """The record as its event stores it: plain JSON values."""
        document: dict[str, Any] = plain(
            {
                "account_id": self.account_id,
                **self.message,
                **self.decision.as_dict(),
                "policy": self.policy,
                "position": self.position,
                "alert": self.alert,
            }
        )
        return document


def decided(document: dict[str, Any]) -> dict[str, Any]:
    """What a recorded decision says, without when and about which message."""
    return {key: document.get(key) for key in DECIDED}


def as_recorded(decision: Decision, policy: Policy) -> dict[str, Any]:
    """A decision in the form it is recorded in, so the two compare equal."""
    return decided(plain({**decision.as_dict(), "policy": policy}))


def recipient_email(document: dict[str, Any]) -> str | None:
    recipient = document["recipient"]
    return str(recipient["email"]) if recipient else None


def as_stored(document: dict[str, Any]) -> dict[str, Any]:
    """A routed decision as the view holds it: with its mail still to send."""
    return {**document, "delivery": {"email": "pending", "attempts": 0}}
