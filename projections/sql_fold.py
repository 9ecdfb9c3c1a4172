"""The notes folded inside PostgreSQL, for the bulk of a rebuild.

Notes are most of any ledger, and most of a rebuild's time went on decoding
them in Python to write three rows each. Here one statement reads them from
the stored JSON instead: each interaction note's thread row and index row,
and each contact's latest note per channel and person (`domain/routing.py`)
by one sort of every note, the hand-offs' and sent replies' included. The
Python fold then never reads an interaction note, and drops its writes to
the notes table (`TAKES`).

It mirrors the handlers of `fold_directory.note`, `fold_inbox.handed_off`
and `fold_inbox.reply_sent` for these rows; the rebuild tests compare its
tables with the live fold's. It reads the JSON the library's transcoder
writes, so a ledger whose events are compressed or enciphered is folded
in Python (`usable`). Times are taken as stored: the domain writes them
with an offset (UTC), and one without would be read here as UTC.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import get_topic

from smsledger.domain.dispatches import Dispatch
from smsledger.domain.inbound import InboundSms
from smsledger.domain.interactions import Interaction
from smsledger.domain.routing import note_slot
from smsledger.projections.tables import names

if TYPE_CHECKING:
    from smsledger.projections.setwise_plans import Plans

# The events whose every write is made here: the Python fold skips them.
NOTED = (Interaction.SmsSent, Interaction.CampaignSmsSent, Interaction.CallMade)
TOPICS = tuple(get_topic(cls) for cls in NOTED)
# The tables made here whole: the Python fold's writes to them are dropped.
TAKES = frozenset({"notes"})
# The tables it adds rows to beside the Python fold's: distinct rows, as
# each of its rows holds the position of an interaction note.
SHARES = ("thread", "ledger_index")
# Each table's key: the columns of its primary key.
KEYS = {
    "notes": ("account_id", "contact_id", "channel", "actor"),
    "thread": ("account_id", "contact_id", "position"),
    "ledger_index": ("account_id", "key", "position"),
}
# The sort of every note in memory: at 1M events it takes 220 MB (with 128MB
# it went to disk).
WORK_MEM = "256MB"
MAINTENANCE_WORK_MEM = "256MB"  # each index of a table filled in bulk, sorted once


def usable(mapper: Mapper[Any]) -> bool:
    """Whether the stored state is the plain JSON that SQL can read."""
    return (
        type(mapper.transcoder) is JSONTranscoder
        and mapper.cipher is None
        and mapper.compressor is None
    )


def _time(field: str) -> str:
    """A stored time as `view_base.time_key` writes it: UTC, microseconds."""
    data = f"({field} ->> '_data_')"
    return (
        f"to_char({data}::timestamptz AT TIME ZONE 'UTC',"
        ' \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')'
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _noted_kinds() -> str:
    """Each note class's topic with its kind and channel, as SQL rows."""
    rows = []
    for cls in NOTED:
        channel, _ = note_slot(cls.kind, None)
        rows.append(
            f"({_literal(get_topic(cls))}, {_literal(cls.kind)}, {_literal(channel)})"
        )
    return ", ".join(rows)


