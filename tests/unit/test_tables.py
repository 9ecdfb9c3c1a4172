"""Every statement of the view names its tables by template, and only
declared ones; SQLite's placeholders never reach into a literal."""

from __future__ import annotations

from string import Formatter

import pytest

from smsledger.projections import browse
from smsledger.projections.browse import Browse
from smsledger.projections.gauges import ViewGauges
from smsledger.projections.inbox import InboxView
from smsledger.projections.outbox import Outbox
from smsledger.projections.persistence import RoutingView
from smsledger.projections.postgres_view import PostgresRoutingView
from smsledger.projections.queue import dispatches, handoff_mails
from smsledger.projections.sqlite import SQLiteRoutingView, qmark
from smsledger.projections.tables import TABLES, fill, names, ref

VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP")


def statements(view: RoutingView) -> dict[str, str]:
    """Each statement the view's readers hold, by where it is found."""
    found = {f"CREATE_TABLES[{i}]": s for i, s in enumerate(view.CREATE_TABLES)}
    holders = [view, Browse(view), InboxView(view), Outbox(view), ViewGauges(view)]
    holders += [handoff_mails(view), dispatches(view)]
    for holder in holders:
        for name in dir(holder):
            value = getattr(holder, name, None)
            if isinstance(value, str) and value.startswith(VERBS):
                found[f"{type(holder).__name__}.{name}"] = value
    for made in (browse.select_phones, browse.select_names, browse.select_decisions,
                 browse.select_contact_names):  # fmt: skip
        found[made.__name__] = made("%s, %s")
    return found


VIEWS = [SQLiteRoutingView(None), PostgresRoutingView(None, "public.stored_events")]


@pytest.mark.parametrize("view", VIEWS, ids=["sqlite", "postgres"])
def test_every_statement_names_declared_tables_only(view: RoutingView) -> None:
    found = statements(view)
    assert len(found) > 80
    for where, template in found.items():
        fields = {f for _, f, _, _ in Formatter().parse(template) if f is not None}
        named = {f.removeprefix("old[").removesuffix("]") for f in fields}
        assert named <= set(TABLES), (where, named - set(TABLES))
        made = fill(template, 3, old=2)
        # A table written as its bare name would escape the version.
        assert "sl_" not in made, (where, made)
        assert "{" not in made, (where, made)


def test_a_misspelt_table_fails_when_the_statement_is_made() -> None:
    with pytest.raises(KeyError, match="'note' is not a table of the view"):
        fill("SELECT * FROM {note}", 1)
    with pytest.raises(KeyError):
        ref("note")
    assert fill("SELECT * FROM {notes}", 4) == "SELECT * FROM sl4_notes"
    assert names(0)["notes"] == "sl_notes"


def test_sqlite_placeholders_leave_quoted_text_alone() -> None:
    statement = "SELECT '%s', \"a%s\" FROM t WHERE a = %s AND b = 'it''s %s' AND c = %s"
    assert qmark(statement) == (
        "SELECT '%s', \"a%s\" FROM t WHERE a = ? AND b = 'it''s %s' AND c = ?"
    )
