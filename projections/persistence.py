"""The routing view: its tables, how events fold into them, and its queries.

The view is written in the same transaction as the events it folds, so every
write the ledger acknowledged is visible to the next read (read your writes),
in every process. It can also be rebuilt from the ledger alone.

SQL is written once with `%s` placeholders; the SQLite view translates them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, TypeVar

from domain.accounts import DEFAULT_KEY_NAME, FIRST_KEY_ID, SECRET_NAMES
from domain.routing import ContactFact, Facts, NoteFact, NumberFact, UserFact

T = TypeVar("T")
Query = tuple[str, tuple[Any, ...]]
Snapshot = tuple[dict[str, Any], list[list[Any]]]
# Reads that yield the queries they need and are sent what those found, so
# that one statement can serve many of them (see `RoutingView.run_reads`).
Reads = Generator[list[Query], Snapshot, T]

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def time_key(moment: datetime) -> str:
    """UTC text whose sort order is time order, on every backend.

    It is `TIME_FORMAT`, written by `isoformat`: strftime costs twice as much,
    which a rebuild pays once a note.
    """
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def from_time_key(text: str) -> datetime:
    # fromisoformat reads this format too, and is many times faster than
    # strptime: routing reads a time key for every note it weighs.
    return datetime.fromisoformat(text)


def to_json(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot encode {type(value).__name__}")


def as_stored(routed: dict[str, Any]) -> dict[str, Any]:
    """A routed decision as the view holds it: with its mail still to send."""
    return {**routed, "delivery": {"email": "pending", "attempts": 0}}


class Tx:
    """A cursor bound to one version of the view's tables."""

    def __init__(self, curs: Any, version: int) -> None:
        self.curs = curs
        self.version = version

    def execute(self, statement: str, params: Sequence[Any]) -> None:
        self.curs.execute(statement, params)

    def flush(self) -> None:
        """Nothing is held back: each statement ran when it was given."""

    def fetchone(self) -> Any:
        return self.curs.fetchone()

    def fetchall(self) -> Any:
        return self.curs.fetchall()


class BatchTx(Tx):
    """Holds the fold's writes and sends them in batches, one table at a time.

    The fold never reads, and its statements on one table never depend on
    another table, so keeping each table's statements in order is enough: a
    run of the same statement goes as one `executemany`.
    """

    def __init__(self, curs: Any, version: int) -> None:
        super().__init__(curs, version)
        self.pending: dict[str, list[tuple[str, Sequence[Any]]]] = {}

    def execute(self, statement: str, params: Sequence[Any]) -> None:
        self.pending.setdefault(_table(statement), []).append((statement, params))

    def flush(self) -> None:
        for writes in self.pending.values():
            for statement, run in groupby(writes, key=lambda w: w[0]):
                self.write(statement, [params for _, params in run])
        self.pending.clear()

    def write(self, statement: str, rows: list[Sequence[Any]]) -> None:
        self.curs.executemany(statement, rows)


_TABLE = re.compile(r"\bsl\d*_\w+")


@functools.lru_cache(maxsize=1024)
def _table(statement: str) -> str:
    """The view table a statement writes (the fold writes one per statement)."""
    match = _TABLE.search(statement)
    return match.group(0) if match else ""


