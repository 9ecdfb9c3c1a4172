"""Bulk import: the lines of a file carried out as the API would, many at once.

Notes, and users and contacts seen for the first time, are most of any
history: they are checked by the ledger's own verbs (`prepare_note`) and
checks, their reads made as one statement per chunk, and their events
appended in one large transaction per chunk (the fold set-wise, as a batch of
the hot routes is). Everything else (a change to a user or contact already
recorded, a number, the account's settings, an inbound SMS) is carried out by
the same verb the API calls, in its place in the file.

Ids make a line's aggregate: a line whose aggregate is recorded already is a
duplicate (or, if it says something else, rejected), so a re-run, or a run
resumed after a crash, records nothing twice. A chunk is appended whole or
not at all, and a line is never half-applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

from smsledger.api.lines import NOTE_TYPES, Line, Rejected
from smsledger.domain.contacts import Contact
from smsledger.domain.errors import DomainError, InvalidInput, NotFound
from smsledger.domain.inbound import MAX_REFUSALS
from smsledger.domain.interactions import Interaction
from smsledger.domain.numbers import InboundNumber
from smsledger.domain.users import User
from smsledger.domain.values import parse_email, parse_phone
from smsledger.ledger import audit
from smsledger.ledger.application import AccountContext, Ledger, Prepared
from smsledger.ledger.mail import mail_id
from smsledger.projections.persistence import Reads

CHUNK = 2000  # lines a bulk transaction carries: bigger holds the append lock longer
BULK_TYPES = {"user", "contact", *NOTE_TYPES}


@dataclass
class ImportReport:
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    derived: int = 0  # events the import made itself from an earlier line
    rejected: list[Rejected] = field(default_factory=list)
    # Inbound SMS routed here otherwise than the file says the source did.
    redecided: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "derived": self.derived,
            "rejected": [r.as_dict() for r in self.rejected],
            "redecided": self.redecided,
        }


class Importer:
    """Carries out the lines of one file into one account."""

    def __init__(
        self,
        ledger: Ledger,
        ctx: AccountContext,
        *,
        dry_run: bool = False,
        chunk: int = CHUNK,
    ) -> None:
        self.ledger = ledger
        # The caller's key was checked already; the note reads need not again.
        self.ctx = replace(ctx, key_hash=None)
        self.dry_run = dry_run
        self.chunk = chunk
        self.report = ImportReport()
        self.pending: list[Line] = []
        # Users and contacts defined by lines not yet appended (in a dry run,
        # never): notes may name them.
        self.users: set[str] = set()
        self.contacts: set[str] = set()
        # Per user or contact this run touched: the states its history went
        # through, and which of them the file has reached (see `_restated`).
        self.histories: dict[UUID, list[Any]] = {}

    def run(
        self,
        lines: Iterable[Line | Rejected],
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        for item in lines:
            self.report.lines += 1
            if isinstance(item, Rejected):
                self.report.rejected.append(item)
            elif item.type in BULK_TYPES:
                self.pending.append(item)
                if len(self.pending) >= self.chunk:
                    self.flush()
            else:
                self.flush()
                self._one(item)
            if progress and self.report.lines % 1000 == 0:
                progress(self.report.lines)
        self.flush()
        if progress:
            progress(self.report.lines)
        self.report.rejected.sort(key=lambda r: r.line)
        return self.report

    # The bulk path.

    def flush(self) -> None:
        """Append the pending lines' new aggregates in one transaction, then
        carry out their changes to recorded ones."""
        lines, self.pending = self.pending, []
        if not lines:
            return
        for tries_left in (2, 1, 0):
            try:
                self._flush(lines)
                break
            except IntegrityError:
                # Another writer recorded one of them meanwhile: check again.
                if not tries_left:
                    raise
        if not self.dry_run:
            self.users.clear()
            self.contacts.clear()

    def _flush(self, lines: list[Line]) -> None:
        notes = [line for line in lines if line.type in NOTE_TYPES]
        people = [line for line in lines if line.type not in NOTE_TYPES]
        keys = [_aggregate_id(self.ctx, line) for line in people]
        recorded = self._recorded(keys)
        made: dict[UUID, Any] = {}  # new aggregates
        order: dict[UUID, int] = {}  # and the line each comes from
        later: list[Line] = []  # changes to aggregates recorded or made above
        outcomes: dict[int, str | Rejected] = {}
        owners = self._known_users(
            [line.body.owner_user_id for line in people if line.type == "contact"]
        )
        for line, key in zip(people, keys, strict=True):
            if key in recorded or key in made:
                later.append(line)
            else:
                try:
                    made[key] = self._new(line, owners)
                    order[key] = line.number
                    self.histories[key] = [[_state(made[key])], 0]
                    outcomes[line.number] = "accepted"
                except DomainError as error:
                    outcomes[line.number] = _rejected(line, error)
        prepared = self._prepare_notes(notes)
        # A note's id is its aggregate's, made by `prepare_note`.
        recorded.update(
            self._recorded(
                [p.aggregate.id for p in prepared if not isinstance(p, Rejected)]
            )
        )
        for line, outcome in zip(notes, prepared, strict=True):
            if isinstance(outcome, Rejected):
                outcomes[line.number] = outcome
                continue
            note = outcome.aggregate
            key = note.id
            twin = recorded.get(key) or made.get(key)
            if twin is None:
                made[key] = note
                order[key] = line.number
                outcomes[line.number] = "accepted"
            elif twin.details == note.details:
                outcomes[line.number] = "duplicate"
            else:
                outcomes[line.number] = Rejected(
                    line.number,
                    "interaction_id",
                    f"{note.interaction_id!r} was recorded with other content",
                )
        if made and not self.dry_run:
            # In the file's order: contacts register in it, and ties go by it.
            self.ledger.append_bulk(sorted(made.values(), key=lambda a: order[a.id]))
        for line_number, said in outcomes.items():
            self._count(line_number, said)
        for line in later:
            self._one(line)

    def _recorded(self, ids: list[UUID]) -> dict[UUID, Any]:
        """The aggregates among `ids` that are recorded, as of their first event."""
        if not ids:
            return {}
        rows = self.ledger.backend.select_first_events(ids)
        found = {}
        for row in rows:
            # The library types events by protocol; ours are aggregate events.
            event: Any = self.ledger.mapper.to_domain_event(
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=1,
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
            )
            found[event.originator_id] = event.mutate(None)
        return found

    def _known_users(self, user_ids: list[str | None]) -> set[str]:
        wanted = sorted({u for u in user_ids if u is not None} - self.users)
        if not wanted:
            return set(self.users)
        account_id = self.ctx.account_id
        queries = [(self.ledger.view.SELECT_USER, (account_id, u)) for u in wanted]
        _, results = self.ledger.view.read(queries)
        return self.users | {u for u, rows in zip(wanted, results, strict=True) if rows}

    def _new(self, line: Line, owners: set[str]) -> Any:
        """A user or contact met for the first time, checked as its verb does."""
        body, account_id = line.body, self.ctx.account_id
        if line.type == "user":
            email = parse_email(body.email, "email")
            self.users.add(body.user_id)
            return User(account_id, body.user_id, email, body.name, body.active)
        region = self.ctx.default_region
        parsed = [
            parse_phone(raw, region, f"phones[{i}]")
            for i, raw in enumerate(body.phones)
        ]
        owner = body.owner_user_id
        if owner is not None and owner not in owners and owner not in self.users:
            raise InvalidInput("owner_user_id", f"no user {owner!r}")
        self.contacts.add(body.contact_id)
        phones = list(dict.fromkeys(parsed))
        return Contact(account_id, body.contact_id, body.name, phones, owner)

    def _prepare_notes(self, lines: list[Line]) -> list[Prepared | Rejected]:
        """Each note prepared by `prepare_note`, their reads as one statement."""
        outcomes: list[Prepared | Rejected] = []
        steps: dict[int, tuple[Reads[Prepared], list[Any]]] = {}
        for i, line in enumerate(lines):
            outcomes.append(Rejected(line.number, "", "not prepared"))
            self._step(i, line, self._note(line), None, steps, outcomes)
        while steps:
            current, steps = steps, {}
            queries = [q for _, wanted in current.values() for q in wanted]
            state, results = self.ledger.view.read(queries)
            for i, (reads, wanted) in current.items():
                found = self._overlay(wanted, results[: len(wanted)])
                results = results[len(wanted) :]
                self._step(i, lines[i], reads, (state, found), steps, outcomes)
        return outcomes

    def _note(self, line: Line) -> Reads[Prepared]:
        body = line.body
        own = {"user_id": getattr(body, "user_id", None)}
        if line.type == "campaign_sms":
            own = {"reply": body.reply}
        return self.ledger.prepare_note(
            self.ctx,
            line.type,
            contact_id=body.contact_id,
            to=body.to,
            from_number=body.sent_from,
            interaction_id=body.interaction_id,
            occurred_at=body.occurred_at,
            body=getattr(body, "body", None),
            **own,
        )

    @staticmethod
    def _step(
        i: int,
        line: Line,
        reads: Reads[Prepared],
        sent: Any,
        steps: dict[int, tuple[Reads[Prepared], list[Any]]],
        outcomes: list[Prepared | Rejected],
    ) -> None:
        try:
            steps[i] = (reads, reads.send(sent))
        except StopIteration as stop:
            outcomes[i] = stop.value
        except DomainError as error:
            outcomes[i] = _rejected(line, error)

    def _overlay(self, wanted: list[Any], results: list[Any]) -> list[Any]:
        """What a note's reads found, counting users and contacts defined by
        lines not yet appended as there."""
        if not (self.users or self.contacts):
            return results
        out = []
        for (statement, params), rows in zip(wanted, results, strict=True):
            if statement == self.ledger.view.SELECT_NOTE_REFERENCES:
                row = dict(rows[0])
                row["has_user"] = row["has_user"] or params[1] in self.users
                row["has_contact"] = row["has_contact"] or params[3] in self.contacts
                rows = [row]
            out.append(rows)
        return out

    # One line at a time, by the API's verbs.

    def _one(self, line: Line) -> None:
        if self.dry_run:
            self._count(line.number, "accepted")
            return
        head = self.ledger.head()
        try:
            outcome = self._carry_out(line)
        except DomainError as error:
            self._count(line.number, _rejected(line, error))
            return
        if outcome is None:
            outcome = "accepted" if self.ledger.head() != head else "duplicate"
        self._count(line.number, outcome)

    def _carry_out(self, line: Line) -> str | None:
        ledger, ctx, body = self.ledger, self.ctx, line.body
        if line.type in ("user", "contact") and self._restated(line):
            return "duplicate"
        if line.type == "user":
            saved = ledger.put_user(
                ctx, body.user_id, body.email, body.name, body.active
            )
        elif line.type == "contact":
            saved = ledger.put_contact(
                ctx, body.contact_id, body.phones, body.name, body.owner_user_id
            )
        if line.type in ("user", "contact"):
            history = self.histories[_aggregate_id(ctx, line)]
            history[0].append(_plain_state(line.type, saved.value))
            history[1] = len(history[0]) - 1
            return None
        if line.type == "number":
            ledger.put_number(ctx, body.number, body.backup_email, body.label)
        elif line.type == "number_released":
            return self._release(body.number)
        elif line.type == "account":
            changes = body.model_dump(exclude_none=True)
            ledger.change_account(ctx.account_id, **changes)
            self.ctx = ledger.context(ctx.account_id)
        elif line.type == "inbound_sms":
            return self._inbound(line)
        elif line.type == "handoff":
            saved = ledger.hand_off(
                ctx, body.message_id, to_user_id=body.to_user_id,
                by_user_id=body.by_user_id, note=body.note,
                handoff_id=body.handoff_id, now=body.at, mailed=True,
            )  # fmt: skip
            return "accepted" if saved.created else "duplicate"
        elif line.type == "reply":
            saved = ledger.record_sent_reply(
                ctx, body.message_id, reply_id=body.reply_id, user_id=body.user_id,
                body=body.body, provider_id=body.provider_id, sent_at=body.sent_at,
            )  # fmt: skip
            return "accepted" if saved.created else "duplicate"
        else:
            return "derived"
        return None

    def _restated(self, line: Line) -> bool:
        """Whether a user or contact line says the state its history is at, or
        the next one it went through: a line a run before this one carried out.

        Lines of one id are states, in order; matching them against the states
        recorded lets a re-run pass over those it recorded, and only those.
        """
        key = _aggregate_id(self.ctx, line)
        history = self.histories.get(key)
        if history is None:
            events: Iterable[Any] = self.ledger.repository.event_store.get(key)
            states, aggregate = [], None
            for event in events:
                aggregate = event.mutate(aggregate)
                states.append(_state(aggregate))
            history = self.histories[key] = [states, 0]
        states, at = history
        wanted = self._line_state(line)
        if at < len(states) and states[at] == wanted:
            return True
        if at + 1 < len(states) and states[at + 1] == wanted:
            history[1] = at + 1
            return True
        return False

    def _line_state(self, line: Line) -> Any:
        body = line.body
        if line.type == "user":
            return (parse_email(body.email, "email"), body.name, body.active)
        region = self.ctx.default_region
        phones = [
            parse_phone(raw, region, f"phones[{i}]")
            for i, raw in enumerate(body.phones)
        ]
        return (body.name, list(dict.fromkeys(phones)), body.owner_user_id)

    def _release(self, number: str) -> str | None:
        try:
            self.ledger.delete_number(self.ctx, number)
        except NotFound:
            inbound = self.ledger._find(
                InboundNumber, InboundNumber.create_id(_e164(self.ctx, number))
            )
            if inbound is None or inbound.account_id is not None:
                raise
            return "duplicate"  # released already
        return None

    def _inbound(self, line: Line) -> str:
        """Route an inbound SMS where it falls in the history, carrying over
        its mail's outcome in the same transaction, so none is sent again."""
        body, ledger = line.body, self.ledger
        prepared = ledger.view.run_reads(
            ledger.prepare_route(
                self.ctx, body.sender, body.to, body.body, body.message_id,
                body.received_at,
            )
        )  # fmt: skip
        inbound = prepared.aggregate
        delivery = body.delivery or (body.decision or {}).get("delivery")
        status = getattr(delivery, "email", None) or (delivery or {}).get("email")
        if inbound.delivery == "pending" and status == "sent":
            inbound.record_delivered(mail_id(self.ctx.account_id, body.message_id))
        elif inbound.delivery == "pending" and status == "failed":
            error = getattr(delivery, "error", None) or "failed in the source ledger"
            for _ in range(MAX_REFUSALS):
                inbound.record_failed_attempt(True, error, datetime.now(UTC))
        saved = ledger.carry_out(prepared)
        if body.decision and audit.decided(saved.value) != audit.decided(body.decision):
            self.report.redecided.append(line.number)
        return "accepted" if saved.created else "duplicate"

    def _count(self, line_number: int, outcome: str | Rejected) -> None:
        if isinstance(outcome, Rejected):
            self.report.rejected.append(outcome)
        elif outcome == "accepted":
            self.report.accepted += 1
        elif outcome == "duplicate":
            self.report.duplicates += 1
        else:
            self.report.derived += 1


def _aggregate_id(ctx: AccountContext, line: Line) -> UUID:
    body = line.body
    if line.type == "user":
        return User.create_id(ctx.account_id, body.user_id)
    if line.type == "contact":
        return Contact.create_id(ctx.account_id, body.contact_id)
    return Interaction.id_for(ctx.account_id, body.interaction_id)


def _state(aggregate: Any) -> Any:
    """A user's or contact's state, as `_line_state` says it."""
    if isinstance(aggregate, User):
        return (aggregate.email, aggregate.name, aggregate.active)
    return (aggregate.name, list(aggregate.phones), aggregate.owner_user_id)


def _plain_state(kind: str, value: dict[str, Any]) -> Any:
    if kind == "user":
        return (value["email"], value["name"], value["active"])
    return (value["name"], value["phones"], value["owner_user_id"])


def _e164(ctx: AccountContext, number: str) -> str:
    return parse_phone(number, ctx.default_region, "number")


def _rejected(line: Line, error: DomainError) -> Rejected:
    if isinstance(error, InvalidInput):
        return Rejected(line.number, error.field, error.message)
    return Rejected(line.number, "", str(error))
