"""A rebuilt version's last indexes and planner statistics, table by table on
parallel connections.

Filled in bulk, a version's largest tables get their indexes once full
(`setwise_plans.Plans.defer_indexes`), and every table needs the planner's
statistics before routing reads it (`ViewSchema.analyze_version`). One
connection did all of it, one table after another: at 100k events about a
third of the rebuild, on one core. Each table is a job of its own here, the
largest first. The version is not live yet, so a job's commit need not wait
for the disk: a crash leaves a version the next rebuild makes again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from smsledger.projections.setwise_plans import Plans

CONNECTIONS = 2  # one a core, on the machines measured (docs/PERFORMANCE.md)
MEMORY = "256MB"  # to sort a table's rows for an index once, at 1M events


def finish_tables(datastore: Any, plans: Plans, tables: Iterable[str]) -> None:
    """Make each table's deferred indexes and analyze it; raise the first
    error once every job has stopped."""
    jobs = sorted(tables, key=lambda table: table not in plans.deferred)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def take() -> str | None:
        with lock:
            return jobs.pop(0) if jobs and not errors else None

    def run() -> None:
        try:
            with datastore.get_connection() as conn:
                while (table := take()) is not None:
                    with conn.transaction(), conn.cursor() as curs:
                        curs.execute("SET LOCAL synchronous_commit TO OFF")
                        curs.execute(f"SET LOCAL maintenance_work_mem = '{MEMORY}'")
                        if table in plans.deferred:
                            plans.make_indexes(curs, table)
                        curs.execute(f"ANALYZE {table}")
        except BaseException as error:  # raised below, in the caller
            errors.append(error)

    threads = [threading.Thread(target=run, name="rebuild-finish")
               for _ in range(CONNECTIONS)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
