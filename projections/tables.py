"""The view's tables, declared once, and how a statement names them in a version.

The view's tables exist in versions side by side (`sl3_notes`, `sl4_notes`).
A statement that reads the view or creates its tables is written as a
template naming each table by its declared name in braces:

    SELECT * FROM {notes} WHERE account_id = %s

and is made for one version by filling it from that version's `Names`
(`ViewBase.sql`, which keeps what it made). A name that is not declared in
`TABLES` is a KeyError the first time the statement is made; a brace that the
SQL itself needs is written twice (`{{`). The fold's writes name their table
in their operation instead (`projections/writes.py`).
"""

from __future__ import annotations

import functools

from smsledger.projections.writes import table_name

# Every table of one version of the view. A new table is added here and in
# `ViewSchema.CREATE_TABLES`.
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
    "inbox",
    "holders",
    "thread",
    "dispatches",
    "handoff_mails",
)


class Names(dict[str, str]):
    """Each declared table's name in one version: `names(3)["notes"]` is
    `sl3_notes`. Version 0 is the unversioned name (`sl_notes`), which only
    tests and measurements use."""

    def __init__(self, version: int) -> None:
        super().__init__((table, table_name(table, version)) for table in TABLES)
        self.version = version

    def __missing__(self, key: str) -> str:
        raise KeyError(f"{key!r} is not a table of the view (projections/tables.py)")


@functools.cache
def names(version: int) -> Names:
    """The names of one version's tables, made once."""
    return Names(version)


def fill(template: str, version: int, old: int | None = None) -> str:
    """A statement template with one version's table names in it. A rebuild's
    switch also names the live version's tables, as `{old[outbox]}`."""
    if old is None:
        return template.format_map(names(version))
    return template.format_map({**names(version), "old": names(old)})


def ref(table: str, old: bool = False) -> str:
    """Where a declared table goes in a template made in code: `{notes}`, or
    `{old[notes]}` for the live version's in a rebuild's switch."""
    names(0)[table]  # a KeyError now if it is not declared
    return f"{{old[{table}]}}" if old else f"{{{table}}}"
