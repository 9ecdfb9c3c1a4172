"""An import's chunk checked: which of its notes, users and contacts are new,
which are duplicates, which are refused, and the events the new ones append.

Nothing here writes. The aggregates a chunk still being appended will record
(`in_flight`) count as recorded, so the next chunk can be checked meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from smsledger.api.lines import NOTE_TYPES, Line, Rejected
from smsledger.domain.errors import DomainError
from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.import_notes import NoteEncoder, check_notes, rejected
from smsledger.ledger.import_people import Histories, aggregate_id, new_person


@dataclass
class Chunk:
    """What a chunk appends, and what each of its lines came to."""

    events: list[Any] = field(default_factory=list)  # in the file's order
    stored: list[StoredEvent] = field(default_factory=list)
    # Each new aggregate's id: a note's with its details, a person's with None.
    made: dict[UUID, dict[str, Any] | None] = field(default_factory=dict)
    outcomes: list[tuple[int, str | Rejected]] = field(default_factory=list)
    # Changes to users and contacts recorded, or made above: by their verbs,
    # once the chunk is appended.
    later: list[Line] = field(default_factory=list)


class ChunkChecker:
    """Checks chunks of one import's bulk lines against the ledger."""

    def __init__(self, ledger: Ledger, histories: Histories) -> None:
        self.ledger = ledger
        self.histories = histories
        self.encoder = NoteEncoder(ledger.mapper)
        # Users and contacts defined by lines not yet appended: notes and
        # contacts may name them.
        self.users: set[str] = set()
        self.contacts: set[str] = set()

    def check(
        self,
        ctx: AccountContext,
        lines: list[Line],
        in_flight: dict[UUID, dict[str, Any] | None],
    ) -> Chunk:
        chunk = Chunk()
        made: list[tuple[int, Any]] = []  # (line number, event)
        people = [line for line in lines if line.type not in NOTE_TYPES]
        notes = [line for line in lines if line.type in NOTE_TYPES]
        keys = [aggregate_id(ctx, line) for line in people]
        recorded = self._recorded(keys, in_flight)
        owners = self._known_users(
            ctx, [line.body.owner_user_id for line in people if line.type == "contact"]
        )
        for line, key in zip(people, keys, strict=True):
            if key in recorded or key in chunk.made:
                chunk.later.append(line)
                continue
            try:
                person = new_person(ctx, line, owners, self.users, self.contacts)
            except DomainError as error:
                chunk.outcomes.append((line.number, rejected(line, error)))
                continue
            chunk.made[key] = None
            self.histories.made(key, person)
            made.extend((line.number, e) for e in person.collect_events())
            chunk.outcomes.append((line.number, "accepted"))
        checked = check_notes(self.ledger.view, ctx, notes, self.users, self.contacts)
        ids = [e.originator_id for e in checked if not isinstance(e, Rejected)]
        recorded.update(self._recorded(ids, in_flight))
        for line, event in zip(notes, checked, strict=True):
            if isinstance(event, Rejected):
                chunk.outcomes.append((line.number, event))
                continue
            key = event.originator_id
            details = event.details()
            twin = recorded[key] if key in recorded else chunk.made.get(key, False)
            if twin is False:
                chunk.made[key] = details
                made.append((line.number, event))
                chunk.outcomes.append((line.number, "accepted"))
            elif twin == details:
                chunk.outcomes.append((line.number, "duplicate"))
            else:
                chunk.outcomes.append(
                    (
                        line.number,
                        Rejected(
                            line.number,
                            "interaction_id",
                            f"{event.interaction_id!r} was recorded with other content",
                        ),
                    )
                )
        # In the file's order: contacts register in it, and ties go by it.
        made.sort(key=lambda pair: pair[0])
        to_stored = self.ledger.mapper.to_stored_event
        for _, event in made:
            chunk.events.append(event)
            noted = chunk.made.get(event.originator_id) is not None
            chunk.stored.append(
                self.encoder.encode(event) if noted else to_stored(event)
            )
        return chunk

    def _recorded(
        self, ids: list[UUID], in_flight: dict[UUID, dict[str, Any] | None]
    ) -> dict[UUID, dict[str, Any] | None]:
        """Those of `ids` recorded or being appended: a note with its
        details, a user or contact with None."""
        if not ids:
            return {}
        found = {key: in_flight[key] for key in ids if key in in_flight}
        for row in self.ledger.backend.select_first_events(ids):
            event: Any = self.ledger.mapper.to_domain_event(
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=1,
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
            )
            aggregate = event.mutate(None)
            found[event.originator_id] = getattr(aggregate, "details", None)
        return found

    def _known_users(self, ctx: AccountContext, user_ids: list[str | None]) -> set[str]:
        wanted = sorted({u for u in user_ids if u is not None} - self.users)
        if not wanted:
            return set(self.users)
        view = self.ledger.view
        queries = [(view.SELECT_USER, (ctx.account_id, u)) for u in wanted]
        _, results = view.read(queries)
        return self.users | {u for u, rows in zip(wanted, results, strict=True) if rows}
