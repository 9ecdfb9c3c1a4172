"""Export lines read straight from stored JSON, for the events most of a history is.

Users, contacts and notes are stored as flat JSON: plain values, and times
as `{"_type_": "datetime_iso", ...}`. Their lines are made from it as read
by orjson (several times quicker than the standard library both ways), not
from decoded events; a note's line, most of any export, by `export_notes`,
which mostly copies it. Either way a line is the same text as
the decoded event's (tests/imports/test_export.py); a state that is not as
expected (another class version, another kind of value) raises `NotPlain`,
and the caller decodes the event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic

from smsledger.domain.contacts import Contact
from smsledger.domain.interactions import Interaction
from smsledger.domain.users import User
from smsledger.projections.persistence import to_json

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
# Each note class's stored topic: its line's event name and type.
NOTES = {
    get_topic(cls): (cls.__qualname__, cls.kind)
    for cls in (Interaction.SmsSent, Interaction.CampaignSmsSent, Interaction.CallMade)
}
TIMES = ("timestamp", "occurred_at")  # the times those events hold
ISO = "datetime_iso"
UTC = "+00:00"
# A line from a stored row (position, state, originator id and version).
Writer = Callable[[int, bytes, Any, int], "bytes | dict[str, Any] | None"]


class NotPlain(Exception):
    """A stored state holds something else than its class's plain fields."""


def text(line: dict[str, Any]) -> bytes:
    """A line as `to_json` writes it, with its newline."""
    written = orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)
    # The standard library writes all but printable ASCII escaped.
    if written.isascii() and b"\x7f" not in written:
        return written
    return (to_json(line) + "\n").encode()


def values(state: bytes, class_version: int) -> dict[str, Any]:
    """A stored event's state with its times as a line writes them."""
    found: dict[str, Any] = orjson.loads(state)
    if found.pop("class_version", 1) != class_version:
        raise NotPlain("needs upcasting")
    times = 0
    for key in TIMES:
        value = found.get(key)
        if type(value) is dict and value.get("_type_") == ISO:
            found[key] = _moment(value["_data_"])
            times += 1
    # Any other value the transcoder wrote as an object is not plain.
    if state.count(b'"_type_":') != times:
        raise NotPlain("holds an object")
    return found


def _moment(iso: str) -> str:
    """A stored time as `to_json` writes it."""
    if iso.endswith(UTC):
        return iso[:-6] + "Z"
    return to_json(datetime.fromisoformat(iso))[1:-1]
