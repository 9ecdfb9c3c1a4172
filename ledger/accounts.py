"""The ledger's verbs for accounts: opening, keys, settings and secrets."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from smsledger.domain.accounts import (
    DEFAULT_KEY_NAME,
    SECRET_NAMES,
    Account,
    ApiKey,
    check_policy,
    check_secret,
)
from smsledger.domain.errors import Conflict, NotFound, Unauthenticated
from smsledger.domain.values import (
    DEFAULT_REGION,
    check_region,
)
from smsledger.ledger.base import (
    API_KEY_PREFIX,
    KEY_USE_INTERVAL,
    SHOWN_PREFIX,
    AccountContext,
    LedgerBase,
    _context,
    _required_text,
    hash_key,
    log,
)
from smsledger.ledger.sealing import Sealer, SecretUnreadable
from smsledger.projections.persistence import (
    from_time_key,
)


class AccountCommands(LedgerBase):
    # Accounts.

    @property
    def sealer(self) -> Sealer:
        if self._sealer is None:
            raise RuntimeError("no secret key: provider secrets cannot be sealed")
        return self._sealer

    def open_account(
        self,
        name: str,
        default_region: str = DEFAULT_REGION,
        routing_policy: str = "sms_then_call",
        enhanced_inbound: bool = False,
        *,
        remember: Callable[[str], Any] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """Open an account with a key named "default", returned here and never
        again.

        `remember`, given the account's id, makes an aggregate appended with it
        (an idempotency key): if that one was appended before, IntegrityError."""
        account = Account(
            name=_required_text(name, "name"),
            default_region=check_region(default_region),
            routing_policy=check_policy(routing_policy),
            enhanced_inbound=enhanced_inbound,
        )
        api_key, _ = _issue_key(account, DEFAULT_KEY_NAME, "admin")
        self._save(account, *([remember(account.account_id)] if remember else []))
        return account.settings(), api_key

    def authenticate(self, api_key: str) -> AccountContext | None:
        key_hash = hash_key(api_key)
        row = self.view.account_by_key_hash(key_hash)
        if row is None or not hmac.compare_digest(row["key_hash"], key_hash):
            return None
        self._key_accounts[key_hash] = row["account_id"]
        self._record_use(key_hash)
        return replace(self._seen(row), key_hash=key_hash)

    def known_account(self, api_key: str) -> AccountContext | None:
        """The account of a key authenticated before, without a query.

        Its settings are as last read, maybe by another request, and the key
        may have been revoked since: only verbs that read both again in their
        own snapshot (recording a note, routing) may be given it. None once a
        minute, too, so that `authenticate` records the key's use.
        """
        key_hash = hash_key(api_key)
        account_id = self._key_accounts.get(key_hash)
        ctx = self._settings.get(account_id) if account_id else None
        if ctx is None or self._use_due(key_hash):
            return None
        return replace(ctx, key_hash=key_hash)

    def _use_due(self, key_hash: str) -> bool:
        last = self._key_used.get(key_hash)
        return last is None or time.monotonic() - last >= KEY_USE_INTERVAL

    def _record_use(self, key_hash: str) -> None:
        """Record when a key was last used, at most once a minute per process."""
        if not self._use_due(key_hash):
            return
        self._key_used[key_hash] = time.monotonic()
        try:
            self.view.record_key_use(key_hash, datetime.now(UTC))
        except Exception:  # a missed record must not refuse the request
            log.exception("could not record the use of an API key")

    def _forget_key(self, key_hash: str | None) -> None:
        """A key found revoked: this process no longer knows it."""
        if key_hash is not None:
            self._key_accounts.pop(key_hash, None)

    def _live_key(self, ctx: AccountContext, live: bool) -> None:
        if not live:
            self._forget_key(ctx.key_hash)
            raise Unauthenticated("The API key is not valid.")

    # API keys.

    def create_api_key(
        self, account_id: str, name: str, issued_by: str = "account"
    ) -> dict[str, Any]:
        """A new key for the account; the key is in the answer, and only there."""
        for tries_left in (1, 0):
            account = self._account(account_id)
            api_key, key = _issue_key(account, name, issued_by)
            try:
                self._save(account)
            except IntegrityError:  # the account changed meanwhile
                if tries_left:
                    continue
                raise Conflict("The account changed meanwhile: try again.") from None
            return {
                "key_id": key.key_id,
                "name": key.name,
                "prefix": key.prefix,
                "created_at": account.modified_on,
                "api_key": api_key,
            }
        raise AssertionError("unreachable")

    def api_keys(self, account_id: str) -> list[dict[str, Any]]:
        """The account's live keys, oldest first; never the keys themselves."""
        return [
            {
                **row,
                "created_at": from_time_key(row["created_at"]),
                "last_used_at": row["last_used_at"]
                and from_time_key(row["last_used_at"]),
            }
            for row in self.view.api_keys(account_id)
        ]

    def revoke_api_key(self, account_id: str, key_id: str) -> None:
        """Revoke a key: every process refuses it from the moment this returns."""
        for tries_left in (1, 0):
            account = self._account(account_id)
            key = account.keys.get(key_id)
            account.revoke_key(key_id)
            try:
                self._save(account)
            except IntegrityError:
                if tries_left:
                    continue
                raise Conflict("The account changed meanwhile: try again.") from None
            assert key is not None
            self._forget_key(key.key_hash)
            return

    def _account(self, account_id: str) -> Account:
        try:
            aggregate_id = UUID(account_id)
        except ValueError:
            raise NotFound(f"no account {account_id!r}") from None
        account = self._find(Account, aggregate_id)
        if not isinstance(account, Account):
            raise NotFound(f"no account {account_id!r}")
        return account

    def _seen(self, row: dict[str, Any]) -> AccountContext:
        ctx = _context(row)
        self._settings[ctx.account_id] = ctx
        return ctx

    def find_account(self, account_id: str) -> dict[str, Any] | None:
        """The account's row as the view holds it; None if there is none."""
        return self.view.account(account_id)

    def context(self, account_id: str) -> AccountContext:
        row = self.view.account(account_id)
        if row is None:
            raise NotFound("no such account")
        return _context(row)

    def account_settings(self, account_id: str) -> dict[str, Any]:
        account: Account = self.repository.get(UUID(account_id))
        return account.settings()

    def twilio_auth_token(self, account_id: str) -> str | None:
        """The account's Twilio auth token, opened; None if it has none, or
        if it cannot be opened with the keys given (which is logged)."""
        return self.provider_secret(account_id, "twilio_auth_token")

    def provider_secret(self, account_id: str, name: str) -> str | None:
        """A provider secret of the account, opened; None if it has none, or
        if it cannot be opened with the keys given (which is logged)."""
        sealed = self.view.secret(account_id, name)
        if sealed is None:
            return None
        try:
            return self.sealer.open(sealed)
        except SecretUnreadable as error:
            log.error("%s of account %s: %s", name, account_id, error)
            return None

    def change_account(self, account_id: str, **changes: Any) -> dict[str, Any]:
        """Change the settings given; provider secrets among them are sealed."""
        checks: dict[str, Callable[[Any], Any]] = {
            "name": lambda v: _required_text(v, "name"),
            "default_region": check_region,
            "routing_policy": check_policy,
            "enhanced_inbound": bool,
        }
        given = {
            k: check_secret(k, changes.pop(k)) for k in SECRET_NAMES if k in changes
        }
        checked = {k: checks[k](v) for k, v in changes.items()}
        account: Account = self.repository.get(UUID(account_id))
        differing = {k: v for k, v in checked.items() if getattr(account, k) != v}
        sealed = {
            name: self.sealer.seal(value)
            for name, value in given.items()
            if self._opened(account.sealed.get(name)) != value
        }
        if differing:
            account.change_settings(differing)
        account.change_secrets(sealed)
        if differing or sealed:
            self._save(account)
        return account.settings()

    def reseal_secrets(self, account_id: str) -> int:
        """Reseal with the current key the account's secrets sealed with an
        older one; how many. Raises SecretUnreadable if no key opens one."""
        for tries_left in (1, 0):
            account = self._account(account_id)
            stale = {
                name: self.sealer.reseal(sealed)
                for name, sealed in account.sealed.items()
                if not self.sealer.is_current(sealed)
            }
            account.reseal(stale)
            try:
                self._save(account)
            except IntegrityError:
                if tries_left:
                    continue
                raise
            return len(stale)
        raise AssertionError("unreachable")

    def _opened(self, sealed: str | None) -> str | None:
        """A sealed value opened; None if there is none or it cannot be."""
        if sealed is None:
            return None
        try:
            return self.sealer.open(sealed)
        except SecretUnreadable:
            return None


def _issue_key(account: Account, name: str, issued_by: str) -> tuple[str, ApiKey]:
    """A new random key, issued to the account: the key, and what is kept of it."""
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = account.issue_key(
        key_id=f"key_{secrets.token_hex(8)}",
        name=name,
        prefix=api_key[:SHOWN_PREFIX],
        key_hash=hash_key(api_key),
        issued_by=issued_by,
    )
    return api_key, key
