"""Sign-in links: single-use, short-lived links that sign one user in.

Only the hash of a link's token is recorded; the aggregate's id is derived
from that hash, so the token alone finds its link and a second use of it
conflicts in the ledger itself, however many processes try at once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from smsledger.domain.errors import DomainError
from smsledger.domain.ids import scoped_id

LIFETIME = timedelta(minutes=15)


class SignInFailed(DomainError):
    """A link that does not sign anyone in; `reason` says why, for the log:
    unknown, used, expired, inactive or other_account."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the sign-in link cannot be used: {reason}")
        self.reason = reason


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SignInLink(Aggregate):
    if TYPE_CHECKING:  # made by the metaclass from the @event names below
        Issued: ClassVar[type[Aggregate.Event]]
        Used: ClassVar[type[Aggregate.Event]]

    @staticmethod
    def create_id(token_hash: str, **_: Any) -> UUID:
        return id_for(token_hash)

    @event("Issued")
    def __init__(
        self,
        token_hash: str,
        account_id: str,
        user_id: str,
        expires_at: datetime,
    ) -> None:
        self.token_hash = token_hash
        self.account_id = account_id
        self.user_id = user_id
        self.expires_at = expires_at
        self.used_at: datetime | None = None

    def use(self, now: datetime, account_id: str | None = None) -> None:
        """Sign in with the link: once, before it expires, in its account."""
        if account_id is not None and account_id != self.account_id:
            raise SignInFailed("other_account")
        if self.used_at is not None:
            raise SignInFailed("used")
        if now >= self.expires_at:
            raise SignInFailed("expired")
        self._used(self.account_id, self.user_id, now)

    @event("Used")
    def _used(self, account_id: str, user_id: str, at: datetime) -> None:
        self.used_at = at


def id_for(hashed: str) -> UUID:
    return uuid5(scoped_id("", "sign-in-link", ""), hashed)
