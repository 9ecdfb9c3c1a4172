"""Rebuild the routing view from the ledger alone, while the service runs.

A new version of the view's tables is built beside the live one, many events
per transaction, each page recording how far it got. When it has nearly caught
up, one transaction holds the append lock, folds the last events and makes the
new version live; the old one is then dropped. Routing reads the live version
throughout, so no answer is ever made from a half-built view.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Mapper, OperationalError

from projections.persistence import RoutingView

Progress = Callable[[int, int], None]
DROP_ATTEMPTS = 20
log = logging.getLogger("smsledger.rebuild")


@dataclass(frozen=True)
class RebuildReport:
    old_version: int
    new_version: int
    events: int
    position: int


class Rebuilder:
    def __init__(
        self, recorder: Any, mapper: Mapper[Any], page_size: int = 5000
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.view: RoutingView = recorder.view
        self.page_size = page_size

    def rebuild(self, progress: Progress | None = None) -> RebuildReport:
        datastore = self.recorder.datastore
        with datastore.transaction(commit=True) as curs:
            old = self.view.live_version(curs)
            new = max(old, self.view.built_version(curs)) + 1
            self.view.drop_version(curs, new)
            self.view.create_version(curs, new)
            self.view.record_build(curs, new, 0)
        position, folded = 0, 0
        while True:
            head = int(self.recorder.max_notification_id() or 0)
            if progress:
                progress(position, head)
            if head - position <= self.page_size:
                break
            notifications = self.recorder.select_notifications(
                position, self.page_size, inclusive_of_start=False
            )
            with self.recorder.bulk_transaction() as curs:
                self._fold(curs, new, notifications)
                position = notifications[-1].id
                self.view.record_build(curs, new, position)
            folded += len(notifications)
        with self.recorder.appends_locked() as curs:
            rest = self.recorder.select_after(curs, position)
            self._fold(curs, new, rest)
            if rest:
                position = int(rest[-1].id)
            self.view.record_build(curs, new, position)
            self.view.set_live_version(curs, new)
        folded += len(rest)
        if progress:
            progress(position, position)
        self._drop(old)
        return RebuildReport(old, new, folded, position)

    def _drop(self, version: int) -> None:
        """Drop a version no longer live, once its last readers let go of it."""
        for attempt in range(DROP_ATTEMPTS):
            try:
                with self.recorder.datastore.transaction(commit=True) as curs:
                    self.view.drop_version(curs, version)
                return
            except OperationalError:
                time.sleep(0.05 * (attempt + 1))  # back off: readers finish
        log.warning("routing view v%s left in place: still in use", version)

    def _fold(self, curs: Any, version: int, notifications: Any) -> None:
        events = ((self.mapper.to_domain_event(n), int(n.id)) for n in notifications)
        self.view.apply_to(curs, version, events, batched=True)
