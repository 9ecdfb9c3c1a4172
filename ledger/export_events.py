"""What each event's export line says, made from the event's state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from eventsourcing.domain import DomainEvent

from smsledger.domain.accounts import Account
from smsledger.domain.contacts import Contact
from smsledger.domain.dispatches import Dispatch
from smsledger.domain.inbound import InboundSms
from smsledger.domain.interactions import Interaction
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.users import User

Line = dict[str, Any]
# What a line says of an event of one class, given its state.
Fields = Callable[["Lines", dict[str, Any]], dict[str, Any] | None]


class Lines:
    """The fields of each event's line, after its name, position and time; a
    contact's line says all of it, so it keeps each contact's state, and an
    inbound SMS waits for its first decision, which shares its line."""

    # Each event class that makes a line; the rest (keys, secrets) make none.
    FIELDS: ClassVar[dict[type[DomainEvent], Fields]]

    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.received: dict[str, dict[str, Any]] = {}

    def _account(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"type": "account", **_settings(e)}

    def _account_changed(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"type": "account", **_settings(e["changes"])}

    def _user(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"type": "user", "user_id": e["user_id"], "email": e["email"],
                "name": e["name"], "active": e["active"]}  # fmt: skip

    def _number(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"type": "number", "number": e["number"],
                "backup_email": e["backup_email"], "label": e["label"]}  # fmt: skip

    def _number_released(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"type": "number_released", "number": e["number"]}

    def _delivery(self, e: dict[str, Any]) -> dict[str, Any]:
        skip = ("originator_id", "originator_version", "timestamp", "account_id")
        return {"type": "delivery", **{k: v for k, v in e.items() if k not in skip}}

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


def note(kind: str, e: dict[str, Any]) -> dict[str, Any]:
    """The fields of a note's line (`export_plain` writes the same inline)."""
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


def _noted(kind: str) -> Fields:
    return lambda lines, e: note(kind, e)


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "default_region", "routing_policy", "enhanced_inbound")
    return {k: values[k] for k in keys if k in values}


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
