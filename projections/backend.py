"""What the ledger needs from a backend: a recorder, and the view it folds."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import Notification

from smsledger.projections.persistence import RoutingView

# A stored event as a rebuild or an export reads it.
Row = tuple[int, str, bytes, Any, int]  # position, topic, state, id, version


@runtime_checkable
class LedgerRecorder(Protocol):
    """The recorder of each backend (`projections/sqlite.py`, `postgres.py`):
    the library's application recorder, folding its view as it appends."""

    view: RoutingView
    datastore: Any
    # Whether a rebuild sends its pages set-wise (`projections/setwise.py`).
    setwise_rebuild: bool

    def max_notification_id(self) -> int | None: ...

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]: ...

    def stored_rows(
        self,
        after: int,
        upto: int,
        mentioning: UUID | None = None,
        skipping: Sequence[str] = (),
    ) -> Generator[Row, None, None]:
        """The stored events after `after` up to `upto`, in ledger order; with
        `mentioning`, at least those of that aggregate or naming it (a filter
        the caller refines); none of the topics `skipping`."""
        ...

    def select_positions(self, positions: Sequence[int]) -> list[Any]: ...

    def select_first_events(self, ids: Sequence[UUID]) -> list[Any]: ...

    def positions_of(
        self, aggregate_ids: Sequence[UUID], topics: Sequence[str], upto: int
    ) -> list[int]: ...

    def position_of(self, aggregate_id: UUID) -> int | None: ...

    def select_topic(self, curs: Any, topic: str) -> list[Any]: ...

    def rewrite_state(
        self, curs: Any, originator_id: Any, originator_version: int, state: bytes
    ) -> None: ...

    def appends_locked(self) -> AbstractContextManager[Any]: ...

    def bulk_transaction(self) -> AbstractContextManager[Any]: ...

    def select_after(self, curs: Any, position: int) -> list[Notification]: ...

    def due_notices(self, stop: threading.Event) -> Iterator[None] | None:
        """Each time another process's append gave delivery something to
        send, until `stop`; None where the backend cannot tell."""
        ...


def ledger_recorder(recorder: object) -> LedgerRecorder:
    """`recorder` as the ledger uses it; a TypeError if it is not one of ours."""
    if not isinstance(recorder, LedgerRecorder):
        raise TypeError(f"{type(recorder).__name__} is not a ledger recorder")
    return recorder
