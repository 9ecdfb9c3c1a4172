"""Notes made for an import: the events the API makes, stored the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from smsledger.api.lines import Line, Rejected, read_jsonl
from smsledger.ledger.import_notes import NoteEncoder, check_notes
from smsledger.ledger.importer import Importer

NOTES = [
    {"type": "sms", "interaction_id": "n1", "user_id": "u1", "contact_id": "c1",
     "to": "(415) 555-0101", "from": "+14155559000",
     "occurred_at": "2026-03-01T09:30:00-07:00",
     "body": 'Café "ok"\\ \u2028 \x01 \U0001f600 done'},
    {"type": "call", "interaction_id": "n2", "user_id": "u1", "contact_id": "c1",
     "to": "+14155550101", "occurred_at": "2026-03-01T16:30:00.250000Z"},
    {"type": "campaign_sms", "interaction_id": "n3", "contact_id": "c1",
     "to": "+14155550101", "from": "+14155559000", "reply": "Team@Example.org",
     "occurred_at": "2026-03-02T00:00:00+05:30", "body": ""},
]  # fmt: skip


@pytest.mark.parametrize("note", NOTES, ids=[n["type"] for n in NOTES])
def test_a_note_made_for_an_import_is_stored_byte_for_byte_as_the_api_stores_it(
    ledger, account, note
):
    ledger.put_user(account, "u1", "u1@example.org")
    ledger.put_contact(account, "c1", ["+14155550101"])
    (line,) = read_jsonl([json.dumps(note)])
    assert isinstance(line, Line)
    body = line.body
    prepared = ledger.view.run_reads(
        ledger.prepare_note(
            account, line.type, contact_id=body.contact_id, to=body.to,
            from_number=body.sent_from, user_id=getattr(body, "user_id", None),
            reply=getattr(body, "reply", None), interaction_id=body.interaction_id,
            occurred_at=body.occurred_at, body=getattr(body, "body", None),
        )
    )  # fmt: skip
    (by_api,) = prepared.aggregate.collect_events()

    (fast,) = check_notes(ledger.view, account, [line], (), (), now=by_api.timestamp)
    assert not isinstance(fast, Rejected)

    stored = NoteEncoder(ledger.mapper).encode(fast)
    assert stored == ledger.mapper.to_stored_event(by_api)
    assert stored.state == ledger.mapper.to_stored_event(by_api).state
    assert fast.details() == prepared.aggregate.details


def test_a_note_another_writer_records_while_its_chunk_appends_is_counted_once(
    ledger, account
):
    lines = [
        {"type": "user", "user_id": "u1", "email": "u1@example.org"},
        {"type": "contact", "contact_id": "c1", "phones": ["+14155550101"]},
        *({**NOTES[1], "interaction_id": f"n{i}"} for i in range(10)),
    ]
    appends: list[int] = []
    append_bulk = ledger.append_bulk

    def raced(stored, events):
        # The second chunk was checked; another writer records its last note
        # before the chunk is in.
        if len(appends) == 1:
            ledger.record_interaction(
                account, "call", contact_id="c1", to="+14155550101",
                from_number=None, user_id="u1", interaction_id="n9",
                occurred_at=datetime(2026, 3, 1, 16, 30, 0, 250000, tzinfo=UTC),
            )  # fmt: skip
        appends.append(len(events))
        append_bulk(stored, events)

    ledger.append_bulk = raced
    head = ledger.head()
    report = Importer(ledger, account, chunk=6).run(
        read_jsonl(json.dumps(line) for line in lines)
    )

    assert (report.accepted, report.duplicates, report.rejected) == (11, 1, [])
    assert appends == [6, 6, 5]  # the second refused, then again without the note
    recorded = ledger.recorder.select_notifications(start=head + 1, limit=100)
    # Each line's event once, n9 the other writer's (a refused append on
    # PostgreSQL leaves a gap in positions, so they are counted).
    assert len(recorded) == 12
