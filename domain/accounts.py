"""Accounts: one team each; its settings decide how its messages are routed.

An account also holds its API keys (named, each known only by its hash) and
its provider secrets, sealed: the ledger never holds a secret in the clear.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.domain import Aggregate, event

from smsledger.domain.errors import Conflict, InvalidInput, NotFound
from smsledger.domain.vocabulary import POLICIES, Policy, check_policy

__all__ = ["POLICIES", "Policy", "check_policy"]

# Provider secrets: stored sealed, answered only as `<name>_set` flags.
SECRET_NAMES = ("twilio_auth_token", "twilio_account_sid")
SECRET_MAX = 256
KEY_NAME_MAX = 100
MAX_KEYS = 50
DEFAULT_KEY_NAME = "default"
# The one key of an account opened before keys had names and ids.
FIRST_KEY_ID = "default"


def check_secret(name: str, raw: str) -> str:
    """A provider secret as given: printable, no spaces, of a sane length."""
    if name not in SECRET_NAMES:
        raise InvalidInput(name, "is not a provider secret")
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        raise InvalidInput(name, "must not be empty")
    if len(value) > SECRET_MAX:
        raise InvalidInput(name, f"must be at most {SECRET_MAX} characters")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise InvalidInput(name, "must not contain spaces or control characters")
    return value


@dataclass(frozen=True)
class ApiKey:
    """A key of the account: the key itself is never kept, only its hash."""

    key_id: str
    name: str
    prefix: str | None  # its first characters, to tell keys apart; None if unknown
    key_hash: str


class Account(Aggregate):
    if TYPE_CHECKING:  # made by the metaclass from the @event names below
        Opened: ClassVar[type[Aggregate.Event]]
        SettingsChanged: ClassVar[type[Aggregate.Event]]
        SecretsChanged: ClassVar[type[Aggregate.Event]]
        SecretsResealed: ClassVar[type[Aggregate.Event]]
        ApiKeyIssued: ClassVar[type[Aggregate.Event]]
        ApiKeyRevoked: ClassVar[type[Aggregate.Event]]

    @event("Opened")
    def __init__(
        self,
        name: str,
        default_region: str,
        routing_policy: str,
        enhanced_inbound: bool,
        api_key_hash: str | None = None,
    ) -> None:
        self.name = name
        self.default_region = default_region
        self.routing_policy = routing_policy
        self.enhanced_inbound = enhanced_inbound
        self.keys: dict[str, ApiKey] = {}
        # Each provider secret by name, sealed (see ledger/sealing.py).
        self.sealed: dict[str, str] = {}
        if api_key_hash is not None:  # opened with its one key, before key names
            self.keys[FIRST_KEY_ID] = ApiKey(
                FIRST_KEY_ID, DEFAULT_KEY_NAME, None, api_key_hash
            )

    @event("SettingsChanged")
    def change_settings(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name not in SECRET_NAMES:
                setattr(self, name, value)
            elif isinstance(value, dict):
                # Events written before secrets were sealed held them in the
                # clear; `smsledger secrets migrate` rewrote each as sealed.
                self.sealed[name] = value["sealed"]
            # A value still in the clear is not used: it awaits the migration.

    # Provider secrets.

    def change_secrets(self, sealed: dict[str, str]) -> None:
        """Set or replace provider secrets, each given sealed."""
        for name in sealed:
            if name not in SECRET_NAMES:
                raise InvalidInput(name, "is not a provider secret")
        if sealed:
            self._change_secrets(sealed)

    @event("SecretsChanged")
    def _change_secrets(self, sealed: dict[str, str]) -> None:
        self.sealed.update(sealed)

    def reseal(self, sealed: dict[str, str]) -> None:
        """The same secrets, sealed again with a newer key."""
        for name in sealed:
            if name not in self.sealed:
                raise NotFound(f"no provider secret {name!r} to reseal")
        if sealed:
            self._reseal(sealed)

    @event("SecretsResealed")
    def _reseal(self, sealed: dict[str, str]) -> None:
        self.sealed.update(sealed)

    # API keys.

    def check_key_name(self, raw: str) -> str:
        name = raw.strip() if isinstance(raw, str) else ""
        if not name:
            raise InvalidInput("name", "must not be empty")
        if len(name) > KEY_NAME_MAX:
            raise InvalidInput("name", f"must be at most {KEY_NAME_MAX} characters")
        if any(unicodedata.category(c).startswith("C") for c in name):
            raise InvalidInput("name", "must not contain control characters")
        if any(key.name == name for key in self.keys.values()):
            raise Conflict(f"the account already has a key named {name!r}")
        if len(self.keys) >= MAX_KEYS:
            raise Conflict(f"an account holds at most {MAX_KEYS} keys: revoke one")
        return name

    def issue_key(
        self, key_id: str, name: str, prefix: str, key_hash: str, issued_by: str
    ) -> ApiKey:
        """A new key; `issued_by` says whether the account or the admin asked."""
        name = self.check_key_name(name)
        self._issue_key(key_id, name, prefix, key_hash, issued_by)
        return self.keys[key_id]

    @event("ApiKeyIssued")
    def _issue_key(
        self, key_id: str, name: str, prefix: str, key_hash: str, issued_by: str
    ) -> None:
        self.keys[key_id] = ApiKey(key_id, name, prefix, key_hash)

    def revoke_key(self, key_id: str) -> None:
        if key_id not in self.keys:
            raise NotFound(f"no API key {key_id!r}")
        self._revoke_key(key_id)

    @event("ApiKeyRevoked")
    def _revoke_key(self, key_id: str) -> None:
        del self.keys[key_id]

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
            **{f"{name}_set": name in self.sealed for name in SECRET_NAMES},
        }
