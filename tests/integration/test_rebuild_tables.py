"""A rebuild writes exactly the rows the live fold wrote, whatever its page size.

The history below has every event the view folds, and writes that only give
the right rows in ledger order: a contact's phones replaced, a note displaced
by a later one and not by a backfilled older one, a decision held and then
routed, a mail tried, then sent or given up on; a message handed on twice,
its mails tried, sent and given up on; replies tried, sent and refused.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from smsledger.ledger.application import Ledger
from smsledger.ledger.sealing import Sealer
from smsledger.projections.decoder import EventDecoder
from smsledger.projections.rebuild import Rebuilder
from smsledger.projections.tables import names
from tests.conftest import TEST_SECRET_KEY

NUMBER = "+14155550100"
SPARE = "+14155550199"
PHONES = ["+14155550111", "+14155550122", "+14155550133", "+14155550144"]
DAY = datetime(2026, 11, 1, tzinfo=UTC)


def build_history(ledger: Ledger) -> None:
    settings, _ = ledger.open_account("Acme")
    ledger.change_account(settings["account_id"], enhanced_inbound=True)
    ledger.change_account(
        settings["account_id"], twilio_auth_token="tok-1", twilio_account_sid="AC1"
    )
    ledger.change_account(settings["account_id"], twilio_auth_token="tok-2")
    ledger.create_api_key(settings["account_id"], "kept")
    revoked = ledger.create_api_key(settings["account_id"], "revoked")
    ledger.revoke_api_key(settings["account_id"], revoked["key_id"])
    ctx = ledger.context(settings["account_id"])
    ledger.open_account("Other")
    for user_id in ("ann", "bob", "cat"):
        ledger.put_user(ctx, user_id, f"{user_id}@example.org")
    ledger.put_user(ctx, "bob", "bob@example.org", "Bob", active=False)
    ledger.put_user(ctx, "bob", "bob@example.org", "Bob", active=True)
    ledger.route_inbound_sms(ctx, PHONES[0], NUMBER, "early", message_id="held")
    ledger.put_number(ctx, NUMBER, "desk@example.org")  # releases the held one
    ledger.put_number(ctx, SPARE, "spare@example.org", "spare")
    ledger.put_number(ctx, SPARE, "spare2@example.org")
    ledger.delete_number(ctx, SPARE)
    ledger.put_contact(ctx, "c1", PHONES[:2], "One", owner_user_id="ann")
    ledger.put_contact(ctx, "c2", PHONES[1:3], owner_user_id="bob")
    ledger.put_contact(ctx, "c1", PHONES[2:], "Uno", owner_user_id="cat")
    ledger.put_contact(ctx, "c2", [PHONES[0]], "Two", owner_user_id=None)
    notes: list[tuple[str, dict[str, str], str, int]] = [
        ("sms", {"user_id": "ann"}, "c1", 5),
        ("call", {"user_id": "bob"}, "c1", 6),
        ("sms", {"user_id": "ann"}, "c1", 2),  # backfilled: older than the kept one
        ("sms", {"user_id": "ann"}, "c1", 9),
        ("campaign_sms", {"reply": "team@example.org"}, "c2", 3),
        ("campaign_sms", {"reply": "team@example.org"}, "c2", 3),  # a tie: later wins
        ("call", {"user_id": "cat"}, "c2", 1),
    ]
    for i, (kind, who, contact_id, hours) in enumerate(notes):
        ledger.record_interaction(
            ctx,
            kind,
            interaction_id=f"n{i}",
            contact_id=contact_id,
            to=PHONES[0],
            from_number=NUMBER,
            occurred_at=DAY + timedelta(hours=hours),
            **who,
        )
    for i, phone in enumerate(PHONES):
        ledger.route_inbound_sms(ctx, phone, NUMBER, "hi", message_id=f"m{i}")
    retry = DAY + timedelta(days=1)
    ledger.record_delivery_failure(
        ctx.account_id, "m0", permanent=False, error="busy", retry_at=retry
    )
    ledger.record_delivered(ctx.account_id, "m0", "<m0@mail>")
    for _ in range(3):
        ledger.record_delivery_failure(
            ctx.account_id, "m1", permanent=True, error="refused", retry_at=retry
        )
    hand_off_and_reply(ledger, ctx, retry)


def hand_off_and_reply(ledger: Ledger, ctx: Any, retry: datetime) -> None:
    account_id = ctx.account_id
    ledger.hand_off(ctx, "m2", to_user_id="bob", note="yours", handoff_id="h1")
    ledger.hand_off(ctx, "m2", to_user_id="ann", by_user_id="bob", handoff_id="h2")
    ledger.record_handoff_mail_failure(
        account_id, "m2", "h1", permanent=False, error="busy", retry_at=retry
    )
    ledger.record_handoff_mailed(account_id, "m2", "h1", "<h1@mail>")
    for _ in range(3):
        ledger.record_handoff_mail_failure(
            account_id, "m2", "h2", permanent=True, error="refused", retry_at=retry
        )
    for reply_id in ("r1", "r2"):
        ledger.reply(ctx, "m2", user_id="ann", body="ok", reply_id=reply_id)
    ledger.record_reply_failure(
        account_id, "m2", "r1", permanent=False, error="away", retry_at=retry
    )
    ledger.record_reply_sent(account_id, "m2", "r1", "SM1")
    for _ in range(3):
        ledger.record_reply_failure(
            account_id, "m2", "r2", permanent=True, error="21610", retry_at=retry
        )


def tables(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the live version, in a stable order."""
    view = ledger.view
    with view.snapshot() as tx:
        dump = {}
        for table in view.TABLES:
            tx.curs.execute(f"SELECT * FROM {names(tx.version)[table]}")
            rows = [
                tuple(row.values()) if isinstance(row, dict) else tuple(row)
                for row in tx.fetchall()
            ]
            dump[table] = sorted(rows, key=repr)
    return dump


