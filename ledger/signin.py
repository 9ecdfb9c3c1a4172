"""The ledger's verbs for sign-in links: issue one, mail it, use it once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from smsledger.domain.errors import InvalidInput, NotFound
from smsledger.domain.signin import LIFETIME, SignInFailed, SignInLink, token_hash
from smsledger.ledger.base import AccountContext
from smsledger.ledger.mail import Transport, compose_sign_in_link
from smsledger.ledger.replies import ReplyCommands

LINK_PATH = "/sign-in/link/"


@dataclass(frozen=True)
class IssuedLink:
    url: str
    token: str  # shown once: the ledger keeps only its hash
    expires_at: datetime
    account_id: str
    user_id: str
    email: str


@dataclass(frozen=True)
class SignedIn:
    account_id: str
    user_id: str
    email: str
    name: str | None


@dataclass(frozen=True)
class Mailer:
    """How the service sends the mails it sends at once (sign-in links)."""

    transport: Transport
    mail_from: str


class SignInCommands(ReplyCommands):
    mailer: Mailer | None = None  # set by the server; without it, links are not sent

    def issue_sign_in_link(
        self,
        ctx: AccountContext,
        user_id: str,
        *,
        base_url: str,
        send: bool = False,
        link_suffix: str = "",
        now: datetime | None = None,
    ) -> IssuedLink:
        """A new single-use link that signs `user_id` in; mailed if `send`."""
        user = self.view.user(ctx.account_id, user_id)
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        if not user["active"]:
            raise InvalidInput("user_id", f"user {user_id!r} is not active")
        if send and self.mailer is None:
            raise InvalidInput("send", "this server sends no mail")
        token = secrets.token_urlsafe(32)
        expires_at = (now or datetime.now(UTC)) + LIFETIME
        self._save(SignInLink(token_hash(token), ctx.account_id, user_id, expires_at))
        link = IssuedLink(
            url=f"{base_url.rstrip('/')}{LINK_PATH}{token}",
            token=token,
            expires_at=expires_at,
            account_id=ctx.account_id,
            user_id=user_id,
            email=user["email"],
        )
        if send:
            assert self.mailer is not None
            mail = compose_sign_in_link(
                link.email, link.url + link_suffix, expires_at, self.mailer.mail_from
            )
            self.mailer.transport.send(mail)
        return link

    def mail_sign_in_links(
        self,
        email: str,
        *,
        base_url: str,
        link_suffix: str = "",
        now: datetime | None = None,
    ) -> int:
        """Mail a link to every active user with this address, in any account;
        how many were mailed (a caller answers the same whatever it is)."""
        sent = 0
        for row in self.inbox_view.users_by_email(email.strip()):
            ctx = self.context(row["account_id"])
            self.issue_sign_in_link(
                ctx,
                row["user_id"],
                base_url=base_url,
                send=True,
                link_suffix=link_suffix,
                now=now,
            )
            sent += 1
        return sent

    def use_sign_in_link(
        self,
        token: str,
        *,
        account_id: str | None = None,
        now: datetime | None = None,
    ) -> SignedIn:
        """Sign in with a link: once, within its lifetime, by an active user."""
        link = self._find(SignInLink, SignInLink.create_id(token_hash(token)))
        if link is None:
            raise SignInFailed("unknown")
        user: dict[str, Any] | None = self.view.user(link.account_id, link.user_id)
        link.use(now or datetime.now(UTC), account_id)
        if user is None or not user["active"]:
            raise SignInFailed("inactive")
        try:
            self._save(link)
        except IntegrityError:  # used at the same moment elsewhere
            raise SignInFailed("used") from None
        return SignedIn(link.account_id, link.user_id, user["email"], user["name"])
