"""The routing view's tables, their versions side by side, and readiness."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smsledger.projections.tables import TABLES, names
from smsledger.projections.view_base import ViewBase, _first


class ViewSchema(ViewBase):
    """Backend-neutral fold and queries; subclasses say how to talk SQL.

    The view's tables exist in versions side by side: the SQL below names
    each by its template (`{users}`), which each version fills with its own
    name (`sl3_users`, see `projections/tables.py`). `smsledger_views` says
    which version is live, so a rebuilt version can be switched in atomically
    while the service runs.
    """

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
        # How far each user has read each message of their inbox: not a fact
        # of the ledger either, so kept beside the view's versions.
        "CREATE TABLE IF NOT EXISTS smsledger_inbox_reads ("
        " account_id TEXT NOT NULL, user_id TEXT NOT NULL, message_id TEXT NOT NULL,"
        " read_position BIGINT NOT NULL,"
        " PRIMARY KEY (account_id, user_id, message_id))",
    )
    RECORD_BUILD = (
        "INSERT INTO smsledger_view_builds (version, position) VALUES (%s, %s)"
        " ON CONFLICT (version) DO UPDATE SET position = excluded.position"
    )
    SELECT_BUILT_VERSION = "SELECT MAX(version) FROM smsledger_view_builds"
    SELECT_BUILDS = "SELECT version, position FROM smsledger_view_builds ORDER BY 1"
    SET_LIVE_VERSION = "UPDATE smsledger_views SET version = %s WHERE name = 'routing'"
    SELECT_TABLES: str  # the view's tables that its unqualified names reach
    SELECT_COLUMNS: str  # the column names of one table

    CREATE_TABLES: Sequence[str] = (
        "CREATE TABLE IF NOT EXISTS {accounts} ("
        " account_id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL, default_region TEXT NOT NULL,"
        " routing_policy TEXT NOT NULL, enhanced_inbound BOOLEAN NOT NULL)",
        # The accounts' live keys, by the hash that authenticates a request.
        "CREATE TABLE IF NOT EXISTS {api_keys} ("
        " account_id TEXT NOT NULL, key_id TEXT NOT NULL,"
        " key_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, prefix TEXT,"
        " created_at TEXT NOT NULL, PRIMARY KEY (account_id, key_id))",
        # Provider secrets, sealed as the ledger holds them.
        "CREATE TABLE IF NOT EXISTS {account_secrets} ("
        " account_id TEXT NOT NULL, name TEXT NOT NULL, sealed TEXT NOT NULL,"
        " PRIMARY KEY (account_id, name))",
        "CREATE TABLE IF NOT EXISTS {users} ("
        " account_id TEXT NOT NULL, user_id TEXT NOT NULL, email TEXT NOT NULL,"
        " name TEXT, active BOOLEAN NOT NULL, PRIMARY KEY (account_id, user_id))",
        "CREATE TABLE IF NOT EXISTS {contacts} ("
        " account_id TEXT NOT NULL, contact_id TEXT NOT NULL, name TEXT,"
        " owner_user_id TEXT, registered_position BIGINT NOT NULL,"
        " PRIMARY KEY (account_id, contact_id))",
        "CREATE TABLE IF NOT EXISTS {contact_phones} ("
        " account_id TEXT NOT NULL, phone TEXT NOT NULL, contact_id TEXT NOT NULL,"
        " PRIMARY KEY (account_id, phone, contact_id))",
        # A contact's phones change by contact: without this, each change
        # scans every phone of the account.
        "CREATE INDEX IF NOT EXISTS {contact_phones}_by_contact"
        " ON {contact_phones} (account_id, contact_id)",
        "CREATE TABLE IF NOT EXISTS {notes} ("
        " account_id TEXT NOT NULL, contact_id TEXT NOT NULL, channel TEXT NOT NULL,"
        " actor TEXT NOT NULL, interaction_id TEXT NOT NULL, kind TEXT NOT NULL,"
        " user_id TEXT, reply TEXT, occurred_at TEXT NOT NULL,"
        " position BIGINT NOT NULL, handed_off TEXT, handed_by TEXT,"
        " PRIMARY KEY (account_id, contact_id, channel, actor))",
        "CREATE TABLE IF NOT EXISTS {numbers} ("
        " number TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
        " backup_email TEXT NOT NULL, label TEXT)",
        "CREATE TABLE IF NOT EXISTS {decisions} ("
        " account_id TEXT NOT NULL, message_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, status TEXT NOT NULL, rule TEXT NOT NULL,"
        " recipient_email TEXT, to_number TEXT NOT NULL, document TEXT NOT NULL,"
        " PRIMARY KEY (account_id, message_id))",
        # With the message id, which orders decisions made at one position:
        # a page is then read in index order, with no sort.
        "CREATE INDEX IF NOT EXISTS {decisions}_by_position"
        " ON {decisions} (account_id, position, message_id)",
        "CREATE INDEX IF NOT EXISTS {decisions}_held"
        " ON {decisions} (account_id, to_number) WHERE status = 'held'",
        "CREATE TABLE IF NOT EXISTS {ledger_index} ("
        " account_id TEXT NOT NULL, key TEXT NOT NULL, position BIGINT NOT NULL,"
        " PRIMARY KEY (account_id, key, position))",
        # The outbox: one row per routed decision, its mail's state, and the
        # lease a delivery worker holds on it while sending.
        "CREATE TABLE IF NOT EXISTS {outbox} ("
        " account_id TEXT NOT NULL, message_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, routed_at TEXT NOT NULL, status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, next_attempt_at TEXT NOT NULL,"
        " lease_owner TEXT, lease_until TEXT,"
        " PRIMARY KEY (account_id, message_id))",
        "CREATE INDEX IF NOT EXISTS {outbox}_pending"
        " ON {outbox} (position) WHERE status = 'pending'",
        # Failed mails stay: /metrics counts them without reading every mail.
        "CREATE INDEX IF NOT EXISTS {outbox}_failed"
        " ON {outbox} (position) WHERE status = 'failed'",
        # Alerts: decisions routed to a user of an account with enhanced inbound.
        "CREATE TABLE IF NOT EXISTS {alerts} ("
        " account_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, message_id TEXT NOT NULL,"
        " PRIMARY KEY (account_id, user_id, position))",
        # Who can sign in by mail: a user's address, in any account, in any case.
        "CREATE INDEX IF NOT EXISTS {users}_by_email ON {users} (lower(email))",
        # The inbox: each message routed or handed to a user, as of the last
        # time it reached them; and who holds each message now.
        "CREATE TABLE IF NOT EXISTS {inbox} ("
        " account_id TEXT NOT NULL, user_id TEXT NOT NULL, message_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, reached_at TEXT NOT NULL, handoff_id TEXT,"
        " by_user_id TEXT, note TEXT, PRIMARY KEY (account_id, user_id, message_id))",
        "CREATE INDEX IF NOT EXISTS {inbox}_by_position"
        " ON {inbox} (account_id, user_id, position)",
        "CREATE TABLE IF NOT EXISTS {holders} ("
        " account_id TEXT NOT NULL, message_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " PRIMARY KEY (account_id, message_id))",
        # Each contact's whole thread: inbound messages, notes, hand-offs and
        # replies, one row per event and contact.
        "CREATE TABLE IF NOT EXISTS {thread} ("
        " account_id TEXT NOT NULL, contact_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, kind TEXT NOT NULL, occurred_at TEXT NOT NULL,"
        " user_id TEXT, message_id TEXT, body TEXT, by_user_id TEXT, item_id TEXT,"
        " PRIMARY KEY (account_id, contact_id, position))",
        # Replies: their state, and the queue the delivery workers send from.
        "CREATE TABLE IF NOT EXISTS {dispatches} ("
        " account_id TEXT NOT NULL, message_id TEXT NOT NULL, reply_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, user_id TEXT NOT NULL, body TEXT NOT NULL,"
        " queued_at TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,"
        " last_error TEXT, provider_id TEXT, next_attempt_at TEXT NOT NULL,"
        " lease_owner TEXT, lease_until TEXT,"
        " PRIMARY KEY (account_id, message_id, reply_id))",
        "CREATE INDEX IF NOT EXISTS {dispatches}_queued"
        " ON {dispatches} (position) WHERE status = 'queued'",
        "CREATE INDEX IF NOT EXISTS {dispatches}_failed"
        " ON {dispatches} (position) WHERE status = 'failed'",
        # The mail each hand-off sends to the user it was handed to.
        "CREATE TABLE IF NOT EXISTS {handoff_mails} ("
        " account_id TEXT NOT NULL, message_id TEXT NOT NULL,"
        " handoff_id TEXT NOT NULL, position BIGINT NOT NULL, status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, next_attempt_at TEXT NOT NULL,"
        " lease_owner TEXT, lease_until TEXT,"
        " PRIMARY KEY (account_id, message_id, handoff_id))",
        "CREATE INDEX IF NOT EXISTS {handoff_mails}_pending"
        " ON {handoff_mails} (position) WHERE status = 'pending'",
        "CREATE INDEX IF NOT EXISTS {handoff_mails}_failed"
        " ON {handoff_mails} (position) WHERE status = 'failed'",
    )

    TABLES = TABLES  # declared in `projections/tables.py`

    # Versions.

    def create_tables(self, curs: Any) -> None:
        for statement in self.CREATE_CONTROL_TABLES:
            curs.execute(self.sql(statement, 0))
        self.create_version(curs, self.live_version(curs))

    def create_version(self, curs: Any, version: int) -> None:
        for statement in self.CREATE_TABLES:
            curs.execute(self.sql(statement, version))

    def drop_version(self, curs: Any, version: int) -> None:
        for name in names(version).values():
            curs.execute(f"DROP TABLE IF EXISTS {name}")

    def analyze_version(self, curs: Any, version: int) -> None:
        """Gather the planner's statistics on a version's tables. Filled in
        bulk by a rebuild, they would have none until the database's own
        maintenance came by, and routing's plans go by them."""
        for name in names(version).values():
            curs.execute(f"ANALYZE {name}")

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

    def tables_with_column(self, curs: Any, table: str, column: str) -> list[str]:
        """The versions of one view table (`sl3_accounts`, ...) that have `column`."""
        curs.execute(self.SELECT_TABLES)
        catalog = sorted(row["name"] for row in curs.fetchall())
        found = []
        for name in catalog:
            version, _, rest = name.removeprefix("sl").partition("_")
            if version.isdigit() and rest == table:
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
        return [
            f"the live routing view (version {version}) has no table {name}"
            for name in names(version).values()
            if name not in tables
        ]
