"""A range of the ledger is read in order by its index, never sorted first."""

from typing import Any
from uuid import UUID

import pytest

from smsledger.projections.setwise import UNSORTED, ordered_read
from tests.integration.test_routing_uses_indexes import with_history


@pytest.mark.parametrize("filtered", ["all", "mentioning", "skipping"])
def test_postgres_reads_a_range_by_its_index_without_sorting(postgres_url, filtered):
    with with_history(postgres_url) as (ledger, ctx):
        recorder = ledger.recorder
        choices: dict[str, dict[str, Any]] = {
            "all": {},
            "mentioning": {"mentioning": UUID(ctx.account_id)},
            "skipping": {"skipping": ["smsledger.domain.users:User.Registered"]},
        }
        options = choices[filtered]
        statement, params = ordered_read(recorder, 0, ledger.head(), **options)
        plans = []
        with recorder.datastore.transaction(commit=False) as curs:
            for settings in ((), (UNSORTED,)):
                for setting in settings:
                    curs.execute(setting)
                curs.execute("EXPLAIN " + statement, params)
                plans.append("\n".join(r["QUERY PLAN"] for r in curs.fetchall()))
        rows = list(recorder.stored_rows(0, ledger.head(), **options))

    unstatistic, read = plans
    assert "Sort" in unstatistic  # what the planner does with no statistics
    assert "Sort" not in read, read
    assert "Index Scan" in read, read
    positions = [row[0] for row in rows]
    assert positions == sorted(positions)
    assert len(positions) > 10
