"""The routing view's reads: lookups by key, listings, the ledger index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from smsledger.projections.fold import ViewFold
from smsledger.projections.view_base import Reads, Tx, _first, time_key


class ViewQueries(ViewFold):
    """Reads of the live version, each in one snapshot."""

    SELECT_HEAD: str  # the ledger's last position, in the reader's snapshot
    SELECT_ACCOUNT_BY_KEY = (
        "SELECT a.*, k.key_id, k.key_hash FROM {api_keys} k"
        " JOIN {accounts} a ON a.account_id = k.account_id WHERE k.key_hash = %s"
    )
    SELECT_LIVE_KEY = (
        "SELECT key_id FROM {api_keys} WHERE key_hash = %s AND account_id = %s"
    )
    SELECT_KEYS = (
        "SELECT k.key_id, k.name, k.prefix, k.created_at, u.last_used_at"
        " FROM {api_keys} k LEFT JOIN smsledger_key_usage u"
        " ON u.key_hash = k.key_hash WHERE k.account_id = %s"
        " ORDER BY k.created_at, k.key_id"
    )
    SELECT_SECRET = (
        "SELECT sealed FROM {account_secrets} WHERE account_id = %s AND name = %s"
    )
    SELECT_SECRETS = "SELECT account_id, name, sealed FROM {account_secrets}"
    # Later than the kept time only: two processes may record one use.
    RECORD_KEY_USE = (
        "INSERT INTO smsledger_key_usage (key_hash, last_used_at) VALUES (%s, %s)"
        " ON CONFLICT (key_hash) DO UPDATE SET last_used_at = excluded.last_used_at"
        " WHERE excluded.last_used_at > smsledger_key_usage.last_used_at"
    )
    SELECT_ACCOUNT = "SELECT * FROM {accounts} WHERE account_id = %s"
    SELECT_USER = "SELECT * FROM {users} WHERE account_id = %s AND user_id = %s"
    SELECT_CONTACT = (
        "SELECT * FROM {contacts} WHERE account_id = %s AND contact_id = %s"
    )
    SELECT_NUMBER = "SELECT * FROM {numbers} WHERE number = %s"
    SELECT_MATCHES = (
        "SELECT c.contact_id, c.name, c.owner_user_id, c.registered_position,"
        " u.email, u.name AS user_name, u.active"
        " FROM {contact_phones} p"
        " JOIN {contacts} c"
        "  ON c.account_id = p.account_id AND c.contact_id = p.contact_id"
        " LEFT JOIN {users} u"
        "  ON u.account_id = c.account_id AND u.user_id = c.owner_user_id"
        " WHERE p.account_id = %s AND p.phone = %s"
    )
    SELECT_NOTES: str  # notes of a list of contacts, with their users
    SELECT_DECISION = (
        "SELECT document FROM {decisions} WHERE account_id = %s AND message_id = %s"
    )
    SELECT_HELD = (
        "SELECT message_id FROM {decisions}"
        " WHERE account_id = %s AND to_number = %s AND status = 'held'"
    )
    SELECT_INDEX = (
        "SELECT position FROM {ledger_index}"
        " WHERE account_id = %s AND key = %s ORDER BY position"
    )

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

    def head(self, tx: Tx) -> int:
        tx.curs.execute(self.SELECT_HEAD)
        return int(_first(tx.fetchone()) or 0)

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
        "SELECT EXISTS (SELECT 1 FROM {users} WHERE account_id = %s AND user_id = %s)"
        " AS has_user, EXISTS (SELECT 1 FROM {contacts}"
        " WHERE account_id = %s AND contact_id = %s) AS has_contact,"
        " (SELECT default_region FROM {accounts} WHERE account_id = %s)"
        " AS default_region"
    )

    # As above, and whether the request's key is still live, in the same read.
    SELECT_NOTE_REFERENCES_BY_KEY = (
        SELECT_NOTE_REFERENCES
        + ", EXISTS (SELECT 1 FROM {api_keys} WHERE key_hash = %s"
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
            "SELECT DISTINCT position FROM {ledger_index} WHERE account_id = %s"
            f" AND key IN ({marks}) AND position <= %s"
        )
        rows = self._all(statement, account_id, *keys, upto)
        return [int(row["position"]) for row in rows]

    SELECT_ACCOUNT_POSITIONS = (
        "SELECT DISTINCT position FROM {ledger_index}"
        " WHERE account_id = %s AND position <= %s"
    )
    SELECT_DECISION_IDS = "SELECT message_id FROM {decisions} WHERE account_id = %s"

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
        " n.occurred_at, n.position, n.handed_off, n.handed_by,"
        " u.email, u.name AS user_name, u.active"
        " FROM {notes} n LEFT JOIN {users} u"
        "  ON u.account_id = n.account_id AND u.user_id = n.user_id"
        " WHERE n.account_id = %s AND n.contact_id IN ("
        "  SELECT p.contact_id FROM {contact_phones} p"
        "  WHERE p.account_id = %s AND p.phone = %s)"
        # In ledger order, as replay folds them: one hand-off or reply notes
        # several contacts at one position, and of those equally recent
        # notes routing weighs the first (`latest_per_actor`).
        " ORDER BY n.position, n.contact_id"
    )
    SELECT_STATE: str  # the live version and the ledger head, in one row
