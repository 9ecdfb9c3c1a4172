"""Export: an account's whole history as import lines, one event a line.

Each line is the request that makes its event again (docs/IMPORT-EXPORT.md),
with the event's name, ledger position and time beside it, in ledger order.
An inbound SMS and its first decision, which routing appends together, share
one line: the import routes the message again where it falls in the history,
and checks the new decision against the one carried in the line.

Most of a history is users, contacts and notes, whose stored JSON is flat:
their lines are made from it as read (by orjson, several times quicker than
the standard library both ways), not from decoded events. The rest are
decoded as the ledger decodes them. Either way a line is the same text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

import orjson

from ledger.application import Ledger
from projections.persistence import to_json
from projections.rebuild import EventDecoder

Row = tuple[int, str, bytes, Any, int]
Line = dict[str, Any]
PAGE = 5000
# Events whose stored JSON holds only plain values and times: read as it is.
PLAIN = ("User.", "Contact.", "Interaction.")
TIMES = ("timestamp", "occurred_at")  # the times those events hold


def export_lines(ledger: Ledger, account_id: str) -> Iterator[str]:
    """The account's events as JSON Lines (each ending in a newline)."""
    lines = Lines(account_id, EventDecoder(ledger.mapper))
    page: list[str | Line] = []
    for row in _rows(ledger, account_id):
        line = lines.line(*row)
        if line is not None:
            page.append(line)
        if len(page) >= PAGE:
            yield from _written(ledger, account_id, page)
            page = []
    yield from _written(ledger, account_id, page)


def _rows(ledger: Ledger, account_id: str) -> Iterable[Row]:
    """The stored events up to the head that may be the account's, in order."""
    recorder: Any = ledger.recorder
    head = ledger.head()
    if hasattr(recorder, "qualified_events_table"):
        from projections.setwise import stream_events

        return stream_events(recorder, 0, head, mentioning=UUID(account_id))
    return _pages(recorder, head)


def _pages(recorder: Any, head: int) -> Iterator[Row]:
    position = 0
    while position < head:
        page = recorder.select_notifications(
            position, PAGE, stop=head, inclusive_of_start=False
        )
        if not page:
            return
        for n in page:
            yield n.id, n.topic, n.state, n.originator_id, n.originator_version
        position = page[-1].id


def _owner(event: Any) -> str | None:
    decision = getattr(event, "decision", None)
    if decision is not None:
        return str(decision["account_id"])
    return getattr(event, "account_id", None)


def _written(ledger: Ledger, account_id: str, page: list[str | Line]) -> Iterator[str]:
    """A page of lines as text, each inbound SMS with its mail's outcome now."""
    inbound = [x for x in page if isinstance(x, dict) and x["type"] == "inbound_sms"]
    if inbound:
        view = ledger.view
        queries = [
            (view.SELECT_DECISION, (account_id, line["message_id"])) for line in inbound
        ]
        _, results = view.read(queries)
        for line, rows in zip(inbound, results, strict=True):
            if rows and rows[0]["document"]:
                document = rows[0]["document"]
                stored = json.loads(document) if isinstance(document, str) else document
                if stored.get("delivery"):
                    line["delivery"] = stored["delivery"]
    for written in page:
        yield written if isinstance(written, str) else to_json(written) + "\n"


@dataclass(frozen=True, slots=True)
class _Topic:
    """What an event class's lines need: its name, what its line says after
    the head, and whether its stored JSON is read as it is (and at which
    class version)."""

    name: str
    fields: Callable[[dict[str, Any]], dict[str, Any] | None]
    plain: bool
    class_version: int


