"""A rebuild's folded pages, written in order on a thread of their own."""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any

from smsledger.projections.setwise import SetwiseWriter
from smsledger.projections.setwise_plans import Plans, Stages

if TYPE_CHECKING:
    from smsledger.projections.persistence import RoutingView


class PageCommitter:
    """Writes folded pages in order, each in its own transaction with the
    position it reached, on a thread of its own: the database writes one page
    while the next is folded. At most two pages wait, so memory stays flat."""

    def __init__(
        self, datastore: Any, view: RoutingView, plans: Plans, version: int
    ) -> None:
        self.datastore = datastore
        self.view = view
        self.plans = plans
        self.version = version
        self.queue: queue.Queue[tuple[SetwiseWriter, int] | None] = queue.Queue(1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="rebuild-pages")

    def __enter__(self) -> PageCommitter:
        self.thread.start()
        return self

    def submit(self, writer: SetwiseWriter, position: int) -> None:
        while True:
            self._raise()
            try:
                self.queue.put((writer, position), timeout=0.1)
                return
            except queue.Full:
                continue

    def __exit__(self, *exc: object) -> None:
        while self.thread.is_alive():
            try:
                self.queue.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        self.thread.join()
        if exc[0] is None:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            with self.datastore.get_connection() as conn:
                stages = Stages(self.plans)
                try:
                    while (item := self.queue.get()) is not None:
                        writer, position = item
                        with conn.transaction(), conn.cursor() as curs:
                            # A lost page is built again: no need to wait for disk.
                            curs.execute("SET LOCAL synchronous_commit TO OFF")
                            writer.flush(curs, stages)
                            self.view.record_build(curs, self.version, position)
                finally:
                    with conn.cursor() as curs:
                        stages.drop(curs)
        except BaseException as error:  # the folding thread raises it
            self.error = error
