"""A note's export line, most of any export, made from its stored JSON.

A note is stored as flat JSON in its class's field order, and its line
holds the same values, some renamed and in another order. Where each value
is null or a string of printable ASCII without quotes or backslashes, its
stored text is already its text in the line: one regular expression, made
from the class's fields, finds the values and a template writes the line,
with no JSON read or written. Any other state (another account's, another
class version, a body with other characters) is read by orjson instead,
and one that is not as expected raises `NotPlain`. Either way the line is
the same text as the decoded event's (tests/imports/test_export.py).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import orjson
from eventsourcing.utils import resolve_topic

from smsledger.ledger.export_plain import NOTES, UTC, NotPlain, Writer
from smsledger.projections.persistence import to_json

# A stored value that `to_json` writes as it is: null, or a string of
# printable ASCII with no quote or backslash.
VALUE = rb'(null|"[\x20\x21\x23-\x5b\x5d-\x7e]*")'
TIME = rb'\{"_type_":"datetime_iso","_data_":"([0-9T:.\-]+)\+00:00"\}'
TIMES = ("timestamp", "occurred_at")
# A note's line after its head: (name in the line, stored field), in order.
_PERSON = {"sms": "user_id", "call": "user_id", "campaign_sms": "reply"}


def note_writer(topic: str, account_id: str) -> Writer:
    """The lines of one class of note: copied where the stored values allow
    it, else made from the parsed state."""
    match, template, order = copying(topic, account_id)
    parsed = _parsing(topic, account_id)

    def write(position: int, state: bytes, *rest: Any) -> bytes | dict[str, Any] | None:
        found = match(state)
        if found is None:
            return parsed(position, state, *rest)
        return template % (position, *found.group(*order))

    return write


def line_fields(kind: str) -> list[tuple[str, str]]:
    """The fields of a kind of note's line after its head, each with the
    stored field it holds: those of `export_events.note`, in its order."""
    fields = [("interaction_id", "interaction_id"), ("contact_id", "contact_id"),
              (_PERSON[kind], _PERSON[kind]), ("to", "to"),
              ("from", "from_number"), ("occurred_at", "occurred_at")]  # fmt: skip
    if kind != "call":
        fields.append(("body", "body"))
    return fields


def copying(
    topic: str, account_id: str
) -> tuple[Callable[[bytes], re.Match[bytes] | None], bytes, tuple[int, ...]]:
    """The match of a note's stored state with only copyable values, in
    this account; the template of its line; the groups the template takes
    after the position, in order."""
    name, kind = NOTES[topic]
    stored = [
        f.name
        for f in dataclasses.fields(resolve_topic(topic))
        if f.name not in ("originator_id", "originator_version")
    ]
    parts: list[bytes] = []
    groups: dict[str, int] = {}
    for field in stored:
        if field == "account_id":
            value = b'"' + re.escape(account_id.encode()) + b'"'
        elif field == "originator_topic":
            value = rb'"[^"\\]*"'
        else:
            value = TIME if field in TIMES else VALUE
            groups[field] = len(groups) + 1
        parts.append(b'"%s":%s' % (field.encode(), value))
    pattern = re.compile(rb"\{" + b",".join(parts) + rb"\}")
    template = b'{"event":"%s","position":%%d,"recorded_at":"%%sZ","type":"%s"' % (
        name.encode(),
        kind.encode(),
    )
    order = [groups["timestamp"]]
    for key, field in line_fields(kind):
        template += b',"%s":%s' % (key.encode(), b'"%sZ"' if field in TIMES else b"%s")
        order.append(groups[field])
    return pattern.fullmatch, template + b"}\n", tuple(order)


def _parsing(topic: str, account_id: str) -> Writer:
    """The lines of one class of note, made from the parsed state; raising
    `NotPlain` for what the class could store otherwise (a time with another
    offset, another class version)."""
    name, kind = NOTES[topic]
    fields = line_fields(kind)
    loads, dumps, newline = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE

    def write(position: int, state: bytes, *_: Any) -> bytes | None:
        v = loads(state)
        if v.get("account_id") != account_id:
            return None
        recorded, occurred = v["timestamp"], v["occurred_at"]
        if (
            "class_version" in v
            or type(recorded) is not dict
            or type(occurred) is not dict
        ):
            raise NotPlain(name)
        recorded, occurred = recorded["_data_"], occurred["_data_"]
        if recorded[-6:] != UTC or occurred[-6:] != UTC:
            raise NotPlain(name)
        v["occurred_at"] = occurred[:-6] + "Z"
        line = {"event": name, "position": position,
                "recorded_at": recorded[:-6] + "Z", "type": kind}  # fmt: skip
        for key, field in fields:
            line[key] = v[field]
        written: bytes = dumps(line, option=newline)
        if written.isascii() and b"\x7f" not in written:
            return written
        return (to_json(line) + "\n").encode()

    return write
