"""Export: an account's whole history as import lines, one event a line.

Each line is the request that makes its event again (docs/IMPORT-EXPORT.md),
with the event's name, ledger position and time beside it, in ledger order.
An inbound SMS and its first decision, which routing appends together, share
one line: the import routes the message again where it falls in the history,
and checks the new decision against the one carried in the line.

The rows are streamed from one statement; each event class has a writer,
chosen once, that makes its line: from the stored JSON for users, contacts
and notes (`export_plain`, `export_notes`), from the decoded event for the rest
(`export_events`). Lines leave a page of thousands at a time, as bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent

from smsledger.ledger.application import Ledger
from smsledger.ledger.export_events import Line, Lines
from smsledger.ledger.export_notes import note_writer
from smsledger.ledger.export_plain import (
    NOTES,
    PLAIN,
    NotPlain,
    Writer,
    text,
    values,
)
from smsledger.projections.decoder import EventDecoder
from smsledger.projections.persistence import to_json

Progress = Callable[[int, int], None]
PAGE = 5000  # lines a page: the mails' outcomes are read a page at a time


def export_chunks(
    ledger: Ledger, account_id: str, progress: Progress | None = None
) -> Iterator[bytes]:
    """The account's events as JSON Lines, in runs of whole lines; after
    each run, `progress` is told the position read up to, of the head."""
    exporter = Exporter(account_id, EventDecoder(ledger.mapper))
    writers, writer = exporter.writers, exporter.writer
    page: list[bytes] = []
    inbound: list[tuple[int, Line]] = []  # waiting for their mail's outcome
    head = ledger.head()
    rows = ledger.backend.stored_rows(0, head, mentioning=UUID(account_id))
    for position, topic, state, originator_id, version in rows:
        try:
            line = (writers.get(topic) or writer(topic))(
                position, state, originator_id, version
            )
        except NotPlain:
            line = exporter.decoded(topic, position, state, originator_id, version)
        if line is None:
            continue
        if isinstance(line, bytes):
            page.append(line)
        else:
            inbound.append((len(page), line))
            page.append(b"")
        if len(page) >= PAGE:
            yield _written(ledger, account_id, page, inbound)
            page, inbound = [], []
            if progress:
                progress(position, head)
    if page:
        yield _written(ledger, account_id, page, inbound)
    if progress:
        progress(head, head)


def export_lines(ledger: Ledger, account_id: str) -> Iterator[str]:
    """The same, a line at a time (each ending in a newline)."""
    for chunk in export_chunks(ledger, account_id):
        for line in chunk.splitlines(keepends=True):
            yield line.decode()


def _written(
    ledger: Ledger, account_id: str, page: list[bytes], inbound: list[tuple[int, Line]]
) -> bytes:
    """A page of lines as text, each inbound SMS with its mail's outcome now."""
    if inbound:
        view = ledger.view
        queries = [
            (view.SELECT_DECISION, (account_id, line["message_id"]))
            for _, line in inbound
        ]
        _, results = view.read(queries)
        for (at, line), rows in zip(inbound, results, strict=True):
            if rows and rows[0]["document"]:
                document = rows[0]["document"]
                stored = json.loads(document) if isinstance(document, str) else document
                if stored.get("delivery"):
                    line["delivery"] = stored["delivery"]
            page[at] = (to_json(line) + "\n").encode()
    return b"".join(page)


@dataclass(frozen=True, slots=True)
class _Topic:
    """What an event class's lines need: its topic and name, what its line
    says after the head, and its class version."""

    topic: str
    name: str
    fields: Callable[[dict[str, Any]], dict[str, Any] | None] | None
    class_version: int


class Exporter:
    """The lines of one account's stored events, by a writer for each class."""

    def __init__(
        self,
        account_id: str,
        decoder: EventDecoder,
        plain: Collection[type[DomainEvent]] = PLAIN,
    ) -> None:
        self.account_id = account_id
        self.account = UUID(account_id)
        self.needle = account_id.encode()
        self.decoder = decoder
        self.plain = plain  # the events whose lines are made from their JSON
        self.lines = Lines()
        self.topics: dict[str, _Topic] = {}
        self.writers: dict[str, Writer] = {}

    def line(
        self, position: int, topic: str, state: bytes, originator_id: Any, version: int
    ) -> bytes | Line | None:
        """The line of a stored event (text, or an inbound SMS's to be
        written), or None if it is another account's or has none."""
        try:
            write = self.writers.get(topic) or self.writer(topic)
            return write(position, state, originator_id, version)
        except NotPlain:
            return self.decoded(topic, position, state, originator_id, version)

    def writer(self, topic: str) -> Writer:
        """The writer of an event class's lines, chosen once."""
        kind = self._topic(topic)
        plain = self._class(topic) in self.plain
        write: Writer
        if kind.fields is None:
            write = _no_line
        elif plain and topic in NOTES:
            write = note_writer(topic, self.account_id)
        elif plain:
            write = partial(self._from_json, kind)
        else:
            write = partial(self._decoded, kind)
        self.writers[topic] = write
        return write

    def decoded(
        self, topic: str, position: int, state: bytes, originator_id: Any, version: int
    ) -> bytes | Line | None:
        """The line of a stored event, made from the decoded event."""
        return self._decoded(
            self._topic(topic), position, state, originator_id, version
        )

    def _class(self, topic: str) -> type[DomainEvent]:
        cls: type[DomainEvent] = self.decoder.event_class(topic)
        return cls

    def _topic(self, topic: str) -> _Topic:
        kind = self.topics.get(topic)
        if kind is None:
            cls = self._class(topic)
            fields = Lines.FIELDS.get(cls)
            kind = self.topics[topic] = _Topic(
                topic,
                cls.__qualname__,
                partial(fields, self.lines) if fields is not None else None,
                getattr(cls, "class_version", 1),
            )
        return kind

    def _from_json(
        self, kind: _Topic, position: int, state: bytes, *_: Any
    ) -> bytes | None:
        if self.needle not in state:
            return None  # another account's: not even read
        found = values(state, kind.class_version)
        if found.get("account_id") != self.account_id:
            return None
        assert kind.fields is not None
        fields = kind.fields(found)
        if fields is None:
            return None
        return text({"event": kind.name, "position": position,
                     "recorded_at": found["timestamp"], **fields})  # fmt: skip

    def _decoded(
        self,
        kind: _Topic,
        position: int,
        state: bytes,
        originator_id: Any,
        version: int,
    ) -> bytes | Line | None:
        if originator_id != self.account and self.needle not in state:
            return None
        event = self.decoder.decode(kind.topic, state, originator_id, version)
        if originator_id != self.account and _owner(event) != self.account_id:
            return None
        assert kind.fields is not None
        fields = kind.fields(event.__dict__)
        if fields is None:
            return None
        line = {"event": kind.name, "position": position,
                "recorded_at": event.timestamp, **fields}  # fmt: skip
        if line["type"] == "inbound_sms":
            return line  # its mail's outcome is read with its page's
        return (to_json(line) + "\n").encode()


def _owner(event: Any) -> str | None:
    decision = getattr(event, "decision", None)
    if decision is not None:
        return str(decision["account_id"])
    return getattr(event, "account_id", None)


def _no_line(*_: Any) -> None:
    """The writer of an event that makes no line (keys, secrets)."""
