"""An append and its fold are one transaction: all of it lands, or none."""

import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest

from smsledger.ledger.application import AccountContext, Ledger
from smsledger.projections.postgres import LedgerPostgresRecorder
from tests.delivery.conftest import wait_until
from tests.integration.test_rebuild import PHONES, build_history
from tests.integration.test_routing import NUMBER

T = TypeVar("T")


def rename_live_table(ledger: Ledger, old: str, new: str) -> None:
    with ledger.view.snapshot() as tx:
        version = tx.version
    with ledger.view.datastore.transaction(commit=True) as curs:
        curs.execute(ledger.view.sql(f"ALTER TABLE {old} RENAME TO {new}", version), ())


def test_an_append_whose_fold_fails_leaves_nothing_behind(
    ledger: Ledger, account: AccountContext
):
    build_history(ledger, account)
    head = ledger.head()
    rename_live_table(ledger, "{outbox}", "{outbox}_away")  # the fold's last write

    with pytest.raises(Exception, match="outbox"):
        ledger.route_inbound_sms(account, PHONES[0], NUMBER, "hi", message_id="m1")

    assert ledger.head() == head
    assert ledger.list_decisions(account) == []
    rename_live_table(ledger, "{outbox}_away", "{outbox}")
    again = ledger.route_inbound_sms(account, PHONES[0], NUMBER, "hi", message_id="m1")
    assert again.created
    # Its two events, received and routed, and no others (positions may skip
    # the numbers the failed append took).
    appended = ledger.recorder.select_notifications(head + 1, 10)
    assert [n.topic.rsplit(".", 1)[1] for n in appended] == ["Received", "Routed"]
    assert [d["message_id"] for d in ledger.list_decisions(account)] == ["m1"]


def test_a_process_starting_beside_an_append_does_not_deadlock_it(
    postgres_url: str,
):
    """A starting process makes sure of the view's tables, and CREATE INDEX
    IF NOT EXISTS locks a table even when the index is there. An append
    locks the events, then writes the outbox, then the decisions (as a mail's
    `Delivered` folds): a process part-way through the view's tables must
    not hold the decisions while it waits for the outbox."""
    ledger = Ledger(postgres_url)
    with ledger.view.snapshot() as tx:
        version = tx.version
    assert isinstance(ledger.recorder, LedgerPostgresRecorder)
    events = ledger.recorder.qualified_events_table
    ledger.close()
    holding_outbox, go = threading.Event(), threading.Event()

    def append() -> None:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("BEGIN")
            conn.execute(f"LOCK TABLE {events} IN EXCLUSIVE MODE")
            conn.execute(ledger.view.sql("UPDATE {outbox} SET attempts = 0", version))
            holding_outbox.set()
            go.wait(30)
            conn.execute(ledger.view.sql("UPDATE {decisions} SET rule = rule", version))
            conn.execute("COMMIT")

    with (
        psycopg.connect(postgres_url, autocommit=True) as other,
        psycopg.connect(postgres_url, autocommit=True) as watch,
    ):
        # Another writer holds the decisions for a moment: the starting
        # process stops there, part-way through the view's tables.
        other.execute("BEGIN")
        other.execute(
            ledger.view.sql("LOCK TABLE {decisions} IN ROW EXCLUSIVE MODE", version)
        )
        starting, started = start_ledger(postgres_url)
        wait_until(lambda: waiting_on_locks(watch) >= 1)
        appending, appended = in_thread(append)
        # The append holds the outbox, or waits for the starting process.
        wait_until(lambda: holding_outbox.is_set() or waiting_on_locks(watch) >= 2)
        other.execute("COMMIT")
        go.set()
        starting.join(30)
        appending.join(30)
    (opened,) = started
    assert isinstance(opened, Ledger), opened
    opened.close()
    assert appended == [None]


def waiting_on_locks(watch: psycopg.Connection) -> int:
    """How many other sessions of this database wait for a lock (asked
    outside a transaction, which would see one snapshot of them)."""
    row = watch.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
    ).fetchone()
    return int(row[0]) if row else 0


def test_autovacuum_leaves_the_events_table_to_the_appends(postgres_url: str):
    """Autovacuum's lock conflicts with every append's: its passes on the
    events table stalled appends for a second each, so it has none."""
    for _ in range(2):  # and a second process start changes nothing
        Ledger(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT c.reloptions, t.reloptions FROM pg_class c"
            " JOIN pg_class t ON t.oid = c.reltoastrelid"
            " WHERE c.relname = 'ledger_events'"
        ).fetchone()
    assert row is not None
    table, toast = row
    assert "autovacuum_enabled=false" in table
    assert "autovacuum_enabled=true" not in table
    assert toast == ["autovacuum_enabled=false"]


def test_a_process_starting_during_a_vacuum_of_the_events_table_waits_for_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    """A start waits for a VACUUM of the events table (its lock conflicts
    with the index checks), however long: longer than the time the database
    lets a transaction sit idle (here 1 s), it must still start."""
    Ledger(postgres_url).close()
    monkeypatch.setenv("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "1")
    with (
        psycopg.connect(postgres_url, autocommit=True) as vacuum,
        psycopg.connect(postgres_url, autocommit=True) as watch,
    ):
        vacuum.execute("BEGIN")
        vacuum.execute("LOCK TABLE ledger_events IN SHARE UPDATE EXCLUSIVE MODE")
        thread, started = start_ledger(postgres_url)
        wait_until(lambda: waiting_on_locks(watch) >= 1)
        threading.Event().wait(2)  # the vacuum outlasts the idle timeout
        vacuum.execute("COMMIT")
        thread.join(30)
    (other,) = started
    assert isinstance(other, Ledger), other
    other.close()


def test_a_process_starting_beside_a_writer_on_sqlite_waits_for_it(tmp_path: Path):
    """SQLite: a start that began reading and then wrote failed at once if
    another connection had written meanwhile, which no busy wait covers; it
    now waits for the writer and starts."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    Ledger(url).close()
    writer = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE smsledger_views SET version = version")
    thread, started = start_ledger(url)
    # Behind the writer, or already failed for it.
    wait_until(lambda: executing_in(thread, "create_table") or not thread.is_alive())
    writer.execute("COMMIT")
    writer.close()
    thread.join(30)
    (other,) = started
    assert isinstance(other, Ledger), other
    other.close()


def in_thread(
    work: Callable[[], T],
) -> tuple[threading.Thread, list[T | BaseException]]:
    """`work` running in a thread, and where its result or error lands."""
    done: list[T | BaseException] = []

    def guarded() -> None:
        try:
            done.append(work())
        except BaseException as error:
            done.append(error)

    thread = threading.Thread(target=guarded)
    thread.start()
    return thread, done


def start_ledger(url: str) -> tuple[threading.Thread, list[Ledger | BaseException]]:
    """A process's start, in a thread: the ledger it opens, or why not."""
    return in_thread(lambda: Ledger(url))


def executing_in(thread: threading.Thread, function: str) -> bool:
    """Whether `thread` is inside `function`, running a statement."""
    frame = sys._current_frames().get(thread.ident or 0)
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return bool(names) and names[0] == "execute" and function in names
