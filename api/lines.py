"""The lines of an import file: each one of the API's requests, checked alike.

A line is a JSON object (or a CSV row) with a `type` and the fields of the
request it stands for: `PUT /v1/users/{user_id}` becomes a `user` line with
`user_id` beside the body's fields. The models are the API's own, so a line
is valid exactly when the request would be. See docs/IMPORT-EXPORT.md.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from smsledger.api.schemas.decisions import InboundSms
from smsledger.api.schemas.directory import ContactPut, NumberPut, UserPut
from smsledger.api.schemas.fields import Id, Moment, Request, SmsText, Text
from smsledger.api.schemas.interactions import CallNote, CampaignSmsNote, SmsNote
from smsledger.domain.vocabulary import Policy

# Written by `export` to say where a line came from; an import reads past them.
PROVENANCE = ("event", "position", "recorded_at")


class UserLine(UserPut):
    user_id: Id


class ContactLine(ContactPut):
    contact_id: Id


class NumberLine(NumberPut):
    number: Text


class NumberReleasedLine(Request):
    number: Text


class AccountLine(Request):
    """The account's settings; its Twilio token never travels in a file."""

    name: Text | None = None
    default_region: Text | None = None
    routing_policy: Policy | None = None
    enhanced_inbound: bool | None = None


# A past interaction must say which it is and when it happened: the id makes
# a re-run find it recorded, and a missing time would default to now.
class SmsLine(SmsNote):
    interaction_id: Id
    occurred_at: Moment


class CampaignSmsLine(CampaignSmsNote):
    interaction_id: Id
    occurred_at: Moment


class CallLine(CallNote):
    interaction_id: Id
    occurred_at: Moment


class Delivery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: str
    attempts: int = 0
    error: str | None = None


class InboundSmsLine(InboundSms):
    """An inbound SMS, routed again where it falls in the history; `decision`
    is what the source ledger decided, checked against the new decision."""

    message_id: Id
    received_at: Moment
    decision: dict[str, Any] | None = None
    delivery: Delivery | None = None


class HandoffLine(Request):
    """A hand-off, recorded again at its time; its mail is not sent again."""

    message_id: Id
    handoff_id: Id
    to_user_id: Id
    by_user_id: Id | None = None
    note: Text | None = None
    at: Moment


class ReplyLine(Request):
    """A reply the source sent: recorded as sent, never sent again."""

    message_id: Id
    reply_id: Id
    user_id: Id
    body: SmsText
    provider_id: Text
    sent_at: Moment


class DerivedLine(BaseModel):
    """An event the import makes itself from an earlier line: a held message
    routed once its number was configured, a mail's tries. Read, not applied."""

    model_config = ConfigDict(extra="allow")

    message_id: Id


NOTE_TYPES: dict[str, type[BaseModel]] = {
    "sms": SmsLine,
    "campaign_sms": CampaignSmsLine,
    "call": CallLine,
}
MODELS: dict[str, type[BaseModel]] = {
    "account": AccountLine,
    "user": UserLine,
    "contact": ContactLine,
    "number": NumberLine,
    "number_released": NumberReleasedLine,
    **NOTE_TYPES,
    "inbound_sms": InboundSmsLine,
    "handoff": HandoffLine,
    "reply": ReplyLine,
    "released": DerivedLine,
    "delivery": DerivedLine,
}


@dataclass(frozen=True)
class Line:
    number: int
    type: str
    body: Any


@dataclass(frozen=True)
class Rejected:
    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


def parse(number: int, raw: Any, default_type: str | None = None) -> Line | Rejected:
    """One line, checked by the model of its type."""
    if not isinstance(raw, dict):
        return Rejected(number, "", "must be a JSON object")
    fields = {k: v for k, v in raw.items() if k not in PROVENANCE}
    kind = fields.pop("type", None) or default_type
    if kind not in MODELS:
        reason = f"must be one of {', '.join(MODELS)}" if kind else "is required"
        return Rejected(number, "type", reason)
    try:
        body = MODELS[kind].model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        return Rejected(number, field, first["msg"])
    return Line(number, kind, body)


def read_jsonl(
    stream: Iterable[str], default_type: str | None = None
) -> Iterator[Line | Rejected]:
    for number, text in enumerate(stream, 1):
        if not text.strip():
            continue
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError:
            # The API reads bodies with the standard library, which takes
            # more (NaN, big integers) and says what is wrong otherwise.
            try:
                raw = json.loads(text)
            except ValueError as error:
                yield Rejected(number, "", f"is not JSON: {error}")
                continue
        yield parse(number, raw, default_type)


# CSV cells are text: lists are joined with ';', and an empty cell is absent.
LIST_FIELDS = ("phones",)


def read_csv(
    stream: Iterable[str], default_type: str | None = None
) -> Iterator[Line | Rejected]:
    reader = csv.DictReader(stream)
    for row in reader:
        number = reader.line_num
        raw: dict[str, Any] = {}
        for key, value in row.items():
            if key is None:
                yield Rejected(number, "", "has more cells than the header")
                break
            if value is None or value == "":
                continue
            if key in LIST_FIELDS:
                raw[key] = [part.strip() for part in value.split(";") if part.strip()]
            else:
                raw[key] = value
        else:
            yield parse(number, raw, default_type)


def read(
    stream: TextIO, fmt: str, default_type: str | None = None
) -> Iterator[Line | Rejected]:
    """The lines of a `jsonl` or `csv` stream."""
    if fmt == "csv":
        return read_csv(stream, default_type)
    return read_jsonl(stream, default_type)


def read_bytes(chunks: Iterable[bytes]) -> Iterator[str]:
    """Text lines of a stream of byte chunks, as they arrive."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


def format_of(path: str) -> str:
    return "csv" if path.lower().endswith(".csv") else "jsonl"