@pytest.mark.parametrize("page_size", [1, 4, 25, 5000], ids=lambda n: f"page{n}")
def test_rebuild_writes_the_rows_the_live_fold_wrote(ledger, page_size):
    build_history(ledger)
    live = tables(ledger)
    assert all(live.values()), [t for t, rows in live.items() if not rows]

    report = ledger.rebuild_views(page_size=page_size)

    assert report.events == ledger.head()
    assert tables(ledger) == live


def indexes(ledger: Ledger) -> list[str]:
    """The definitions of the live version's indexes, without its number."""
    view = ledger.view
    with view.snapshot() as tx:
        prefix = f"sl{tx.version}_"
        if "sqlite" in type(view).__name__.lower():
            tx.curs.execute(
                "SELECT name || ' ' || coalesce(sql, '') FROM sqlite_master"
                " WHERE type = 'index' AND tbl_name LIKE ?",
                (prefix + "%",),
            )
        else:
            tx.curs.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename LIKE %s",
                (prefix + "%",),
            )
        rows = [
            next(iter(r.values())) if isinstance(r, dict) else r[0]
            for r in tx.fetchall()
        ]
    return sorted(row.replace(prefix, "sl_") for row in rows)


def test_rebuilt_tables_have_every_index_of_the_live_ones(ledger):
    build_history(ledger)
    live = indexes(ledger)
    assert live

    ledger.rebuild_views(page_size=4)

    assert indexes(ledger) == live


def test_rebuild_decodes_each_event_as_the_mapper_does(ledger):
    build_history(ledger)
    decoder = EventDecoder(ledger.mapper)
    for n in ledger.recorder.select_notifications(None, 10_000):
        stored = StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
        expected = ledger.mapper.to_domain_event(stored)
        event = decoder.decode(n.topic, n.state, n.originator_id, n.originator_version)
        assert type(event) is type(expected)
        assert event.__dict__ == expected.__dict__


def test_the_notes_are_folded_in_sql_on_postgresql_only(database_url, ledger):
    rebuilder = Rebuilder(ledger.backend, ledger.mapper)

    assert rebuilder.notes_in_sql == database_url.startswith("postgres")


def test_a_compressed_ledger_is_rebuilt_by_the_python_fold(database_url, monkeypatch):
    """SQL cannot read compressed state (nor enciphered: tests/unit)."""
    monkeypatch.setenv("COMPRESSOR_TOPIC", "eventsourcing.compressor:ZlibCompressor")
    ledger = Ledger(database_url, Sealer(TEST_SECRET_KEY))
    try:
        build_history(ledger)
        live = tables(ledger)
        assert not Rebuilder(ledger.backend, ledger.mapper).notes_in_sql

        ledger.rebuild_views(page_size=4)

        assert tables(ledger) == live
    finally:
        ledger.close()
