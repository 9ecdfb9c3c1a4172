"""An import's chunks leave the view as the ledger's own fold does."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from smsledger.ledger.application import Ledger
from tests.imports.history import history_lines
from tests.imports.test_import import open_account, run_import
from tests.integration.test_rebuild_tables import tables


@pytest.mark.parametrize("chunk", [7, 250], ids=lambda n: f"chunk{n}")
def test_an_import_writes_the_view_rows_a_rebuild_writes(ledger, account, chunk):
    # Notes of one contact, user and channel often share a chunk, some older
    # than one before them: the set-wise fold writes them in layers.
    lines = history_lines(400, contacts=12)

    report = run_import(ledger, account, lines, chunk=chunk)

    assert report.rejected == []
    imported = tables(ledger)
    ledger.rebuild_views()
    assert tables(ledger) == imported


def waiting_for_a_lock(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE NOT l.granted AND a.datname = current_database()"
        ).fetchone()
    return bool(row and row[0])


def test_a_chunk_folded_for_a_version_switched_before_its_lock_goes_to_the_new_one(
    postgres_url,
):
    ledger = Ledger(postgres_url)
    try:
        ctx = open_account(ledger, "Acme")
        lines = history_lines(300, contacts=12)
        run_import(ledger, ctx, lines[:120])
        view, outcome = ledger.view, {}

        def rest() -> None:
            outcome["report"] = run_import(ledger, ctx, lines[120:], chunk=1000)

        importing = threading.Thread(target=rest)
        with ledger.recorder.appends_locked() as curs:  # type: ignore[attr-defined]
            importing.start()
            deadline = time.monotonic() + 30
            while not waiting_for_a_lock(postgres_url):
                assert time.monotonic() < deadline, "the import never took the lock"
                time.sleep(0.01)  # polling the server, not waiting for an outcome
            # A switch, as a rebuild makes one: a new version, live at once.
            old = view.live_version(curs)
            view.create_version(curs, old + 1)
            for table in view.TABLES:
                curs.execute(
                    f"INSERT INTO sl{old + 1}_{table} SELECT * FROM sl{old}_{table}"
                )
            view.set_live_version(curs, old + 1)
        importing.join(timeout=60)

        assert outcome["report"].rejected == []
        switched = tables(ledger)
        ledger.rebuild_views()
        assert tables(ledger) == switched
    finally:
        ledger.close()
