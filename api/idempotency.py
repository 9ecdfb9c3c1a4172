"""`Idempotency-Key` on every POST (draft-ietf-httpapi-idempotency-key-header).

A request sent again with the same key and the same body answers what the
first answered, with its status; with the same key and another body, 422;
while the first is still being carried out in this process, 409.

Exactness comes from the ledger, not from a cache: a request with a key and
no id of its own gets an id derived from (account, route, key), and the key is
appended with a fingerprint of the body in the same transaction as what the
request created. A retry, after a crash or in another worker process, collides
with both and is answered from them. Keys never expire: the ledger keeps them.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from fastapi import Header
from pydantic import AfterValidator, BaseModel

from smsledger.domain.errors import Conflict, InvalidInput
from smsledger.domain.idempotency import IdempotencyKey
from smsledger.ledger.application import Ledger, Prepared, Saved
from smsledger.projections.persistence import Reads

HEADER = "Idempotency-Key"
KEY_MAX = 255
# The draft's value is a Structured Field string ("..."); a bare token is
# taken too, as most clients send one.
_QUOTED = re.compile(r'^"((?:[ !#-\[\]-~]|\\["\\])*)"$')
_BARE = re.compile(r"^[!#-\[\]-~]+$")
ADMIN_SCOPE = "admin"

DESCRIPTION = (
    "Makes a retry safe without an id of your own: a request sent again with "
    "the same key and body answers as the first did; with another body, 422; "
    "while the first is still being carried out, 409. Keys are kept for good. "
    f"Up to {KEY_MAX} visible ASCII characters, bare or as a quoted string."
)


def parse(raw: str) -> str:
    """The key a header value carries; InvalidInput when it carries none."""
    quoted = _QUOTED.match(raw)
    key = re.sub(r"\\(.)", r"\1", quoted.group(1)) if quoted else raw
    if not (quoted or _BARE.match(raw)) or not 1 <= len(key) <= KEY_MAX:
        raise InvalidInput(
            HEADER,
            f"must be 1 to {KEY_MAX} visible ASCII characters, bare or quoted",
        )
    return key


def _valid(raw: str) -> str:
    try:
        return parse(raw)
    except InvalidInput as error:
        raise ValueError(error.message) from None


KeyHeader = Annotated[
    str | None,
    AfterValidator(lambda raw: None if raw is None else _valid(raw)),
    Header(
        alias=HEADER,
        description=DESCRIPTION,
        # The bare form; the quoted one is taken as well.
        json_schema_extra={
            "minLength": 1,
            "maxLength": KEY_MAX,
            "pattern": _BARE.pattern,
        },
    ),
]


def fingerprint(body: BaseModel) -> str:
    """The body as sent, whatever its spacing or order of fields."""
    sent = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    canonical = json.dumps(sent, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class KeyUse:
    """A request with an Idempotency-Key: who sent it where, and what it said."""

    scope: str
    route: str
    key: str
    fingerprint: str

    @property
    def id(self) -> UUID:
        return IdempotencyKey.create_id(self.scope, self.route, self.key)

    def derived_id(self) -> str:
        """The id of what the request creates when it names none: the same
        for every retry, so that a retry collides with the first."""
        said = f"{self.scope}\x1f{self.route}\x1f{self.key}"
        return "k-" + hashlib.sha256(said.encode()).hexdigest()[:32]

    def remember(self, record: str) -> IdempotencyKey:
        return IdempotencyKey(
            scope=self.scope,
            route=self.route,
            key=self.key,
            fingerprint=self.fingerprint,
            record=record,
        )


def use(scope: str, route: str, key: str | None, body: BaseModel) -> KeyUse | None:
    return None if key is None else KeyUse(scope, route, key, fingerprint(body))


def first_use(ledger: Ledger, key: KeyUse) -> IdempotencyKey | None:
    """The key as first used; None if it never was. 422 if with another body."""
    try:
        first: IdempotencyKey = ledger.repository.get(key.id)
    except AggregateNotFoundError:
        return None
    if first.fingerprint != key.fingerprint:
        raise InvalidInput(
            HEADER, "was used before with another body; use a new key for it"
        )
    return first


class InFlight:
    """The keys whose first request this process is still carrying out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[tuple[str, str, str]] = set()

    @contextmanager
    def claim(self, key: KeyUse) -> Iterator[None]:
        held = (key.scope, key.route, key.key)
        with self._lock:
            if held in self._keys:
                raise Conflict(
                    "A request with this Idempotency-Key is still being carried "
                    "out; send it again once that one is answered."
                )
            self._keys.add(held)
        try:
            yield
        finally:
            with self._lock:
                self._keys.discard(held)


class _Together:
    """What a command created and its key, appended as one."""

    def __init__(self, *aggregates: Any) -> None:
        self.aggregates = aggregates

    def collect_events(self) -> list[Any]:
        return [e for a in self.aggregates for e in a.collect_events()]


def remembering(
    prepare: Callable[..., Reads[Prepared]], key: KeyUse, record: str, ledger: Ledger
) -> Callable[..., Reads[Prepared]]:
    """`prepare`, its command appended with `key`: a retry is answered from it."""

    def prepare_remembered(*args: Any, **kwargs: Any) -> Reads[Prepared]:
        prepared = yield from prepare(*args, **kwargs)

        def repeated() -> Saved:
            if first_use(ledger, key) is None:  # only the record's own id collided
                return prepared.repeated()
            # The first request created the record: answer as it was answered.
            return replace(prepared.repeated(), created=True)

        return Prepared(
            # The record's events last: the answer's position is the last one's.
            _Together(key.remember(record), prepared.aggregate),
            prepared.done,
            repeated,
        )

    return prepare_remembered