class RoutingView:
    """Backend-neutral fold and queries; subclasses say how to talk SQL.

    The view's tables exist in versions side by side: every name that starts
    with `sl_` in the SQL below is given the version's prefix (`sl3_users`).
    `smsledger_views` says which version is live, so a rebuilt version can be
    switched in atomically while the service runs.
    """

    batch_tx: type[BatchTx] = BatchTx
    KEYS: Any  # the backend's `projections.browse.Keys`

    CREATE_CONTROL_TABLES: Sequence[str] = (
        "CREATE TABLE IF NOT EXISTS smsledger_views ("
        " name TEXT PRIMARY KEY, version INTEGER NOT NULL)",
        "INSERT INTO smsledger_views (name, version) VALUES ('routing', 1)"
        " ON CONFLICT DO NOTHING",
        "CREATE TABLE IF NOT EXISTS smsledger_view_builds ("
        " version INTEGER PRIMARY KEY, position BIGINT NOT NULL)",
        # When each API key was last used, to the minute: not in the ledger,
        # so no version of the view holds it and a rebuild keeps it.
        "CREATE TABLE IF NOT EXISTS smsledger_key_usage ("
        " key_hash TEXT PRIMARY KEY, last_used_at TEXT NOT NULL)",
    )
    RECORD_BUILD = (
        "INSERT INTO smsledger_view_builds (version, position) VALUES (%s, %s)"
        " ON CONFLICT (version) DO UPDATE SET position = excluded.position"
    )
    SELECT_BUILT_VERSION = "SELECT MAX(version) FROM smsledger_view_builds"
    SELECT_BUILDS = "SELECT version, position FROM smsledger_view_builds ORDER BY 1"
    SELECT_LIVE_VERSION = "SELECT version FROM smsledger_views WHERE name = 'routing'"
    SET_LIVE_VERSION = "UPDATE smsledger_views SET version = %s WHERE name = 'routing'"
    SELECT_TABLES: str  # the view's tables that its unqualified names reach
    SELECT_COLUMNS: str  # the column names of one table

    CREATE_TABLES: Sequence[str] = (
        "CREATE TABLE IF NOT EXISTS sl_accounts ("
        " account_id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL, default_region TEXT NOT NULL,"
        " routing_policy TEXT NOT NULL, enhanced_inbound BOOLEAN NOT NULL)",
        # The accounts' live keys, by the hash that authenticates a request.
        "CREATE TABLE IF NOT EXISTS sl_api_keys ("
        " account_id TEXT NOT NULL, key_id TEXT NOT NULL,"
        " key_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, prefix TEXT,"
        " created_at TEXT NOT NULL, PRIMARY KEY (account_id, key_id))",
        # Provider secrets, sealed as the ledger holds them.
        "CREATE TABLE IF NOT EXISTS sl_account_secrets ("
        " account_id TEXT NOT NULL, name TEXT NOT NULL, sealed TEXT NOT NULL,"
        " PRIMARY KEY (account_id, name))",
        "CREATE TABLE IF NOT EXISTS sl_users ("
        " account_id TEXT NOT NULL, user_id TEXT NOT NULL, email TEXT NOT NULL,"
        " name TEXT, active BOOLEAN NOT NULL, PRIMARY KEY (account_id, user_id))",
        "CREATE TABLE IF NOT EXISTS sl_contacts ("
        " account_id TEXT NOT NULL, contact_id TEXT NOT NULL, name TEXT,"
        " owner_user_id TEXT, registered_position BIGINT NOT NULL,"
        " PRIMARY KEY (account_id, contact_id))",
        "CREATE TABLE IF NOT EXISTS sl_contact_phones ("
        " account_id TEXT NOT NULL, phone TEXT NOT NULL, contact_id TEXT NOT NULL,"
        " PRIMARY KEY (account_id, phone, contact_id))",
        # A contact's phones change by contact: without this, each change
        # scans every phone of the account.
        "CREATE INDEX IF NOT EXISTS sl_contact_phones_by_contact"
        " ON sl_contact_phones (account_id, contact_id)",
        "CREATE TABLE IF NOT EXISTS sl_notes ("
        " account_id TEXT NOT NULL, contact_id TEXT NOT NULL, channel TEXT NOT NULL,"
        " actor TEXT NOT NULL, interaction_id TEXT NOT NULL, kind TEXT NOT NULL,"
        " user_id TEXT, reply TEXT, occurred_at TEXT NOT NULL,"
        " position BIGINT NOT NULL,"
        " PRIMARY KEY (account_id, contact_id, channel, actor))",
        "CREATE TABLE IF NOT EXISTS sl_numbers ("
        " number TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
        " backup_email TEXT NOT NULL, label TEXT)",
        "CREATE TABLE IF NOT EXISTS sl_decisions ("
        " account_id TEXT NOT NULL, message_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, status TEXT NOT NULL, rule TEXT NOT NULL,"
        " recipient_email TEXT, to_number TEXT NOT NULL, document TEXT NOT NULL,"
        " PRIMARY KEY (account_id, message_id))",
        # With the message id, which orders decisions made at one position:
        # a page is then read in index order, with no sort.
        "CREATE INDEX IF NOT EXISTS sl_decisions_by_position"
        " ON sl_decisions (account_id, position, message_id)",
        "CREATE INDEX IF NOT EXISTS sl_decisions_held"
        " ON sl_decisions (account_id, to_number) WHERE status = 'held'",
        "CREATE TABLE IF NOT EXISTS sl_ledger_index ("
        " account_id TEXT NOT NULL, key TEXT NOT NULL, position BIGINT NOT NULL,"
        " PRIMARY KEY (account_id, key, position))",
        # The outbox: one row per routed decision, its mail's state, and the
        # lease a delivery worker holds on it while sending.
        "CREATE TABLE IF NOT EXISTS sl_outbox ("
        " account_id TEXT NOT NULL, message_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, routed_at TEXT NOT NULL, status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, next_attempt_at TEXT NOT NULL,"
        " lease_owner TEXT, lease_until TEXT,"
        " PRIMARY KEY (account_id, message_id))",
        "CREATE INDEX IF NOT EXISTS sl_outbox_pending"
        " ON sl_outbox (position) WHERE status = 'pending'",
        # Failed mails stay: /metrics counts them without reading every mail.
        "CREATE INDEX IF NOT EXISTS sl_outbox_failed"
        " ON sl_outbox (position) WHERE status = 'failed'",
        # Alerts: decisions routed to a user of an account with enhanced inbound.
        "CREATE TABLE IF NOT EXISTS sl_alerts ("
        " account_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, message_id TEXT NOT NULL,"
        " PRIMARY KEY (account_id, user_id, position))",
    )

    TABLES = (
        "accounts",
        "api_keys",
        "account_secrets",
        "users",
        "contacts",
        "contact_phones",
        "notes",
        "numbers",
        "decisions",
        "ledger_index",
        "outbox",
        "alerts",
    )

    INSERT_ACCOUNT = (
        "INSERT INTO sl_accounts (account_id, name, default_region,"
        " routing_policy, enhanced_inbound) VALUES (%s, %s, %s, %s, %s)"
    )
    INSERT_KEY = (
        "INSERT INTO sl_api_keys (account_id, key_id, key_hash, name, prefix,"
        " created_at) VALUES (%s, %s, %s, %s, %s, %s)"
    )
    DELETE_KEY = "DELETE FROM sl_api_keys WHERE account_id = %s AND key_id = %s"
    UPSERT_SECRET = (
        "INSERT INTO sl_account_secrets (account_id, name, sealed) VALUES (%s, %s, %s)"
        " ON CONFLICT (account_id, name) DO UPDATE SET sealed = excluded.sealed"
    )
    UPDATE_ACCOUNT = "UPDATE sl_accounts SET {column} = %s WHERE account_id = %s"
    ACCOUNT_COLUMNS = (
        "name",
        "default_region",
        "routing_policy",
        "enhanced_inbound",
    )
    UPSERT_USER = (
        "INSERT INTO sl_users (account_id, user_id, email, name, active)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (account_id, user_id)"
        " DO UPDATE SET email = excluded.email, name = excluded.name,"
        " active = excluded.active"
    )
    INSERT_CONTACT = (
        "INSERT INTO sl_contacts (account_id, contact_id, name, owner_user_id,"
        " registered_position) VALUES (%s, %s, %s, %s, %s)"
    )
    RENAME_CONTACT = (
        "UPDATE sl_contacts SET name = %s WHERE account_id = %s AND contact_id = %s"
    )
    SET_OWNER = (
        "UPDATE sl_contacts SET owner_user_id = %s"
        " WHERE account_id = %s AND contact_id = %s"
    )
    DELETE_PHONES = (
        "DELETE FROM sl_contact_phones WHERE account_id = %s AND contact_id = %s"
    )
    INSERT_PHONE = (
        "INSERT INTO sl_contact_phones (account_id, phone, contact_id)"
        " VALUES (%s, %s, %s)"
    )
    # A note replaces the kept one only when it is more recent: a backfilled
    # older note never displaces a newer one.
    UPSERT_NOTE = (
        "INSERT INTO sl_notes (account_id, contact_id, channel, actor,"
        " interaction_id, kind, user_id, reply, occurred_at, position)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (account_id, contact_id, channel, actor) DO UPDATE SET"
        " interaction_id = excluded.interaction_id, kind = excluded.kind,"
        " user_id = excluded.user_id, reply = excluded.reply,"
        " occurred_at = excluded.occurred_at, position = excluded.position"
        " WHERE (excluded.occurred_at, excluded.position)"
        " > (sl_notes.occurred_at, sl_notes.position)"
    )
    UPSERT_NUMBER = (
        "INSERT INTO sl_numbers (number, account_id, backup_email, label)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (number) DO UPDATE SET"
        " account_id = excluded.account_id, backup_email = excluded.backup_email,"
        " label = excluded.label"
    )
    DELETE_NUMBER = "DELETE FROM sl_numbers WHERE number = %s"
    UPSERT_DECISION = (
        "INSERT INTO sl_decisions (account_id, message_id, position, status, rule,"
        " recipient_email, to_number, document)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (account_id, message_id) DO UPDATE SET"
        " position = excluded.position, status = excluded.status,"
        " rule = excluded.rule, recipient_email = excluded.recipient_email,"
        " document = excluded.document"
    )
    INSERT_INDEX = (
        "INSERT INTO sl_ledger_index (account_id, key, position) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING"
    )
    INSERT_OUTBOX = (
        "INSERT INTO sl_outbox (account_id, message_id, position, routed_at,"
        " status, attempts, next_attempt_at) VALUES (%s, %s, %s, %s, 'pending', 0, %s)"
        " ON CONFLICT DO NOTHING"
    )
    RETRY_OUTBOX = (
        "UPDATE sl_outbox SET attempts = %s, next_attempt_at = %s,"
        " lease_owner = NULL, lease_until = NULL"
        " WHERE account_id = %s AND message_id = %s"
    )
    CLOSE_OUTBOX = (
        "UPDATE sl_outbox SET status = %s, attempts = %s,"
        " lease_owner = NULL, lease_until = NULL"
        " WHERE account_id = %s AND message_id = %s"
    )
    SET_DELIVERY: str  # the decision document's `delivery`, without reading it
    INSERT_ALERT = (
        "INSERT INTO sl_alerts (account_id, user_id, position, message_id)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
    )

    SELECT_HEAD: str  # the ledger's last position, in the reader's snapshot
    SELECT_ACCOUNT_BY_KEY = (
        "SELECT a.*, k.key_id, k.key_hash FROM sl_api_keys k"
        " JOIN sl_accounts a ON a.account_id = k.account_id WHERE k.key_hash = %s"
    )
    SELECT_LIVE_KEY = (
        "SELECT key_id FROM sl_api_keys WHERE key_hash = %s AND account_id = %s"
    )
    SELECT_KEYS = (
        "SELECT k.key_id, k.name, k.prefix, k.created_at, u.last_used_at"
        " FROM sl_api_keys k LEFT JOIN smsledger_key_usage u"
        " ON u.key_hash = k.key_hash WHERE k.account_id = %s"
        " ORDER BY k.created_at, k.key_id"
    )
    SELECT_SECRET = (
        "SELECT sealed FROM sl_account_secrets WHERE account_id = %s AND name = %s"
    )
    SELECT_SECRETS = "SELECT account_id, name, sealed FROM sl_account_secrets"
    # Later than the kept time only: two processes may record one use.
    RECORD_KEY_USE = (
        "INSERT INTO smsledger_key_usage (key_hash, last_used_at) VALUES (%s, %s)"
        " ON CONFLICT (key_hash) DO UPDATE SET last_used_at = excluded.last_used_at"
        " WHERE excluded.last_used_at > smsledger_key_usage.last_used_at"
    )
    SELECT_ACCOUNT = "SELECT * FROM sl_accounts WHERE account_id = %s"
    SELECT_USER = "SELECT * FROM sl_users WHERE account_id = %s AND user_id = %s"
    SELECT_CONTACT = (
        "SELECT * FROM sl_contacts WHERE account_id = %s AND contact_id = %s"
    )
    SELECT_NUMBER = "SELECT * FROM sl_numbers WHERE number = %s"
    SELECT_MATCHES = (
        "SELECT c.contact_id, c.name, c.owner_user_id, c.registered_position,"
        " u.email, u.name AS user_name, u.active"
        " FROM sl_contact_phones p"
        " JOIN sl_contacts c"
        "  ON c.account_id = p.account_id AND c.contact_id = p.contact_id"
        " LEFT JOIN sl_users u"
        "  ON u.account_id = c.account_id AND u.user_id = c.owner_user_id"
        " WHERE p.account_id = %s AND p.phone = %s"
    )
    SELECT_NOTES: str  # notes of a list of contacts, with their users
    SELECT_DECISION = (
        "SELECT document FROM sl_decisions WHERE account_id = %s AND message_id = %s"
    )
    SELECT_HELD = (
        "SELECT message_id FROM sl_decisions"
        " WHERE account_id = %s AND to_number = %s AND status = 'held'"
    )
    SELECT_INDEX = (
        "SELECT position FROM sl_ledger_index"
        " WHERE account_id = %s AND key = %s ORDER BY position"
    )

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        self._statements: dict[tuple[str, int], str] = {}

    # Versions.

    def create_tables(self, curs: Any) -> None:
        for statement in self.CREATE_CONTROL_TABLES:
            curs.execute(self.sql(statement, 0))
        self.create_version(curs, self.live_version(curs))

    def create_version(self, curs: Any, version: int) -> None:
        for statement in self.CREATE_TABLES:
            curs.execute(self.sql(statement, version))

    def drop_version(self, curs: Any, version: int) -> None:
        for table in self.TABLES:
            curs.execute(self.sql(f"DROP TABLE IF EXISTS sl_{table}", version))

    def analyze_version(self, curs: Any, version: int) -> None:
        """Gather the planner's statistics on a version's tables. Filled in
        bulk by a rebuild, they would have none until the database's own
        maintenance came by, and routing's plans go by them."""
        for table in self.TABLES:
            curs.execute(self.sql(f"ANALYZE sl_{table}", version))

    def live_version(self, curs: Any) -> int:
        curs.execute(self.SELECT_LIVE_VERSION)
        return int(_first(curs.fetchone()))

    def set_live_version(self, curs: Any, version: int) -> None:
        curs.execute(self.sql(self.SET_LIVE_VERSION, 0), (version,))

    def built_version(self, curs: Any) -> int:
        curs.execute(self.SELECT_BUILT_VERSION)
        return int(_first(curs.fetchone()) or 0)

    def builds(self, curs: Any) -> list[tuple[int, int]]:
        curs.execute(self.SELECT_BUILDS)
        return [(int(r["version"]), int(r["position"])) for r in curs.fetchall()]

    def record_build(self, curs: Any, version: int, position: int) -> None:
        """How far a version being built has folded, written with what it folded."""
        curs.execute(self.sql(self.RECORD_BUILD, 0), (version, position))

    def tables_with_column(self, curs: Any, pattern: str, column: str) -> list[str]:
        """The view's tables, of any version, named by the regular expression
        `pattern` and having `column`."""
        curs.execute(self.SELECT_TABLES)
        names = sorted(row["name"] for row in curs.fetchall())
        found = []
        for name in names:
            if re.fullmatch(pattern, name):
                curs.execute(self.SELECT_COLUMNS, (name,))
                if column in {row["name"] for row in curs.fetchall()}:
                    found.append(name)
        return found

    def readiness(self) -> list[str]:
        """What keeps the live version from serving routing; empty if it can.

        A version being built does not count: routing reads the live one.
        """
        with self.transaction() as curs:
            curs.execute(self.SELECT_TABLES)
            tables = {row["name"] for row in curs.fetchall()}
            if "smsledger_views" not in tables:
                return ["the table smsledger_views is missing"]
            curs.execute(self.SELECT_LIVE_VERSION)
            row = curs.fetchone()
        if row is None:
            return ["smsledger_views has no row for the routing view"]
        version = int(_first(row))
        names = (self.sql(f"sl_{table}", version) for table in self.TABLES)
        return [
            f"the live routing view (version {version}) has no table {name}"
            for name in names
            if name not in tables
        ]

    # Fold.

    def apply(self, curs: Any, events: Iterable[tuple[Any, int]]) -> None:
        """Fold events into the live version, in the transaction that appends them."""
        self.apply_to(curs, self.live_version(curs), events)

    def apply_to(
        self,
        curs: Any,
        version: int,
        events: Iterable[tuple[Any, int]],
        batched: bool = False,
    ) -> None:
        tx = self.batch_tx(curs, version) if batched else Tx(curs, version)
        for event, position in events:
            handler = self.HANDLERS.get(type(event).__qualname__)
            if handler is not None:
                getattr(self, handler)(tx, event, position)
        tx.flush()

    # Event class names are the ledger's stable vocabulary; the classes
    # themselves are made by the aggregates' metaclass.
    HANDLERS = {
        "Account.Opened": "_account_opened",
        "Account.SettingsChanged": "_account_changed",
        "Account.SecretsChanged": "_secrets_changed",
        "Account.SecretsResealed": "_secrets_changed",
        "Account.ApiKeyIssued": "_key_issued",
        "Account.ApiKeyRevoked": "_key_revoked",
        "User.Registered": "_user",
        "User.Updated": "_user",
        "Contact.Registered": "_contact_registered",
        "Contact.Renamed": "_contact_renamed",
        "Contact.OwnerChanged": "_owner_changed",
        "Contact.PhonesChanged": "_set_phones",
        "Interaction.SmsSent": "_note",
        "Interaction.CampaignSmsSent": "_note",
        "Interaction.CallMade": "_note",
        "InboundNumber.Configured": "_number",
        "InboundNumber.Reconfigured": "_number",
        "InboundNumber.Released": "_number_released",
        "InboundSms.Held": "_decision",
        "InboundSms.Routed": "_routed",
        "InboundSms.DeliveryAttempted": "_delivery_attempted",
        "InboundSms.Delivered": "_delivered",
        "InboundSms.DeliveryFailed": "_delivery_failed",
    }

    def _account_opened(self, tx: Tx, e: Any, position: int) -> None:
        account_id = str(e.originator_id)
        self._execute(
            tx,
            self.INSERT_ACCOUNT,
            account_id,
            e.name,
            e.default_region,
            e.routing_policy,
            e.enhanced_inbound,
        )
        key_hash = getattr(e, "api_key_hash", None)
        if key_hash:  # opened with its one key, before keys had names
            created_at = time_key(e.timestamp)
            x = self._execute
            x(tx, self.INSERT_KEY, account_id, FIRST_KEY_ID, key_hash,
              DEFAULT_KEY_NAME, None, created_at)  # fmt: skip

    def _account_changed(self, tx: Tx, e: Any, position: int) -> None:
        account_id = str(e.originator_id)
        for column, value in e.changes.items():
            if column in SECRET_NAMES:
                # Sealed by the migration; one still in the clear never
                # reaches the view.
                if isinstance(value, dict):
                    self._execute(
                        tx, self.UPSERT_SECRET, account_id, column, value["sealed"]
                    )
                continue
            assert column in self.ACCOUNT_COLUMNS, column
            statement = self.UPDATE_ACCOUNT.format(column=column)
            self._execute(tx, statement, value, account_id)

    def _secrets_changed(self, tx: Tx, e: Any, position: int) -> None:
        account_id = str(e.originator_id)
        for name, sealed in e.sealed.items():
            self._execute(tx, self.UPSERT_SECRET, account_id, name, sealed)

    def _key_issued(self, tx: Tx, e: Any, position: int) -> None:
        self._execute(
            tx,
            self.INSERT_KEY,
            str(e.originator_id),
            e.key_id,
            e.key_hash,
            e.name,
            e.prefix,
            time_key(e.timestamp),
        )

    def _key_revoked(self, tx: Tx, e: Any, position: int) -> None:
        self._execute(tx, self.DELETE_KEY, str(e.originator_id), e.key_id)

    def _user(self, tx: Tx, e: Any, position: int) -> None:
        x = self._execute
        x(tx, self.UPSERT_USER, e.account_id, e.user_id, e.email, e.name, e.active)
        x(tx, self.INSERT_INDEX, e.account_id, f"user:{e.user_id}", position)

    def _contact_registered(self, tx: Tx, e: Any, position: int) -> None:
        self._execute(
            tx,
            self.INSERT_CONTACT,
            e.account_id,
            e.contact_id,
            e.name,
            e.owner_user_id,
            position,
        )
        self._set_phones(tx, e, position)

    def _contact_renamed(self, tx: Tx, e: Any, position: int) -> None:
        self._execute(tx, self.RENAME_CONTACT, e.name, e.account_id, e.contact_id)
        self._index_contact(tx, e, position)

    def _owner_changed(self, tx: Tx, e: Any, position: int) -> None:
        owner = e.owner_user_id
        self._execute(tx, self.SET_OWNER, owner, e.account_id, e.contact_id)
        self._index_contact(tx, e, position)

    def _note(self, tx: Tx, e: Any, position: int) -> None:
        user_id = getattr(e, "user_id", None)
        self._execute(
            tx,
            self.UPSERT_NOTE,
            e.account_id,
            e.contact_id,
            "call" if e.kind == "call" else "sms",
            user_id or "",
            e.interaction_id,
            e.kind,
            user_id,
            getattr(e, "reply", None),
            time_key(e.occurred_at),
            position,
        )
        self._index_contact(tx, e, position)

    def _number(self, tx: Tx, e: Any, position: int) -> None:
        self._execute(
            tx, self.UPSERT_NUMBER, e.number, e.account_id, e.backup_email, e.label
        )
        self._index_number(tx, e, position)

    def _number_released(self, tx: Tx, e: Any, position: int) -> None:
        self._execute(tx, self.DELETE_NUMBER, e.number)
        self._index_number(tx, e, position)

    def _decision(self, tx: Tx, e: Any, position: int) -> None:
        self._store_decision(tx, e.decision)

    def _store_decision(self, tx: Tx, d: dict[str, Any]) -> None:
        self._execute(
            tx,
            self.UPSERT_DECISION,
            d["account_id"],
            d["message_id"],
            d["position"],
            d["status"],
            d["rule"],
            d["recipient"]["email"] if d["recipient"] else None,
            d["to"],
            to_json(d),
        )

    def _routed(self, tx: Tx, e: Any, position: int) -> None:
        """A routed decision gets a mail to send, and an alert if it says so."""
        d = e.decision
        self._store_decision(tx, as_stored(d))
        routed_at = time_key(e.timestamp)
        account_id, message_id = d["account_id"], d["message_id"]
        x = self._execute
        x(
            tx,
            self.INSERT_OUTBOX,
            account_id,
            message_id,
            position,
            routed_at,
            routed_at,
        )
        # A contact's history lists the decisions about it (not replay's
        # keys: replay reads no decisions).
        for contact_id in d["contact_ids"]:
            key = f"decision:{contact_id}"
            x(tx, self.INSERT_INDEX, account_id, key, position)
        user_id = d["recipient"].get("user_id")
        if d.get("alert") and user_id:
            x(tx, self.INSERT_ALERT, account_id, user_id, position, message_id)

    def _delivery_attempted(self, tx: Tx, e: Any, position: int) -> None:
        retry_at = time_key(e.retry_at)
        x = self._execute
        x(tx, self.RETRY_OUTBOX, e.attempt, retry_at, e.account_id, e.message_id)
        delivery = {
            "email": "pending",
            "attempts": e.attempt,
            "last_error": e.error,
            "next_attempt_at": e.retry_at,
        }
        self._set_delivery(tx, e, delivery)

    def _delivered(self, tx: Tx, e: Any, position: int) -> None:
        x = self._execute
        x(tx, self.CLOSE_OUTBOX, "sent", e.attempts, e.account_id, e.message_id)
        self._set_delivery(tx, e, {"email": "sent", "attempts": e.attempts})

    def _delivery_failed(self, tx: Tx, e: Any, position: int) -> None:
        x = self._execute
        x(tx, self.CLOSE_OUTBOX, "failed", e.attempts, e.account_id, e.message_id)
        delivery = {"email": "failed", "attempts": e.attempts, "last_error": e.reason}
        self._set_delivery(tx, e, delivery)

    def _set_delivery(self, tx: Tx, e: Any, delivery: dict[str, Any]) -> None:
        self._execute(
            tx, self.SET_DELIVERY, to_json(delivery), e.account_id, e.message_id
        )

    def _index_contact(self, tx: Tx, event: Any, position: int) -> None:
        key = f"contact:{event.contact_id}"
        self._execute(tx, self.INSERT_INDEX, event.account_id, key, position)

    def _index_number(self, tx: Tx, event: Any, position: int) -> None:
        key = f"number:{event.number}"
        self._execute(tx, self.INSERT_INDEX, event.account_id, key, position)

    def _set_phones(self, tx: Tx, event: Any, position: int) -> None:
        x = self._execute
        account_id, contact_id = event.account_id, event.contact_id
        x(tx, self.DELETE_PHONES, account_id, contact_id)
        for phone in dict.fromkeys(event.phones):
            x(tx, self.INSERT_PHONE, account_id, phone, contact_id)
        self._index_contact(tx, event, position)
        # A contact that had a phone at some position gained it at an event
        # indexed here; replay then folds that contact's own history, which
        # holds any later removal. So removals need no phone entry, and the
        # fold needs no read, which lets a rebuild stream its writes.
        for phone in sorted(set(event.phones)):
            x(tx, self.INSERT_INDEX, account_id, f"phone:{phone}", position)

    # Queries.

    WRITE_LOCK: str | None = None  # taken first by a transaction that will write
    SKIP_LOCKED = ""  # how a claiming query passes over rows others are claiming

    @contextmanager
    def writing(self) -> Iterator[Tx]:
        """A read-write transaction on the live version, committed at the end."""
        with self.datastore.transaction(commit=True) as curs:
            if self.WRITE_LOCK:
                curs.execute(self.WRITE_LOCK)
            yield Tx(curs, self.live_version(curs))

    def sql(self, statement: str, version: int) -> str:
        """The statement for one version of the tables, in the backend's dialect."""
        key = (statement, version)
        if key not in self._statements:
            named = statement.replace("sl_", f"sl{version}_") if version else statement
            self._statements[key] = self.dialect(named)
        return self._statements[key]

    def dialect(self, statement: str) -> str:
        return statement

    def _execute(self, tx: Tx, statement: str, *params: Any) -> None:
        tx.execute(self.sql(statement, tx.version), params)

    def head(self, tx: Tx) -> int:
        tx.curs.execute(self.SELECT_HEAD)
        return int(_first(tx.fetchone()) or 0)

    def transaction(self) -> Any:
        return self.datastore.transaction(commit=False)

    @contextmanager
    def snapshot(self) -> Iterator[Tx]:
        """A read-only transaction on the live version, seeing one state of it."""
        with self.transaction() as curs:
            yield Tx(curs, self.live_version(curs))

    def read(
        self, queries: list[tuple[str, tuple[Any, ...]]]
    ) -> tuple[dict[str, Any], list[list[Any]]]:
        """Run queries on the live version, in one snapshot; with its state row.

        The state row holds the live `version` and the ledger `head` as the
        queries saw them.
        """
        with self.transaction() as curs:
            curs.execute(self.SELECT_STATE)
            state = dict(curs.fetchone())
            tx = Tx(curs, int(state["version"]))
            results = []
            for statement, params in queries:
                self._execute(tx, statement, *params)
                results.append(tx.fetchall())
        return state, results

    def _one(self, statement: str, *params: Any) -> dict[str, Any] | None:
        rows = self._all(statement, *params)
        return rows[0] if rows else None

    def _all(self, statement: str, *params: Any) -> list[dict[str, Any]]:
        _, (rows,) = self.read([(statement, params)])
        return [dict(row) for row in rows]

    def account_by_key_hash(self, key_hash: str) -> dict[str, Any] | None:
        return self._account(self._one(self.SELECT_ACCOUNT_BY_KEY, key_hash))

    def account(self, account_id: str) -> dict[str, Any] | None:
        return self._account(self._one(self.SELECT_ACCOUNT, account_id))

    def api_keys(self, account_id: str) -> list[dict[str, Any]]:
        """An account's live keys, oldest first, with when each was last used."""
        return self._all(self.SELECT_KEYS, account_id)

    def secret(self, account_id: str, name: str) -> str | None:
        """A provider secret of an account, sealed; None if it has none."""
        row = self._one(self.SELECT_SECRET, account_id, name)
        return row["sealed"] if row else None

    def secrets(self) -> list[dict[str, Any]]:
        """Every account's provider secrets, sealed."""
        return self._all(self.SELECT_SECRETS)

    def record_key_use(self, key_hash: str, at: datetime) -> None:
        with self.writing() as tx:
            self._execute(tx, self.RECORD_KEY_USE, key_hash, time_key(at))

    def account_now(self, account_id: str) -> Reads[dict[str, Any]]:
        """An account's row as it is now: a read to compose with others."""
        _, (rows,) = yield [(self.SELECT_ACCOUNT, (account_id,))]
        return dict(rows[0])

    @staticmethod
    def _account(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is not None:
            row["enhanced_inbound"] = bool(row["enhanced_inbound"])
        return row

    def user(self, account_id: str, user_id: str) -> dict[str, Any] | None:
        return self._one(self.SELECT_USER, account_id, user_id)

    SELECT_NOTE_REFERENCES = (
        "SELECT EXISTS (SELECT 1 FROM sl_users WHERE account_id = %s AND user_id = %s)"
        " AS has_user, EXISTS (SELECT 1 FROM sl_contacts"
        " WHERE account_id = %s AND contact_id = %s) AS has_contact,"
        " (SELECT default_region FROM sl_accounts WHERE account_id = %s)"
        " AS default_region"
    )

    # As above, and whether the request's key is still live, in the same read.
    SELECT_NOTE_REFERENCES_BY_KEY = (
        SELECT_NOTE_REFERENCES
        + ", EXISTS (SELECT 1 FROM sl_api_keys WHERE key_hash = %s"
        " AND account_id = %s) AS key_live"
    )

    def note_references(
        self,
        account_id: str,
        user_id: str,
        contact_id: str,
        key_hash: str | None = None,
    ) -> Reads[tuple[bool, bool, str, bool]]:
        """Whether the user and the contact a note names exist, the account's
        region now, and whether `key_hash` (if given) is a live key of the
        account: all a note needs to know, in one query."""
        params: tuple[str, ...] = (
            account_id, user_id, account_id, contact_id, account_id
        )  # fmt: skip
        statement = self.SELECT_NOTE_REFERENCES
        if key_hash is not None:
            statement = self.SELECT_NOTE_REFERENCES_BY_KEY
            params += (key_hash, account_id)
        _, (rows,) = yield [(statement, params)]
        row = dict(rows[0])
        return (
            bool(row["has_user"]),
            bool(row["has_contact"]),
            row["default_region"],
            key_hash is None or bool(row["key_live"]),
        )

    def contact(self, account_id: str, contact_id: str) -> dict[str, Any] | None:
        return self._one(self.SELECT_CONTACT, account_id, contact_id)

    def number(self, number: str) -> dict[str, Any] | None:
        return self._one(self.SELECT_NUMBER, number)

    def decision(self, account_id: str, message_id: str) -> dict[str, Any] | None:
        row = self._one(self.SELECT_DECISION, account_id, message_id)
        return json.loads(row["document"]) if row else None

    def held_message_ids(self, account_id: str, number: str) -> list[str]:
        rows = self._all(self.SELECT_HELD, account_id, number)
        return [row["message_id"] for row in rows]

    def positions_for(self, account_id: str, keys: list[str], upto: int) -> list[int]:
        """Positions of the events under any of `keys`, up to `upto`."""
        marks = ", ".join("%s" for _ in keys)
        statement = (
            "SELECT DISTINCT position FROM sl_ledger_index WHERE account_id = %s"
            f" AND key IN ({marks}) AND position <= %s"
        )
        rows = self._all(statement, account_id, *keys, upto)
        return [int(row["position"]) for row in rows]

    SELECT_ACCOUNT_POSITIONS = (
        "SELECT DISTINCT position FROM sl_ledger_index"
        " WHERE account_id = %s AND position <= %s"
    )
    SELECT_DECISION_IDS = "SELECT message_id FROM sl_decisions WHERE account_id = %s"

    def account_positions(self, account_id: str, upto: int) -> list[int]:
        """Positions, up to `upto`, of every event the index holds for the
        account: all that routing's facts are folded from."""
        rows = self._all(self.SELECT_ACCOUNT_POSITIONS, account_id, upto)
        return sorted(int(row["position"]) for row in rows)

    def decision_message_ids(self, account_id: str) -> list[str]:
        rows = self._all(self.SELECT_DECISION_IDS, account_id)
        return [row["message_id"] for row in rows]

    def positions(self, account_id: str, key: str) -> list[int]:
        rows = self._all(self.SELECT_INDEX, account_id, key)
        return [int(row["position"]) for row in rows]

    SELECT_NOTES = (
        "SELECT n.contact_id, n.interaction_id, n.kind, n.user_id, n.reply,"
        " n.occurred_at, n.position, u.email, u.name AS user_name, u.active"
        " FROM sl_notes n LEFT JOIN sl_users u"
        "  ON u.account_id = n.account_id AND u.user_id = n.user_id"
        " WHERE n.account_id = %s AND n.contact_id IN ("
        "  SELECT p.contact_id FROM sl_contact_phones p"
        "  WHERE p.account_id = %s AND p.phone = %s)"
    )
    SELECT_STATE: str  # the live version and the ledger head, in one row

    def run_reads(self, reads: Reads[T]) -> T:
        """Carry out reads one step at a time, each step in one snapshot."""
        try:
            queries = next(reads)
            while True:
                queries = reads.send(self.read(queries))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def gather_facts(self, account_id: str, to: str, sender: str) -> tuple[Facts, int]:
        """The facts routing needs, read in one snapshot, and that snapshot's head."""
        facts, position, _ = self.run_reads(self.routing_read(account_id, to, sender))
        return facts, position

    def routing_read(
        self, account_id: str, to: str, sender: str, key_hash: str | None = None
    ) -> Reads[tuple[Facts, int, dict[str, Any]]]:
        """The facts, the head and the account's settings, in one snapshot; the
        settings say `key_live`: whether `key_hash`, if given, is a live key of
        the account.

        Every read is a primary-key or index lookup; none grows with the ledger.
        """
        queries = [
            (self.SELECT_ACCOUNT, (account_id,)),
            (self.SELECT_NUMBER, (to,)),
            (self.SELECT_MATCHES, (account_id, sender)),
            (self.SELECT_NOTES, (account_id, account_id, sender)),
        ]
        if key_hash is not None:
            queries.append((self.SELECT_LIVE_KEY, (key_hash, account_id)))
        state, (accounts, numbers, matches, noted, *keys) = yield queries
        position = int(state["head"] or 0)
        account = self._account(dict(accounts[0]))
        assert account is not None
        account["key_live"] = key_hash is None or bool(keys[0])
        if not numbers or numbers[0]["account_id"] != account_id:
            return Facts(sender=sender, number=None), position, account
        number = NumberFact(number=to, backup_email=numbers[0]["backup_email"])
        users: dict[str, UserFact] = {}
        contacts = []
        for row in matches:
            contacts.append(
                ContactFact(
                    contact_id=row["contact_id"],
                    name=row["name"],
                    owner_user_id=row["owner_user_id"],
                    registered_position=int(row["registered_position"]),
                )
            )
            if row["email"] is not None:
                users[row["owner_user_id"]] = _user(row, row["owner_user_id"])
        notes = []
        for row in noted:
            notes.append(
                NoteFact(
                    interaction_id=row["interaction_id"],
                    kind=row["kind"],
                    contact_id=row["contact_id"],
                    user_id=row["user_id"],
                    reply=row["reply"],
                    occurred_at=from_time_key(row["occurred_at"]),
                    position=int(row["position"]),
                )
            )
            if row["email"] is not None:
                users[row["user_id"]] = _user(row, row["user_id"])
        # In ledger order, whichever order the plan returned them in.
        contacts.sort(key=lambda c: c.registered_position)
        notes.sort(key=lambda n: n.position)
        facts = Facts(sender, number, tuple(contacts), tuple(notes), users)
        return facts, position, account


def _user(row: Any, user_id: str) -> UserFact:
    return UserFact(user_id, row["email"], row["user_name"], bool(row["active"]))


def _first(row: Any) -> Any:
    """The first column of a row, whichever row type the driver returns."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
