"""Domain errors: each names what went wrong in words a client can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the ledger reports to its callers."""


class InvalidInput(DomainError):
    """A value failed validation; `field` names it as the client sent it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(DomainError):
    """The thing does not exist in this account (or exists only in another)."""


class Forbidden(DomainError):
    """The thing exists, and is not the signed-in user's to act on."""


class Conflict(DomainError):
    """The request contradicts what the ledger already holds."""


class Unauthenticated(DomainError):
    """The API key is not (or no longer) a live key of any account."""
