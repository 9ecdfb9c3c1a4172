"""Operations on the sealed provider secrets: rotation, and the migration.

Rotation reseals every secret not sealed with the current key, appending an
`Account.SecretsResealed` event per account. The migration is the one
sanctioned rewrite of the ledger: events written before secrets were sealed
held them in the clear, and it rewrites each in place with the secret sealed,
then rebuilds the view and clears any table an older version left behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from smsledger.domain.accounts import SECRET_NAMES, Account
from smsledger.ledger.sealing import SecretUnreadable

log = logging.getLogger("smsledger.secrets")
LEGACY_TOPIC = get_topic(Account.SettingsChanged)
# Older versions of the view held the token in the clear in this column, and
# the account's one key hash in another (keys now have a table of their own).
LEGACY_TABLE = "accounts"  # in every version of the view
LEGACY_COLUMN = "twilio_auth_token"
OLD_SCHEMA_COLUMN = "api_key_hash"


@dataclass
class RotationReport:
    resealed: int = 0  # secrets
    accounts: int = 0
    unreadable: list[str] = field(default_factory=list)  # account ids


def rotate(ledger: Any) -> RotationReport:
    """Reseal with the current key every secret sealed with a previous one."""
    report = RotationReport()
    sealer = ledger.sealer
    stale = sorted(
        {
            row["account_id"]
            for row in ledger.view.secrets()
            if not sealer.is_current(row["sealed"])
        }
    )
    for account_id in stale:
        try:
            count = ledger.reseal_secrets(account_id)
        except SecretUnreadable:
            log.error("account %s: its secrets open with no key given", account_id)
            report.unreadable.append(account_id)
            continue
        if count:
            log.info("account %s: %d secret(s) resealed", account_id, count)
            report.resealed += count
            report.accounts += 1
    return report


@dataclass
class MigrationReport:
    rewritten: list[int] = field(default_factory=list)  # their positions
    rebuilt: bool = False
    cleared: list[str] = field(default_factory=list)  # tables left by old versions


def migrate(ledger: Any, dry_run: bool = False) -> MigrationReport:
    """Seal every provider secret the ledger holds in the clear, in place."""
    report = MigrationReport()
    recorder, mapper, sealer = ledger.recorder, ledger.mapper, ledger.sealer
    # Appends wait while events are rewritten: none can slip in between.
    locked = (
        recorder.datastore.transaction(commit=False)
        if dry_run
        else recorder.appends_locked()
    )
    with locked as curs:
        for row in recorder.select_topic(curs, LEGACY_TOPIC):
            stored = StoredEvent(
                row["originator_id"],
                row["originator_version"],
                row["topic"],
                bytes(row["state"]),
            )
            event: Any = mapper.to_domain_event(stored)
            plain = [
                name
                for name, value in event.changes.items()
                if name in SECRET_NAMES and isinstance(value, str)
            ]
            if not plain:
                continue
            position = int(row["position"])
            log.info(
                "%s event at position %d (account %s, version %d): %s sealed",
                "would rewrite" if dry_run else "rewriting",
                position,
                event.originator_id,
                event.originator_version,
                ", ".join(plain),
            )
            report.rewritten.append(position)
            if dry_run:
                continue
            sealed = {
                name: {"sealed": sealer.seal(event.changes[name])} for name in plain
            }
            # Events are frozen: this is the one place one is changed.
            object.__setattr__(event, "changes", {**event.changes, **sealed})
            state = mapper.to_stored_event(event).state
            recorder.rewrite_state(
                curs, row["originator_id"], row["originator_version"], state
            )
    if dry_run:
        return report
    if report.rewritten or _old_tables(ledger):
        log.info("rebuilding the view from the rewritten ledger")
        ledger.rebuild_views()
        report.rebuilt = True
    report.cleared = _clear_old_tables(ledger)
    return report


def _old_tables(ledger: Any) -> list[str]:
    """Tables of a version of the view made before secrets were sealed."""
    view = ledger.view
    with view.datastore.transaction(commit=False) as curs:
        return sorted(
            set(view.tables_with_column(curs, LEGACY_TABLE, LEGACY_COLUMN))
            | set(view.tables_with_column(curs, LEGACY_TABLE, OLD_SCHEMA_COLUMN))
        )


def _clear_old_tables(ledger: Any) -> list[str]:
    """Clear the token from any old version the rebuild could not drop (a
    reader held it): it is no longer live, so nothing reads the column."""
    view = ledger.view
    cleared = []
    with view.datastore.transaction(commit=True) as curs:
        for table in view.tables_with_column(curs, LEGACY_TABLE, LEGACY_COLUMN):
            curs.execute(
                f"UPDATE {table} SET {LEGACY_COLUMN} = NULL"
                f" WHERE {LEGACY_COLUMN} IS NOT NULL"
            )
            log.info("cleared %s.%s", table, LEGACY_COLUMN)
            cleared.append(table)
    return cleared