def fold_statement(events_table: str, version: int) -> str:
    """The one statement that folds the notes after one position up to
    another (its two parameters) into a version's tables; it returns how
    many interaction notes it read."""
    t = names(version)
    handoff, _ = note_slot("handoff", None)
    sms, _ = note_slot("sms", None)
    stored = "json_to_record(convert_from(e.state, 'UTF8')::json)"
    window = "e.notification_id > %(after)s AND e.notification_id <= %(upto)s"
    return f"""
WITH noted AS MATERIALIZED (
  SELECT e.notification_id AS position, k.kind, k.channel, s.account_id,
    s.contact_id, s.interaction_id, s.user_id, s.reply, s.body,
    {_time("s.occurred_at")} AS occurred_at
  FROM {events_table} e
  JOIN (VALUES {_noted_kinds()}) AS k (topic, kind, channel) ON e.topic = k.topic,
  {stored} AS s (account_id text, contact_id text, interaction_id text,
    user_id text, reply text, body text, occurred_at json)
  WHERE {window}
), threads AS (
  INSERT INTO {t["thread"]} (account_id, contact_id, position, kind, occurred_at,
    user_id, message_id, body, by_user_id, item_id)
  SELECT account_id, contact_id, position, kind, occurred_at, user_id, NULL, body,
    NULL, interaction_id FROM noted
), indexed AS (
  INSERT INTO {t["ledger_index"]} (account_id, key, position)
  SELECT account_id, 'contact:' || contact_id, position FROM noted
), handed AS (
  SELECT s.account_id, c.contact_id, {_literal(handoff)} AS channel,
    coalesce(s.to_user_id, '') AS actor, s.handoff_id AS interaction_id,
    'handoff' AS kind, s.to_user_id AS user_id, NULL AS reply,
    {_time("s.at")} AS occurred_at,
    e.notification_id AS position, s.message_id AS handed_off,
    s.by_user_id AS handed_by
  FROM {events_table} e,
  {stored} AS s (account_id text, message_id text, handoff_id text,
    to_user_id text, by_user_id text, at json, contact_ids json),
  json_array_elements_text(s.contact_ids) AS c (contact_id)
  WHERE e.topic = {_literal(get_topic(InboundSms.HandedOff))} AND {window}
), replied AS (
  SELECT s.account_id, c.contact_id, {_literal(sms)} AS channel,
    coalesce(s.user_id, '') AS actor, s.reply_id AS interaction_id, 'sms' AS kind,
    s.user_id, NULL AS reply, {_time("s.occurred_at")} AS occurred_at,
    e.notification_id AS position, NULL AS handed_off, NULL AS handed_by
  FROM {events_table} e,
  {stored} AS s (account_id text, reply_id text, user_id text, occurred_at json,
    contact_ids json),
  json_array_elements_text(s.contact_ids) AS c (contact_id)
  WHERE e.topic = {_literal(get_topic(Dispatch.Sent))} AND {window}
), kept AS (
INSERT INTO {t["notes"]} (account_id, contact_id, channel, actor, interaction_id,
  kind, user_id, reply, occurred_at, position, handed_off, handed_by)
SELECT DISTINCT ON (account_id, contact_id, channel, actor) * FROM (
  SELECT account_id, contact_id, channel, coalesce(user_id, '') AS actor,
    interaction_id, kind, user_id, reply, occurred_at, position,
    NULL AS handed_off, NULL AS handed_by
  FROM noted
  UNION ALL SELECT * FROM handed
  UNION ALL SELECT * FROM replied
) AS every_note
-- The kept note is the most recent, as the live fold's upsert keeps it.
ORDER BY account_id, contact_id, channel, actor, occurred_at DESC, position DESC
)
SELECT count(*) FROM noted
"""


def fold_notes(
    curs: Any, events_table: str, version: int, after: int, upto: int
) -> int:
    """Fold the notes after `after` up to `upto` into a version's tables, in
    the cursor's transaction; how many events it folded whole."""
    curs.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
    curs.execute("SET LOCAL TimeZone = 'UTC'")
    curs.execute(fold_statement(events_table, version), {"after": after, "upto": upto})
    row = curs.fetchone()
    return int(next(iter(row.values())) if isinstance(row, dict) else row[0])


class NoteFold:
    """The notes folded in SQL on a connection and thread of their own, while
    the Python fold does the other events; then the notes' indexes made.
    Leaving it waits for both and raises what the thread raised."""

    def __init__(
        self, datastore: Any, events_table: str, plans: Plans, version: int,
        after: int, upto: int,
    ) -> None:  # fmt: skip
        self.datastore = datastore
        self.events_table = events_table
        self.plans = plans
        self.version = version
        self.window = (after, upto)
        self.events = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="rebuild-notes")

    def __enter__(self) -> NoteFold:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join()
        if exc[0] is None and self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            with (
                self.datastore.get_connection() as conn,
                conn.transaction(),
                conn.cursor() as curs,
            ):
                # A lost fold is made again by the next rebuild.
                curs.execute("SET LOCAL synchronous_commit TO OFF")
                self.events = fold_notes(
                    curs, self.events_table, self.version, *self.window
                )
                notes = names(self.version)["notes"]
                curs.execute(
                    f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'"
                )
                if notes in self.plans.deferred:
                    self.plans.make_indexes(curs, notes)
        except BaseException as error:  # the rebuild raises it
            self.error = error


def defer_indexes(curs: Any, plans: Plans, version: int) -> None:
    """Drop the indexes of the tables this fold fills, to make once full.

    The Python fold writes these tables only by inserts that keep the row
    there (thread, index) or not at all (notes), and the rows it writes at
    one key are one event's same row: whichever copy is kept is right.
    """
    for table in (*TAKES, *SHARES):
        name = names(version)[table]
        plans.defer_all(curs, name, KEYS[table])
        plans.written.add(name)