class Lines:
    """Stored events to lines; a contact's line says all of it, so it keeps
    each contact's state."""

    def __init__(
        self, account_id: str, decoder: EventDecoder, plain: tuple[str, ...] = PLAIN
    ) -> None:
        self.account_id = account_id
        self.plain = plain  # the events whose lines are made from their JSON
        self.account = UUID(account_id)
        self.needle = account_id.encode()
        self.decoder = decoder
        self.topics: dict[str, _Topic] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.received: dict[str, dict[str, Any]] = {}

    def line(
        self, position: int, topic: str, state: bytes, originator_id: Any, version: int
    ) -> str | Line | None:
        """The line of a stored event (text, or to be written), or None if
        it is another account's or has none."""
        if type(state) is not bytes:
            state = bytes(state)
        kind = self.topics.get(topic) or self._topic(topic)
        if kind.plain:
            if self.needle not in state:
                return None  # another account's: not even read
            values = _values(state, kind.class_version)
            if values is not None:
                if values.get("account_id") != self.account_id:
                    return None
                fields = kind.fields(values)
                if fields is None:
                    return None
                line = {"event": kind.name, "position": position,
                        "recorded_at": values["timestamp"], **fields}  # fmt: skip
                text = orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)
                # The standard library writes all but printable ASCII escaped.
                if text.isascii() and b"\x7f" not in text:
                    return text.decode()
                return to_json(line) + "\n"
        if originator_id != self.account and self.needle not in state:
            return None
        event = self.decoder.decode(topic, state, originator_id, version)
        if originator_id != self.account and _owner(event) != self.account_id:
            return None
        fields = kind.fields(event.__dict__)
        if fields is None:
            return None
        return {"event": kind.name, "position": position,
                "recorded_at": event.timestamp, **fields}  # fmt: skip

    def _topic(self, topic: str) -> _Topic:
        cls = self.decoder.event_class(topic)
        name = cls.__qualname__
        kind = self.topics[topic] = _Topic(
            name,
            self._fields(name, cls),
            name.startswith(self.plain),
            getattr(cls, "class_version", 1),
        )
        return kind

    def _fields(
        self, name: str, cls: type[Any]
    ) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
        """What a line says of an event of this class, given its state."""
        if name == "Account.Opened":
            return lambda e: {"type": "account", **_settings(e)}
        if name == "Account.SettingsChanged":
            return lambda e: {"type": "account", **_settings(e["changes"])}
        if name.startswith("User."):
            return _user
        if name.startswith("Contact."):
            return self._contact
        if name.startswith("Interaction."):
            return partial(_note, cls.kind)
        if name in ("InboundNumber.Configured", "InboundNumber.Reconfigured"):
            return _number
        if name == "InboundNumber.Released":
            return lambda e: {"type": "number_released", "number": e["number"]}
        if name == "InboundSms.Received":
            return self._received
        if name in ("InboundSms.Held", "InboundSms.Routed"):
            return self._decided
        if name.startswith("InboundSms."):
            return _delivery
        return lambda e: None

    def _contact(self, e: dict[str, Any]) -> dict[str, Any]:
        contact = self.contacts.setdefault(e["contact_id"], {})
        for key in ("name", "phones", "owner_user_id"):
            if key in e:
                contact[key] = e[key]
        return {"type": "contact", "contact_id": e["contact_id"], **contact}

    def _received(self, e: dict[str, Any]) -> None:
        self.received[e["message_id"]] = {
            "type": "inbound_sms", "message_id": e["message_id"], "from": e["sender"],
            "to": e["to"], "body": e["body"], "received_at": e["received_at"],
        }  # fmt: skip
        # Written with its decision, the next event.

    def _decided(self, e: dict[str, Any]) -> dict[str, Any]:
        message_id = e["decision"]["message_id"]
        first = self.received.pop(message_id, None)
        if first is not None:
            return {**first, "decision": e["decision"]}
        return {"type": "released", "message_id": message_id,
                "decision": e["decision"]}  # fmt: skip


def _user(e: dict[str, Any]) -> dict[str, Any]:
    return {"type": "user", "user_id": e["user_id"], "email": e["email"],
            "name": e["name"], "active": e["active"]}  # fmt: skip


def _number(e: dict[str, Any]) -> dict[str, Any]:
    return {"type": "number", "number": e["number"],
            "backup_email": e["backup_email"], "label": e["label"]}  # fmt: skip


def _delivery(e: dict[str, Any]) -> dict[str, Any]:
    skip = ("originator_id", "originator_version", "timestamp", "account_id")
    return {"type": "delivery", **{k: v for k, v in e.items() if k not in skip}}


def _values(state: bytes, class_version: int) -> dict[str, Any] | None:
    """A stored event's state with its times as a line writes them; None if
    it holds anything else than plain values and times, or needs upcasting."""
    values: dict[str, Any] = orjson.loads(state)
    if values.pop("class_version", 1) != class_version:
        return None
    times = 0
    for key in TIMES:
        value = values.get(key)
        if type(value) is dict and value.get("_type_") == "datetime_iso":
            values[key] = _moment(value["_data_"])
            times += 1
    # Any other value the transcoder wrote as an object is not plain.
    if state.count(b'"_type_":') != times:
        return None
    return values


def _moment(iso: str) -> str:
    """A stored time as `to_json` writes it."""
    if iso.endswith("+00:00"):
        return iso[:-6] + "Z"
    return to_json(datetime.fromisoformat(iso))[1:-1]


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "default_region", "routing_policy", "enhanced_inbound")
    return {k: values[k] for k in keys if k in values}


def _note(kind: str, e: dict[str, Any]) -> dict[str, Any]:
    line = {"type": kind, "interaction_id": e["interaction_id"],
            "contact_id": e["contact_id"]}  # fmt: skip
    if kind == "campaign_sms":
        line["reply"] = e["reply"]
    else:
        line["user_id"] = e["user_id"]
    line.update(
        {"to": e["to"], "from": e["from_number"], "occurred_at": e["occurred_at"]}
    )
    if kind != "call":
        line["body"] = e["body"]
    return line
