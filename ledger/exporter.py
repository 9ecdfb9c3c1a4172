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
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEvent

from smsledger.domain.accounts import Account
from smsledger.domain.contacts import Contact
from smsledger.domain.dispatches import Dispatch
from smsledger.domain.inbound import InboundSms
from smsledger.domain.interactions import Interaction
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.users import User
from smsledger.ledger.application import Ledger
from smsledger.projections.persistence import to_json
from smsledger.projections.rebuild import EventDecoder

Row = tuple[int, str, bytes, Any, int]
Line = dict[str, Any]
PAGE = 5000
# Events whose stored JSON holds only plain values and times: read as it is.
PLAIN: frozenset[type[DomainEvent]] = frozenset(
    {
        User.Registered,
        User.Updated,
        Contact.Registered,
        Contact.Renamed,
        Contact.PhonesChanged,
        Contact.OwnerChanged,
        Interaction.SmsSent,
        Interaction.CampaignSmsSent,
        Interaction.CallMade,
    }
)
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
    return ledger.backend.stored_rows(0, ledger.head(), mentioning=UUID(account_id))


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


# What a line says of an event of one class, given its state.
Fields = Callable[["Lines", dict[str, Any]], dict[str, Any] | None]


class Lines:
    """Stored events to lines; a contact's line says all of it, so it keeps
    each contact's state."""

    # Each event class that makes a line; the rest (keys, secrets) make none.
    FIELDS: ClassVar[dict[type[DomainEvent], Fields]]

    def __init__(
        self,
        account_id: str,
        decoder: EventDecoder,
        plain: Collection[type[DomainEvent]] = PLAIN,
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
        fields = self.FIELDS.get(cls)
        kind = self.topics[topic] = _Topic(
            name,
            partial(fields, self) if fields is not None else _no_line,
            cls in self.plain,
            getattr(cls, "class_version", 1),
        )
        return kind

    def _account(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"type": "account", **_settings(e)}

    def _account_changed(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"type": "account", **_settings(e["changes"])}

    def _user(self, e: dict[str, Any]) -> dict[str, Any]:
        return _user(e)

    def _number(self, e: dict[str, Any]) -> dict[str, Any]:
        return _number(e)

    def _number_released(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"type": "number_released", "number": e["number"]}

    def _delivery(self, e: dict[str, Any]) -> dict[str, Any]:
        return _delivery(e)

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


def _noted(kind: str) -> Fields:
    return lambda lines, e: _note(kind, e)


Lines.FIELDS = {
    Account.Opened: Lines._account,
    Account.SettingsChanged: Lines._account_changed,
    User.Registered: Lines._user,
    User.Updated: Lines._user,
    Contact.Registered: Lines._contact,
    Contact.Renamed: Lines._contact,
    Contact.PhonesChanged: Lines._contact,
    Contact.OwnerChanged: Lines._contact,
    Interaction.SmsSent: _noted(Interaction.SmsSent.kind),
    Interaction.CampaignSmsSent: _noted(Interaction.CampaignSmsSent.kind),
    Interaction.CallMade: _noted(Interaction.CallMade.kind),
    InboundNumber.Configured: Lines._number,
    InboundNumber.Reconfigured: Lines._number,
    InboundNumber.Released: Lines._number_released,
    InboundSms.Received: Lines._received,
    InboundSms.Held: Lines._decided,
    InboundSms.Routed: Lines._decided,
    InboundSms.DeliveryAttempted: Lines._delivery,
    InboundSms.Delivered: Lines._delivery,
    InboundSms.DeliveryFailed: Lines._delivery,
    # A hand-off travels without its mail, which an import never sends
    # again; a reply travels once sent, as its note: one not sent is the
    # source's to send, and one that failed made no note.
    InboundSms.HandedOff: lambda lines, e: _handoff(e),
    Dispatch.Sent: lambda lines, e: _reply(e),
}


def _handoff(e: dict[str, Any]) -> dict[str, Any]:
    keys = ("message_id", "handoff_id", "to_user_id", "by_user_id", "note", "at")
    return {"type": "handoff", **{k: e[k] for k in keys}}


def _reply(e: dict[str, Any]) -> dict[str, Any]:
    keys = ("message_id", "reply_id", "user_id", "body", "provider_id")
    return {"type": "reply", **{k: e[k] for k in keys}, "sent_at": e["occurred_at"]}


def _no_line(e: dict[str, Any]) -> None:
    """The line of an event that makes none."""


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
