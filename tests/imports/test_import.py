"""Import and export of a history, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from smsledger.api.lines import read_jsonl
from smsledger.ledger import audit
from smsledger.ledger.exporter import export_lines
from smsledger.ledger.importer import Importer
from tests.imports.history import history_lines
from tests.integration.generate import generate, phone
from tests.integration.scenario import apply_step

NUMBERS = ("+14155559000", "+14155559001")


def run_import(ledger, ctx, lines, **options):
    text = [json.dumps(line) for line in lines]
    return Importer(ledger, ctx, **options).run(read_jsonl(text))


def open_account(ledger, name):
    settings, _ = ledger.open_account(name)
    return ledger.context(settings["account_id"])


def route_every_contact(ledger, ctx, number, contacts):
    decided = []
    for c in range(contacts + 3):  # and a few unknown senders
        saved = ledger.route_inbound_sms(
            ctx, phone(c), number, "hi", message_id=f"SM{c}"
        )
        decision = audit.decided(saved.value)
        decided.append(json.loads(json.dumps(decision).replace(number, "N")))
    return decided


def test_imported_history_routes_as_the_same_history_recorded_by_the_api(ledger):
    lines = history_lines(600, contacts=40)
    by_api, imported = open_account(ledger, "API"), open_account(ledger, "Import")
    ledger.put_number(by_api, NUMBERS[0], "desk@example.org")
    for line in lines:
        step = {k: v for k, v in line.items() if k != "type"}
        apply_step(ledger, by_api, {line["type"]: step})
    ledger.put_number(imported, NUMBERS[1], "desk@example.org")

    report = run_import(ledger, imported, lines, chunk=250)

    # A user line that restates the user as it is records nothing, by either path.
    assert (report.accepted + report.duplicates, report.rejected) == (len(lines), [])
    assert route_every_contact(ledger, imported, NUMBERS[1], 40) == route_every_contact(
        ledger, by_api, NUMBERS[0], 40
    )


def test_a_file_with_bad_lines_reports_each_and_records_the_rest(ledger, account):
    lines = history_lines(30, contacts=5)
    bad: dict[int, dict[str, Any]] = {
        3: {"type": "user", "user_id": "x", "email": "not an email"},
        8: {"type": "contact", "contact_id": "k", "phones": ["12"]},
        12: {**lines[20], "interaction_id": "b1", "user_id": "nobody"},
        15: {**lines[20], "interaction_id": "b2", "occurred_at": "yesterday"},
        18: {**lines[20], "interaction_id": "b3", "colour": "red"},
    }
    for at in sorted(bad):
        lines.insert(at - 1, bad[at])
    lines.insert(
        20,
        {
            **lines[25],
            "to": "+14155551234"
            if lines[25]["to"] != "+14155551234"
            else "+14155551235",
        },
    )

    report = run_import(ledger, account, lines, chunk=7)

    rejected = [(r.line, r.field) for r in report.rejected]
    assert rejected == [
        (3, "email"), (8, "phones[0]"), (12, "user_id"), (15, "occurred_at"),
        (18, "colour"), (27, "interaction_id"),
    ]  # fmt: skip
    assert report.accepted + report.duplicates == len(lines) - 6
    recorded = list(export_lines(ledger, account.account_id))
    ids = [json.loads(r).get("interaction_id") for r in recorded]
    assert sorted(i for i in ids if i) == sorted(
        line["interaction_id"] for n, line in enumerate(lines, 1)
        if "interaction_id" in line and n not in (12, 15, 18, 27)
    )  # fmt: skip


def test_a_second_run_records_nothing_again(ledger, account):
    lines = history_lines(120, contacts=10)
    first = run_import(ledger, account, lines, chunk=40)
    head = ledger.head()

    again = run_import(ledger, account, lines, chunk=33)

    assert first.accepted + first.duplicates == len(lines)
    assert (again.accepted, again.duplicates, ledger.head()) == (0, len(lines), head)


def test_a_dry_run_checks_every_line_and_records_nothing(ledger, account):
    lines = history_lines(40, contacts=5)
    lines.append({**lines[-1], "interaction_id": "late", "contact_id": "nobody"})
    head = ledger.head()

    report = run_import(ledger, account, lines, dry_run=True, chunk=9)

    assert [(r.line, r.field) for r in report.rejected] == [(len(lines), "contact_id")]
    assert report.accepted == len(lines) - 1
    assert ledger.head() == head


def test_export_then_import_into_a_fresh_account_replays_every_decision_the_same(
    ledger, account
):
    message_ids = generate(ledger, account, interactions=800, inbound=40, contacts=50)
    # Numbers are held by one account at a time: the source gives its up first.
    (line,) = [json.loads(x) for x in export_lines(ledger, account.account_id)
               if '"InboundNumber.Configured"' in x]  # fmt: skip
    ledger.delete_number(account, line["number"])
    exported = [json.loads(x) for x in export_lines(ledger, account.account_id)]
    fresh = open_account(ledger, "Fresh")

    report = run_import(ledger, fresh, exported, chunk=100)

    assert report.rejected == []
    assert report.redecided == []
    assert report.accepted + report.derived == len(exported)
    verified = audit.verify(ledger, account_id=fresh.account_id)
    assert (verified.checked, verified.inconsistent) == (len(message_ids), [])
    for message_id in message_ids:
        before = ledger.get_decision(account, message_id)
        after = ledger.get_decision(fresh, message_id)
        assert audit.decided(after) == audit.decided(before)
    again = [json.loads(x) for x in export_lines(ledger, fresh.account_id)]
    # The same history, line for line, but for the accounts' own settings.
    assert [strip(x) for x in again if x["type"] != "account"] == [
        strip(x) for x in exported if x["type"] != "account"
    ]


def strip(line):
    """A line without what differs between two accounts' ledgers."""
    kept = {k: v for k, v in line.items() if k not in ("position", "recorded_at")}
    if kept["type"] == "number":  # a number is global: claimed again, not new
        del kept["event"]
    if "decision" in kept:
        kept["decision"] = audit.decided(kept["decision"])
    return kept


def test_moments_of_notes_survive_the_round_trip(ledger, account):
    lines = history_lines(5, contacts=2)
    run_import(ledger, account, lines)
    exported = [json.loads(x) for x in export_lines(ledger, account.account_id)]
    notes = [x for x in exported if x["type"] in ("sms", "call", "campaign_sms")]
    assert [datetime.fromisoformat(x["occurred_at"]) for x in notes] == [
        datetime.fromisoformat(x["occurred_at"]) for x in lines if "occurred_at" in x
    ]
