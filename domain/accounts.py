"""Accounts: one team each; its settings decide how its messages are routed."""

from __future__ import annotations

from typing import Any, Literal, get_args

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

Policy = Literal["sms_then_call", "most_recent_interaction"]
POLICIES: tuple[str, ...] = get_args(Policy)


def check_policy(raw: str) -> Policy:
    if raw not in POLICIES:
        raise InvalidInput(
            "routing_policy", f"must be one of {', '.join(POLICIES)}, not {raw!r}"
        )
    return raw  # type: ignore[return-value]


class Account(Aggregate):
    @event("Opened")
    def __init__(
        self,
        name: str,
        default_region: str,
        routing_policy: str,
        enhanced_inbound: bool,
        api_key_hash: str,
    ) -> None:
        self.name = name
        self.default_region = default_region
        self.routing_policy = routing_policy
        self.enhanced_inbound = enhanced_inbound
        self.api_key_hash = api_key_hash
        self.twilio_auth_token: str | None = None

    @event("SettingsChanged")
    def change_settings(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    @property
    def account_id(self) -> str:
        return str(self.id)

    def settings(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "name": self.name,
            "default_region": self.default_region,
            "routing_policy": self.routing_policy,
            "enhanced_inbound": self.enhanced_inbound,
            "twilio_auth_token_set": self.twilio_auth_token is not None,
        }
