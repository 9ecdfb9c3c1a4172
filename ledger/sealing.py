"""Provider secrets sealed at rest, with keys derived from the service's secret.

A sealed value is a Fernet token (AES-128-CBC and HMAC-SHA256). Its key is
derived with HKDF from SECRET_KEY, so the secret key itself is never used as a
cipher key and its other uses (sessions, links) get keys of their own. Values
are sealed with the current key and opened with it or any previous one, which
is what lets the key be rotated: see `smsledger secrets rotate`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SALT = b"smsledger"
_INFO = b"smsledger provider secrets v1"
# Opened values kept per process: a webhook opens its account's token each
# time, and a sealed value never changes its meaning.
_CACHE_SIZE = 4096


class SecretUnreadable(Exception):
    """A sealed value that none of the given keys opens."""


def derive_key(secret: str) -> bytes:
    """The Fernet key for provider secrets, derived from the service's secret."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


class Sealer:
    """Seals with the current secret; opens with it or any previous one."""

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        if not secret:
            raise ValueError("the secret key must not be empty")
        self._current = Fernet(derive_key(secret))
        self._any = MultiFernet(
            [self._current, *(Fernet(derive_key(old)) for old in previous)]
        )
        self._opened: dict[str, str] = {}

    def seal(self, plain: str) -> str:
        return self._current.encrypt(plain.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        plain = self._opened.get(sealed)
        if plain is None:
            try:
                plain = self._any.decrypt(sealed.encode("ascii")).decode()
            except (InvalidToken, UnicodeError) as error:
                raise SecretUnreadable(
                    "no given secret key opens it (was SECRET_KEY changed "
                    "without SECRET_KEY_PREVIOUS?)"
                ) from error
            if len(self._opened) >= _CACHE_SIZE:
                self._opened.clear()
            self._opened[sealed] = plain
        return plain

    def is_current(self, sealed: str) -> bool:
        """Whether `sealed` was sealed with the current key."""
        try:
            self._current.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def reseal(self, sealed: str) -> str:
        """The same value sealed with the current key."""
        return self.seal(self.open(sealed))
