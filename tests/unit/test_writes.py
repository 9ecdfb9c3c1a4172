"""The fold's writes, declared as data, fit the view's tables and each writer."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from smsledger.projections import view_writes
from smsledger.projections.fold import writes
from smsledger.projections.setwise_plans import Plans
from smsledger.projections.sqlite import SQLiteRoutingView
from smsledger.projections.tables import fill
from smsledger.projections.writers import statement
from smsledger.projections.writes import Insert, Op, SetField, Update, Upsert


def declared() -> list[Op]:
    ops: list[Op] = []
    for value in vars(view_writes).values():
        if isinstance(value, Op):
            ops.append(value)
        elif isinstance(value, dict):
            ops.extend(v for v in value.values() if isinstance(v, Op))
    return ops


def columns_of_tables() -> dict[str, set[str]]:
    """Each view table's columns, as the schema makes them (version 0)."""
    db = sqlite3.connect(":memory:")
    for create in SQLiteRoutingView.CREATE_TABLES:
        db.execute(fill(create, 0))
    return {
        table: {row[1] for row in db.execute(f"PRAGMA table_info(sl_{table})")}
        for table in SQLiteRoutingView.TABLES
    }


def test_every_write_names_a_table_and_columns_the_schema_has() -> None:
    tables = columns_of_tables()
    for op in declared():
        assert op.table in tables, op
        assert set(op.bound) <= tables[op.table], op


def test_the_writes_to_each_table_share_a_key_so_a_rebuild_can_layer_them() -> None:
    by_table: dict[str, list[Op]] = {}
    for op in declared():
        by_table.setdefault(op.table, []).append(op)
    for table, ops in by_table.items():
        assert set.intersection(*(set(op.keyed) for op in ops)), table


def test_an_operation_refuses_the_wrong_number_of_values() -> None:
    with pytest.raises(TypeError):
        view_writes.DELETE_NUMBER("+15550001", "extra")


def test_an_upsert_may_only_name_columns_it_writes() -> None:
    with pytest.raises(ValueError, match="not written"):
        Upsert("t", ("a", "b"), key=("a",), update=("c",))


def run_on_sqlite(ops_and_rows: list[tuple[Op, tuple[Any, ...]]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    for create in SQLiteRoutingView.CREATE_TABLES:
        db.execute(fill(create, 0))
    set_field = SQLiteRoutingView.SET_FIELD
    for op, values in ops_and_rows:
        db.execute(statement(op, 0, "?", set_field), values)
    return db


def test_a_newer_note_replaces_the_kept_one_and_an_older_one_does_not() -> None:
    key = ("acc", "c1", "sms", "u1")
    older = (*key, "i1", "sms_sent", "u1", None, "2026-01-01T00:00:00.000000Z", 5,
             None, None)  # fmt: skip
    newer = (*key, "i2", "sms_sent", "u1", None, "2026-01-02T00:00:00.000000Z", 3,
             None, None)  # fmt: skip
    for order in ([older, newer], [newer, older]):
        db = run_on_sqlite([(view_writes.UPSERT_NOTE, row) for row in order])
        rows = db.execute("SELECT interaction_id FROM sl_notes").fetchall()
        assert rows == [("i2",)]


def test_an_insert_that_ignores_a_conflict_keeps_the_first_row() -> None:
    op = Insert("alerts", ("account_id", "user_id", "position", "message_id"), True)
    db = run_on_sqlite([(op, ("a", "u", 1, "m1")), (op, ("a", "u", 1, "m2"))])
    assert db.execute("SELECT message_id FROM sl_alerts").fetchall() == [("m1",)]


def test_a_field_of_a_document_is_set_and_the_rest_kept() -> None:
    decision = ("a", "m", 1, "routed", "r", None, "+1", '{"x": 1}')
    db = run_on_sqlite(
        [
            (view_writes.UPSERT_DECISION, decision),
            (view_writes.SET_DELIVERY, ('{"email": "sent"}', "a", "m")),
        ]
    )
    (document,) = db.execute("SELECT document FROM sl_decisions").fetchone()
    assert document == '{"x":1,"delivery":{"email":"sent"}}'


def test_set_wise_statements_name_the_version_and_read_the_stage() -> None:
    plans = Plans("jsonb_set({column}::jsonb, '{{{field}}}', {value}::jsonb)::text")
    update = plans.statement(Update("outbox", ("attempts",), ("account_id",)), 7)
    assert update.reader("st") == (
        "UPDATE sl7_outbox SET attempts = rb_stage.rb_p1 FROM st AS rb_stage"
        " WHERE rb_layer = %s AND account_id = rb_stage.rb_p2"
    )
    field = plans.statement(SetField("decisions", "document", "d", ("m",)), 7)
    assert "jsonb_set(document::jsonb, '{d}', rb_stage.rb_p1::jsonb)" in (
        field.reader("st")
    )
    insert = plans.statement(view_writes.INSERT_INDEX, 7)
    assert insert.reader("st", layer="2", slotted=frozenset({2})) == (
        "INSERT INTO sl7_ledger_index (account_id, key, position)"
        " SELECT rb_stage.rb_p1, rb_stage.rb_p2, rb_slot2.position"
        " FROM st AS rb_stage WHERE rb_layer = 2"
        " ORDER BY rb_stage.rb_p1, rb_stage.rb_p2, rb_slot2.position, rb_seq"
        " ON CONFLICT DO NOTHING"
    )


def test_events_the_view_ignores_write_nothing() -> None:
    assert list(writes([(object(), 1)])) == []
