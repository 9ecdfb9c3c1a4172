"""Export: an account's whole history as import lines, one event a line.

Each line is the request that makes its event again (docs/IMPORT-EXPORT.md),
with the event's name, ledger position and time beside it, in ledger order.
An inbound SMS and its first decision, which routing appends together, share
one line: the import routes the message again where it falls in the history,
and checks the new decision against the one carried in the line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent

from domain.accounts import Account
from domain.contacts import Contact
from domain.inbound import InboundSms
from domain.interactions import Interaction
from domain.numbers import InboundNumber
from domain.users import User
from ledger.application import Ledger
from projections.persistence import to_json
from projections.rebuild import EventDecoder

Row = tuple[int, str, bytes, Any, int]
PAGE = 5000


def export_lines(ledger: Ledger, account_id: str) -> Iterator[str]:
    """The account's events as JSON Lines (each ending in a newline)."""
    account = UUID(account_id)
    needle = account_id.encode()
    decoder = EventDecoder(ledger.mapper)
    lines = _Lines()
    page: list[dict[str, Any]] = []
    for position, topic, state, originator_id, version in _rows(ledger):
        if originator_id != account and needle not in bytes(state):
            continue  # another account's: not even decoded
        event = decoder.decode(topic, bytes(state), originator_id, version)
        if originator_id != account and _owner(event) != account_id:
            continue
        line = lines.line(event, position)
        if line is not None:
            page.append(line)
        if len(page) >= PAGE:
            yield from _written(ledger, account_id, page)
            page = []
    yield from _written(ledger, account_id, page)


def _rows(ledger: Ledger) -> Iterable[Row]:
    """Every stored event up to the head, in ledger order."""
    return ledger.backend.stored_rows(0, ledger.head())


def _owner(event: Any) -> str | None:
    decision = getattr(event, "decision", None)
    if decision is not None:
        return str(decision["account_id"])
    return getattr(event, "account_id", None)


def _written(
    ledger: Ledger, account_id: str, page: list[dict[str, Any]]
) -> Iterator[str]:
    """A page of lines as text, each inbound SMS with its mail's outcome now."""
    inbound = [line for line in page if line["type"] == "inbound_sms"]
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
    for line in page:
        yield to_json(line) + "\n"


class _Lines:
    """Event to line; a contact's line says all of it, so it keeps each's state."""

    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.received: dict[str, dict[str, Any]] = {}

    def line(self, event: Any, position: int) -> dict[str, Any] | None:
        write = self.WRITERS.get(type(event))
        fields = write(self, event) if write is not None else None
        if fields is None:
            return None
        name = type(event).__qualname__
        return {"event": name, "position": position,
                "recorded_at": event.timestamp, **fields}  # fmt: skip

    def _account(self, e: Any) -> dict[str, Any]:
        return {"type": "account", **_settings(e.__dict__)}

    def _account_changed(self, e: Any) -> dict[str, Any]:
        return {"type": "account", **_settings(e.changes)}

    def _user(self, e: Any) -> dict[str, Any]:
        return {"type": "user", "user_id": e.user_id, "email": e.email,
                "name": e.name, "active": e.active}  # fmt: skip

    def _contact(self, e: Any) -> dict[str, Any]:
        contact = self.contacts.setdefault(e.contact_id, {})
        for key in ("name", "phones", "owner_user_id"):
            if hasattr(e, key):
                contact[key] = getattr(e, key)
        return {"type": "contact", "contact_id": e.contact_id, **contact}

    def _note(self, e: Any) -> dict[str, Any]:
        return _note(e)

    def _number(self, e: Any) -> dict[str, Any]:
        return {"type": "number", "number": e.number,
                "backup_email": e.backup_email, "label": e.label}  # fmt: skip

    def _number_released(self, e: Any) -> dict[str, Any]:
        return {"type": "number_released", "number": e.number}

    def _received(self, e: Any) -> None:
        self.received[e.message_id] = {
            "type": "inbound_sms", "message_id": e.message_id, "from": e.sender,
            "to": e.to, "body": e.body, "received_at": e.received_at,
        }  # fmt: skip
        # No line: it is written with its decision, the next event.

    def _decision(self, e: Any) -> dict[str, Any]:
        message_id = e.decision["message_id"]
        first = self.received.pop(message_id, None)
        if first is not None:
            return {**first, "decision": e.decision}
        return {"type": "released", "message_id": message_id,
                "decision": e.decision}  # fmt: skip

    def _delivery(self, e: Any) -> dict[str, Any]:
        skip = ("originator_id", "originator_version", "timestamp", "account_id")
        data = {k: v for k, v in e.__dict__.items() if k not in skip}
        return {"type": "delivery", **data}

    # Each event class that makes a line; the rest (keys, secrets) make none.
    WRITERS: dict[type[DomainEvent], Callable[[_Lines, Any], dict[str, Any] | None]]


_Lines.WRITERS = {
    Account.Opened: _Lines._account,
    Account.SettingsChanged: _Lines._account_changed,
    User.Registered: _Lines._user,
    User.Updated: _Lines._user,
    Contact.Registered: _Lines._contact,
    Contact.Renamed: _Lines._contact,
    Contact.PhonesChanged: _Lines._contact,
    Contact.OwnerChanged: _Lines._contact,
    Interaction.SmsSent: _Lines._note,
    Interaction.CampaignSmsSent: _Lines._note,
    Interaction.CallMade: _Lines._note,
    InboundNumber.Configured: _Lines._number,
    InboundNumber.Reconfigured: _Lines._number,
    InboundNumber.Released: _Lines._number_released,
    InboundSms.Received: _Lines._received,
    InboundSms.Held: _Lines._decision,
    InboundSms.Routed: _Lines._decision,
    InboundSms.DeliveryAttempted: _Lines._delivery,
    InboundSms.Delivered: _Lines._delivery,
    InboundSms.DeliveryFailed: _Lines._delivery,
}


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "default_region", "routing_policy", "enhanced_inbound")
    return {k: values[k] for k in keys if k in values}


def _note(e: Any) -> dict[str, Any]:
    line = {"type": e.kind, "interaction_id": e.interaction_id,
            "contact_id": e.contact_id}  # fmt: skip
    if e.kind == "campaign_sms":
        line["reply"] = e.reply
    else:
        line["user_id"] = e.user_id
    line.update({"to": e.to, "from": e.from_number, "occurred_at": e.occurred_at})
    if e.kind != "call":
        line["body"] = e.body
    return line
