"""An import's notes: checked as `prepare_note` checks them, their events made
and encoded without the aggregate, a chunk's reads in one statement.

Notes are most of any history, and the aggregate's creation and the library's
generic encoding were most of a note's cost. The events made here are those
`prepare_note` makes, stored byte for byte the same
(tests/imports/test_notes.py says so).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import get_topic

from smsledger.api.lines import Line, Rejected
from smsledger.domain.errors import DomainError, InvalidInput
from smsledger.domain.interactions import Interaction, event_fields
from smsledger.domain.values import parse_email, parse_phone
from smsledger.ledger.base import AccountContext, _utc
from smsledger.projections.persistence import RoutingView


def check_notes(
    view: RoutingView,
    ctx: AccountContext,
    lines: list[Line],
    users: Collection[str],
    contacts: Collection[str],
    now: datetime | None = None,
) -> list[Interaction.Noted | Rejected]:
    """Each note's event, or why it is refused, as `prepare_note` says it.

    `users` and `contacts` are defined by lines not yet appended; notes may
    name them. The references are read once for each user and contact pair.
    """
    account_id = ctx.account_id
    pairs: dict[tuple[str, str], int] = {}
    for line in lines:
        key = (getattr(line.body, "user_id", None) or "", line.body.contact_id)
        pairs.setdefault(key, len(pairs))
    queries = [
        (view.SELECT_NOTE_REFERENCES, (account_id, u, account_id, c, account_id))
        for u, c in pairs
    ]
    found = view.read(queries)[1] if queries else []
    timestamp = now or datetime.now(UTC)  # when each event was made
    out: list[Interaction.Noted | Rejected] = []
    for line in lines:
        body = line.body
        user_id = getattr(body, "user_id", None)
        row = found[pairs[(user_id or "", body.contact_id)]][0]
        try:
            out.append(_noted(ctx, line, row, users, contacts, timestamp))
        except DomainError as error:
            out.append(rejected(line, error))
    return out


def _noted(
    ctx: AccountContext,
    line: Line,
    row: Any,
    users: Collection[str],
    contacts: Collection[str],
    timestamp: datetime,
) -> Interaction.Noted:
    body, kind = line.body, line.type
    fields: dict[str, Any] = {
        "interaction_id": body.interaction_id,
        "contact_id": body.contact_id,
        "body": getattr(body, "body", None),
    }
    user_id = getattr(body, "user_id", None)
    if kind == "campaign_sms":
        fields["reply"] = parse_email(body.reply or "", "reply")
    elif user_id is None:
        raise InvalidInput("user_id", "is required")
    else:
        fields["user_id"] = user_id
    if "user_id" in fields and not (row["has_user"] or user_id in users):
        raise InvalidInput("user_id", f"no user {user_id!r}")
    if not (row["has_contact"] or body.contact_id in contacts):
        raise InvalidInput("contact_id", f"no contact {body.contact_id!r}")
    region = row["default_region"]
    fields["to"] = parse_phone(body.to, region, "to")
    sent_from = body.sent_from
    fields["from_number"] = (
        parse_phone(sent_from, region, "from") if sent_from is not None else None
    )
    fields["occurred_at"] = _utc(body.occurred_at, "occurred_at")
    return Interaction.noted(kind, ctx.account_id, timestamp, **fields)


class NoteEncoder:
    """Stored events of notes, as the ledger's mapper writes them: the same
    JSON, written for the few types a note holds. A mapper that ciphers,
    compresses or transcodes otherwise is used as it is."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self.plain = (
            isinstance(mapper.transcoder, JSONTranscoder)
            and mapper.cipher is None
            and mapper.compressor is None
        )

    def encode(self, event: Interaction.Noted) -> StoredEvent:
        if not self.plain:
            return self.mapper.to_stored_event(event)
        parts = []
        values = event.__dict__
        for name in event_fields(type(event))[2:]:  # after the id and version
            value = values[name]
            if isinstance(value, str):
                text = encode_basestring(value)
            elif value is None:
                text = "null"
            elif type(value) is datetime:
                text = '{"_type_":"datetime_iso","_data_":"' + value.isoformat() + '"}'
            else:  # not a note's: the library says it
                return self.mapper.to_stored_event(event)
            parts.append(f'"{name}":{text}')
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=1,
            topic=_topic(type(event)),
            state=("{" + ",".join(parts) + "}").encode("utf8"),
        )


_TOPICS: dict[type, str] = {}


def _topic(cls: type) -> str:
    topic = _TOPICS.get(cls)
    if topic is None:
        topic = _TOPICS[cls] = get_topic(cls)
    return topic


def rejected(line: Line, error: DomainError) -> Rejected:
    if isinstance(error, InvalidInput):
        return Rejected(line.number, error.field, error.message)
    return Rejected(line.number, "", str(error))
