"""Web sessions: a signed cookie naming who signed in, and its CSRF token.

The cookie is signed with the service's SECRET_KEY (`Settings.secret`), so
every process of a deployment reads the others' sessions; it holds no secret
itself, only ids and the token every form that changes something must echo.
A session is made before sign-in too, so the sign-in form has its token; a
new one, with a new token, replaces it at sign-in.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "smsledger_session"
# Signed in for a working day at most; then the key is asked for again.
MAX_AGE_SECONDS = 12 * 3600
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    """What the cookie says: its CSRF token and, once signed in, whose it is.

    `user_id` is None for a session opened with the account's API key, which
    sees the whole account; a session of one user sees what that user may.
    """

    csrf: str
    account_id: str | None = None
    user_id: str | None = None

    @classmethod
    def anonymous(cls) -> Session:
        return cls(csrf=secrets.token_urlsafe(24))

    def signed_in(self, account_id: str, user_id: str | None = None) -> Session:
        # A fresh token: one seen before sign-in must not work after it.
        return replace(Session.anonymous(), account_id=account_id, user_id=user_id)

    def accepts(self, token: str | None) -> bool:
        """Whether a form's token is this session's."""
        return token is not None and hmac.compare_digest(
            token.encode(), self.csrf.encode()
        )


class Sessions:
    """Reads and writes the session cookie of a request."""

    def __init__(self, secret: str, public_base_url: str | None = None) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="smsledger.session")
        self.always_secure = bool(
            public_base_url and public_base_url.lower().startswith("https:")
        )

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data: Any = self.serializer.loads(raw, max_age=MAX_AGE_SECONDS)
            return Session(**data)
        except (BadSignature, TypeError):
            return None

    def write(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self.serializer.dumps(asdict(session)),
            max_age=MAX_AGE_SECONDS,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.always_secure or request.url.scheme == "https",
        )

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.always_secure or request.url.scheme == "https",
        )
