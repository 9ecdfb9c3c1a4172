"""The ledger application: each public method is one use case."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.persistence import IntegrityError, Recording, StoredEvent

from domain.accounts import (
    DEFAULT_KEY_NAME,
    POLICIES,
    SECRET_NAMES,
    Account,
    ApiKey,
    check_policy,
    check_secret,
)
from domain.contacts import Contact
from domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from domain.inbound import InboundSms
from domain.interactions import Interaction
from domain.numbers import InboundNumber
from domain.routing import decide
from domain.users import User
from domain.values import (
    DEFAULT_REGION,
    check_region,
    parse_email,
    parse_phone,
    parse_sender,
)
from ledger import audit, telemetry
from ledger.commit import GroupCommit
from ledger.sealing import Sealer, SecretUnreadable
from ledger.storage import UNAVAILABLE, persistence_env
from projections.browse import Browse, DecisionFilter
from projections.outbox import Outbox
from projections.persistence import (
    Reads,
    RoutingView,
    as_stored,
    from_time_key,
    to_json,
)
from projections.rebuild import Progress, Rebuilder, RebuildReport

API_KEY_PREFIX = "sl_"
# How much of a key is kept to tell keys apart: "sl_" and 7 of its 43 random
# characters, which leaves over 200 bits unknown.
SHOWN_PREFIX = 10
# A key's last use is recorded at most this often per process, so that using
# a key adds no write to each request.
KEY_USE_INTERVAL = 60.0
log = logging.getLogger("smsledger.ledger")
T = TypeVar("T")


def _count_tries(inbound: InboundSms) -> None:
    """Once a mail is sent or has failed for good, how many tries it took."""
    if inbound.delivery != "pending":
        telemetry.MAIL_TRIES_PER_MAIL.labels(inbound.delivery).observe(
            inbound.delivery_attempts
        )


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class AccountContext:
    """Who is asking: the account a request acts for, and its settings."""

    account_id: str
    default_region: str
    routing_policy: str
    enhanced_inbound: bool
    # The hash of the API key the request came with; None for a request no
    # key made (a signed webhook, a command of the operator).
    key_hash: str | None = None


@dataclass(frozen=True)
class Saved:
    """An outcome and whether this request created it (201) or found it (200)."""

    value: dict[str, Any]
    created: bool


@dataclass(frozen=True)
class Prepared:
    """A command checked and decided, its events not yet appended.

    `done` answers once they are, given the position of the last; `repeated`
    answers if the append conflicted: the command had been carried out before.
    """

    aggregate: Any
    done: Callable[[int], Saved]
    repeated: Callable[[], Saved]

    def answer(self, appended: Sequence[Recording[UUID]] | BaseException) -> Saved:
        """The answer, given the events' recordings or why they were not made."""
        if isinstance(appended, IntegrityError):
            return self.repeated()
        if isinstance(appended, BaseException):
            raise appended
        return self.done(int(appended[-1].notification.id))


class Ledger(Application[UUID]):
    name = "Ledger"

    def __init__(
        self,
        database_url: str,
        sealer: Sealer | None = None,
        *,
        standby: bool = False,
    ) -> None:
        """`standby`: a hot standby's copy, read only: nothing is created there."""
        env = persistence_env(database_url)
        if standby:
            env["CREATE_TABLE"] = "no"
        super().__init__(env=env)
        self.view: RoutingView = self.recorder.view  # type: ignore[attr-defined]
        self.commits = GroupCommit(lambda events: self.save(*events))
        self.outbox = Outbox(self.view)
        self._sealer = sealer
        self.browse = Browse(self.view)
        # A key once seen names its account until it is revoked; the hot
        # commands check it is still live in their own read (`known_account`).
        self._key_accounts: dict[str, str] = {}
        self._key_used: dict[str, float] = {}  # when this process last recorded
        self._settings: dict[str, AccountContext] = {}
        # Called after a decision is routed here, so that delivery and alert
        # streams in this process need not wait for their next poll.
        self.on_routed: list[Callable[[], None]] = []

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        # The view is folded in the transaction that appends the events.
        processing_event.saved_kwargs["events_to_fold"] = processing_event.events
        recordings = super()._record(processing_event)
        names = {type(e).__qualname__ for e in processing_event.events}
        if "InboundSms.Routed" in names:
            for listener in list(self.on_routed):
                try:
                    listener()
                except Exception:  # the events are recorded whatever it does
                    log.exception("on_routed listener failed")
        return recordings

    def _save(self, *aggregates: Any) -> int:
        """Append the aggregates' new events durably; the last one's position."""
        events = [e for aggregate in aggregates for e in aggregate.collect_events()]
        if not events:
            return self.head()
        recordings = self.commits.append(events)
        return int(recordings[-1].notification.id)

    def append_bulk(self, aggregates: Sequence[Any]) -> None:
        """Append new aggregates' events in one transaction, their fold
        written set-wise: an import's chunk (as `save`, for less CPU)."""
        events = [e for aggregate in aggregates for e in aggregate.collect_events()]
        self.events.put(events, events_to_fold=events, bulk=True)

    def head(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    # Accounts.

    @property
    def sealer(self) -> Sealer:
        if self._sealer is None:
            raise RuntimeError("no secret key: provider secrets cannot be sealed")
        return self._sealer

    def open_account(
        self,
        name: str,
        default_region: str = DEFAULT_REGION,
        routing_policy: str = "sms_then_call",
        enhanced_inbound: bool = False,
        *,
        remember: Callable[[str], Any] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """Open an account with a key named "default", returned here and never
        again.

        `remember`, given the account's id, makes an aggregate appended with it
        (an idempotency key): if that one was appended before, IntegrityError."""
        account = Account(
            name=_required_text(name, "name"),
            default_region=check_region(default_region),
            routing_policy=check_policy(routing_policy),
            enhanced_inbound=enhanced_inbound,
        )
        api_key, _ = _issue_key(account, DEFAULT_KEY_NAME, "admin")
        self._save(account, *([remember(account.account_id)] if remember else []))
        return account.settings(), api_key

    def authenticate(self, api_key: str) -> AccountContext | None:
        key_hash = hash_key(api_key)
        row = self.view.account_by_key_hash(key_hash)
        if row is None or not hmac.compare_digest(row["key_hash"], key_hash):
            return None
        self._key_accounts[key_hash] = row["account_id"]
        self._record_use(key_hash)
        return replace(self._seen(row), key_hash=key_hash)

    def known_account(self, api_key: str) -> AccountContext | None:
        """The account of a key authenticated before, without a query.

        Its settings are as last read, maybe by another request, and the key
        may have been revoked since: only verbs that read both again in their
        own snapshot (recording a note, routing) may be given it. None once a
        minute, too, so that `authenticate` records the key's use.
        """
        key_hash = hash_key(api_key)
        account_id = self._key_accounts.get(key_hash)
        ctx = self._settings.get(account_id) if account_id else None
        if ctx is None or self._use_due(key_hash):
            return None
        return replace(ctx, key_hash=key_hash)

    def _use_due(self, key_hash: str) -> bool:
        last = self._key_used.get(key_hash)
        return last is None or time.monotonic() - last >= KEY_USE_INTERVAL

    def _record_use(self, key_hash: str) -> None:
        """Record when a key was last used, at most once a minute per process."""
        if not self._use_due(key_hash):
            return
        self._key_used[key_hash] = time.monotonic()
        try:
            self.view.record_key_use(key_hash, datetime.now(UTC))
        except Exception:  # a missed record must not refuse the request
            log.exception("could not record the use of an API key")

    def _forget_key(self, key_hash: str | None) -> None:
        """A key found revoked: this process no longer knows it."""
        if key_hash is not None:
            self._key_accounts.pop(key_hash, None)

    def _live_key(self, ctx: AccountContext, live: bool) -> None:
        if not live:
            self._forget_key(ctx.key_hash)
            raise Unauthenticated("The API key is not valid.")

    # API keys.

    def create_api_key(
        self, account_id: str, name: str, issued_by: str = "account"
    ) -> dict[str, Any]:
        """A new key for the account; the key is in the answer, and only there."""
        for tries_left in (1, 0):
            account = self._account(account_id)
            api_key, key = _issue_key(account, name, issued_by)
            try:
                self._save(account)
            except IntegrityError:  # the account changed meanwhile
                if tries_left:
                    continue
                raise Conflict("The account changed meanwhile: try again.") from None
            return {
                "key_id": key.key_id,
                "name": key.name,
                "prefix": key.prefix,
                "created_at": account.modified_on,
                "api_key": api_key,
            }
        raise AssertionError("unreachable")

    def api_keys(self, account_id: str) -> list[dict[str, Any]]:
        """The account's live keys, oldest first; never the keys themselves."""
        return [
            {
                **row,
                "created_at": from_time_key(row["created_at"]),
                "last_used_at": row["last_used_at"]
                and from_time_key(row["last_used_at"]),
            }
            for row in self.view.api_keys(account_id)
        ]

    def revoke_api_key(self, account_id: str, key_id: str) -> None:
        """Revoke a key: every process refuses it from the moment this returns."""
        for tries_left in (1, 0):
            account = self._account(account_id)
            key = account.keys.get(key_id)
            account.revoke_key(key_id)
            try:
                self._save(account)
            except IntegrityError:
                if tries_left:
                    continue
                raise Conflict("The account changed meanwhile: try again.") from None
            assert key is not None
            self._forget_key(key.key_hash)
            return

    def _account(self, account_id: str) -> Account:
        try:
            aggregate_id = UUID(account_id)
        except ValueError:
            raise NotFound(f"no account {account_id!r}") from None
        account = self._find(Account, aggregate_id)
        if not isinstance(account, Account):
            raise NotFound(f"no account {account_id!r}")
        return account

    def _seen(self, row: dict[str, Any]) -> AccountContext:
        ctx = _context(row)
        self._settings[ctx.account_id] = ctx
        return ctx

    def context(self, account_id: str) -> AccountContext:
        row = self.view.account(account_id)
        if row is None:
            raise NotFound("no such account")
        return _context(row)

    def account_settings(self, account_id: str) -> dict[str, Any]:
        account: Account = self.repository.get(UUID(account_id))
        return account.settings()

    def twilio_auth_token(self, account_id: str) -> str | None:
        """The account's Twilio auth token, opened; None if it has none, or
        if it cannot be opened with the keys given (which is logged)."""
        sealed = self.view.secret(account_id, "twilio_auth_token")
        if sealed is None:
            return None
        try:
            return self.sealer.open(sealed)
        except SecretUnreadable as error:
            log.error("Twilio auth token of account %s: %s", account_id, error)
            return None

    def change_account(self, account_id: str, **changes: Any) -> dict[str, Any]:
        """Change the settings given; provider secrets among them are sealed."""
        checks: dict[str, Callable[[Any], Any]] = {
            "name": lambda v: _required_text(v, "name"),
            "default_region": check_region,
            "routing_policy": check_policy,
            "enhanced_inbound": bool,
        }
        given = {
            k: check_secret(k, changes.pop(k)) for k in SECRET_NAMES if k in changes
        }
        checked = {k: checks[k](v) for k, v in changes.items()}
        account: Account = self.repository.get(UUID(account_id))
        differing = {k: v for k, v in checked.items() if getattr(account, k) != v}
        sealed = {
            name: self.sealer.seal(value)
            for name, value in given.items()
            if self._opened(account.sealed.get(name)) != value
        }
        if differing:
            account.change_settings(differing)
        account.change_secrets(sealed)
        if differing or sealed:
            self._save(account)
        return account.settings()

    def reseal_secrets(self, account_id: str) -> int:
        """Reseal with the current key the account's secrets sealed with an
        older one; how many. Raises SecretUnreadable if no key opens one."""
        for tries_left in (1, 0):
            account = self._account(account_id)
            stale = {
                name: self.sealer.reseal(sealed)
                for name, sealed in account.sealed.items()
                if not self.sealer.is_current(sealed)
            }
            account.reseal(stale)
            try:
                self._save(account)
            except IntegrityError:
                if tries_left:
                    continue
                raise
            return len(stale)
        raise AssertionError("unreachable")

    def _opened(self, sealed: str | None) -> str | None:
        """A sealed value opened; None if there is none or it cannot be."""
        if sealed is None:
            return None
        try:
            return self.sealer.open(sealed)
        except SecretUnreadable:
            return None

    # Users.

    def put_user(
        self,
        ctx: AccountContext,
        user_id: str,
        email: str,
        name: str | None = None,
        active: bool = True,
    ) -> Saved:
        user_id = _required_text(user_id, "user_id")
        email = parse_email(email, "email")
        user = self._find(User, User.create_id(ctx.account_id, user_id))
        if user is None:
            user = User(ctx.account_id, user_id, email, name, active)
            return self._create(user, lambda: self.get_user(ctx, user_id))
        if user.differs(email, name, active):
            user.update(email, name, active)
            self._save(user)
        return Saved(user.as_dict(), created=False)

    def get_user(self, ctx: AccountContext, user_id: str) -> dict[str, Any]:
        user = self._find(User, User.create_id(ctx.account_id, user_id))
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return user.as_dict()

    # Contacts.

    def put_contact(
        self,
        ctx: AccountContext,
        contact_id: str,
        phones: list[str],
        name: str | None = None,
        owner_user_id: str | None = None,
    ) -> Saved:
        contact_id = _required_text(contact_id, "contact_id")
        parsed = [
            parse_phone(raw, ctx.default_region, f"phones[{i}]")
            for i, raw in enumerate(phones)
        ]
        phones = list(dict.fromkeys(parsed))
        if owner_user_id is not None and not self.view.user(
            ctx.account_id, owner_user_id
        ):
            raise InvalidInput("owner_user_id", f"no user {owner_user_id!r}")
        contact = self._find(Contact, Contact.create_id(ctx.account_id, contact_id))
        if contact is None:
            contact = Contact(ctx.account_id, contact_id, name, phones, owner_user_id)
            return self._create(contact, lambda: self.get_contact(ctx, contact_id))
        contact.revise(name, phones, owner_user_id)
        self._save(contact)
        return Saved(contact.as_dict(), created=False)

    def get_contact(self, ctx: AccountContext, contact_id: str) -> dict[str, Any]:
        contact = self._find(Contact, Contact.create_id(ctx.account_id, contact_id))
        if contact is None:
            raise NotFound(f"no contact {contact_id!r}")
        return contact.as_dict()

    def contact_history(
        self, ctx: AccountContext, contact_id: str
    ) -> list[dict[str, Any]]:
        """The contact's own events, the notes recorded to it, and the inbound
        messages routed by it with their decisions, oldest first."""
        self.get_contact(ctx, contact_id)
        positions = self.view.positions(ctx.account_id, f"contact:{contact_id}")
        decided = self.view.positions(ctx.account_id, f"decision:{contact_id}")
        positions = sorted({*positions, *decided, *self._received(decided)})
        return [
            {
                "type": type(event).__qualname__,
                "position": position,
                "recorded_at": event.timestamp,
                "data": _event_data(event),
            }
            for position, event in self.events_at(positions)
        ]

    def _received(self, decided: list[int]) -> list[int]:
        """Where the messages of these decisions were received: each is its
        aggregate's first event."""
        found = []
        for _, event in self.events_at(decided):
            first = self.recorder.position_of(event.originator_id)  # type: ignore[attr-defined]
            if first is not None:
                found.append(int(first))
        return found

    def events_at(self, positions: list[int]) -> list[tuple[int, Any]]:
        if not positions:
            return []
        rows = self.recorder.select_positions(positions)  # type: ignore[attr-defined]
        return [(int(row["position"]), self._decode(row)) for row in rows]

    def _decode(self, row: Any) -> Any:
        return self.mapper.to_domain_event(
            StoredEvent(
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
        )

    def replay_decision(self, ctx: AccountContext, message_id: str) -> dict[str, Any]:
        """Recompute a recorded decision from the ledger as it stood then."""
        recorded = self.get_decision(ctx, message_id)
        replayed = {**recorded, **audit.replay(self, recorded)}
        return {
            "consistent": audit.decided(recorded) == audit.decided(replayed),
            "recorded": recorded,
            "replayed": replayed,
        }

    def what_if(
        self, ctx: AccountContext, policy: str, since: int = 0
    ) -> audit.WhatIfReport:
        """Which of the account's decisions `policy` would have sent elsewhere."""
        if policy not in POLICIES:
            raise InvalidInput("policy", f"must be one of {', '.join(POLICIES)}")
        return audit.account_what_if(self, policy, ctx.account_id, since)

    def projection_status(self) -> list[str]:
        """One line per view: its version, position, the ledger head and the lag."""
        head = self.head()
        lines = []
        with self.view.datastore.transaction(commit=False) as curs:
            live = self.view.live_version(curs)
            builds = self.view.builds(curs)
        lines.append(
            f"routing v{live}: live at position {head}, folded with each append; "
            f"head {head}, lag 0"
        )
        for version, position in builds:
            if version > live:
                lines.append(
                    f"routing v{version}: building at {position}; "
                    f"head {head}, lag {head - position}"
                )
        return lines

    def rebuild_views(
        self, progress: Progress | None = None, page_size: int = 5000
    ) -> RebuildReport:
        """Rebuild the routing view from the ledger and switch routing to it."""
        return Rebuilder(self.recorder, self.mapper, page_size).rebuild(progress)

    def readiness(self) -> list[str]:
        """What keeps the service from routing; empty when it is ready."""
        try:
            return self.view.readiness()
        except UNAVAILABLE:  # logged once, where the outage is noticed
            return ["the database does not answer"]
        except Exception:  # whatever the failure, the database did not answer
            log.exception("readiness check failed")
            return ["the database does not answer"]

    # Inbound numbers.

    def put_number(
        self,
        ctx: AccountContext,
        number: str,
        backup_email: str,
        label: str | None = None,
    ) -> Saved:
        number = parse_phone(number, ctx.default_region, "number")
        backup_email = parse_email(backup_email, "backup_email")
        inbound = self._find(InboundNumber, InboundNumber.create_id(number))
        if inbound is None:
            inbound = InboundNumber(number, ctx.account_id, backup_email, label)
            saved = self._create(inbound, lambda: None)
            if saved.created is False:  # configured by someone at the same moment
                return self.put_number(ctx, number, backup_email, label)
            created = True
        else:
            created = inbound.configure(ctx.account_id, backup_email, label)
            self._save(inbound)
        self.release_held(ctx, number)
        return Saved(inbound.as_dict(), created=created)

    def get_number(self, ctx: AccountContext, number: str) -> dict[str, Any]:
        return self._own_number(ctx, number).as_dict()

    def delete_number(self, ctx: AccountContext, number: str) -> None:
        inbound = self._own_number(ctx, number)
        inbound.release()
        self._save(inbound)

    def _own_number(self, ctx: AccountContext, raw: str) -> InboundNumber:
        number = parse_phone(raw, ctx.default_region, "number")
        inbound = self._find(InboundNumber, InboundNumber.create_id(number))
        if inbound is None or inbound.account_id != ctx.account_id:
            raise NotFound(f"no inbound number {number}")
        return inbound

    # Interactions.

    def record_interaction(self, ctx: AccountContext, kind: str, **note: Any) -> Saved:
        """Record an outbound SMS, campaign SMS or call (see `prepare_note`)."""
        return self.carry_out(self.view.run_reads(self.prepare_note(ctx, kind, **note)))

    def carry_out(self, prepared: Prepared) -> Saved:
        """Append a prepared command's events, and answer."""
        events = prepared.aggregate.collect_events()
        (appended,) = self.commits.append_each([events])
        return prepared.answer(appended)

    def prepare_note(
        self,
        ctx: AccountContext,
        kind: str,
        *,
        contact_id: str,
        to: str,
        from_number: str | None,
        user_id: str | None = None,
        reply: str | None = None,
        interaction_id: str | None = None,
        occurred_at: datetime | None = None,
        body: str | None = None,
    ) -> Reads[Prepared]:
        """Check a note and make its event; one read, nothing appended yet."""
        fields: dict[str, Any] = {
            "interaction_id": interaction_id or f"i-{uuid4().hex}",
            "contact_id": contact_id,
            "body": body,
        }
        if kind == "campaign_sms":
            fields["reply"] = parse_email(reply or "", "reply")
        elif user_id is None:
            raise InvalidInput("user_id", "is required")
        else:
            fields["user_id"] = user_id
        has_user, has_contact, region, live = yield from self.view.note_references(
            ctx.account_id, user_id or "", contact_id, ctx.key_hash
        )
        self._live_key(ctx, live)
        if "user_id" in fields and not has_user:
            raise InvalidInput("user_id", f"no user {user_id!r}")
        if not has_contact:
            raise InvalidInput("contact_id", f"no contact {contact_id!r}")
        if region != ctx.default_region:  # changed since `ctx` was read
            self._settings[ctx.account_id] = replace(
                ctx, default_region=region, key_hash=None
            )
        fields["to"] = parse_phone(to, region, "to")
        sent_from = (
            parse_phone(from_number, region, "from")
            if from_number is not None
            else None
        )
        said = {**fields, "kind": kind, "from": sent_from}
        if occurred_at is not None:
            said["occurred_at"] = _utc(occurred_at, "occurred_at")
        note = Interaction.note(
            kind,
            ctx.account_id,
            from_number=sent_from,
            occurred_at=said.get("occurred_at") or datetime.now(UTC),
            **fields,
        )

        def repeated() -> Saved:
            existing: Interaction = self.repository.get(note.id)
            if not existing.same_as(said):
                raise Conflict(
                    f"interaction {fields['interaction_id']!r} was recorded "
                    "with other content"
                )
            return Saved(self._interaction(existing), created=False)

        return Prepared(
            note,
            lambda position: Saved({**note.details, "position": position}, True),
            repeated,
        )

    def _interaction(self, note: Interaction) -> dict[str, Any]:
        position = self.recorder.position_of(note.id)  # type: ignore[attr-defined]
        return {**note.details, "position": position}

    # Inbound SMS and their decisions.

    def route_inbound_sms(
        self,
        ctx: AccountContext,
        sender: str,
        to: str,
        body: str,
        message_id: str | None = None,
        received_at: datetime | None = None,
    ) -> Saved:
        """Decide who gets an inbound SMS and record the decision."""
        prepare = self.prepare_route(ctx, sender, to, body, message_id, received_at)
        return self.carry_out(self.view.run_reads(prepare))

    def prepare_route(
        self,
        ctx: AccountContext,
        sender: str,
        to: str,
        body: str,
        message_id: str | None = None,
        received_at: datetime | None = None,
    ) -> Reads[Prepared]:
        """Decide who gets an inbound SMS; one read, nothing appended yet."""
        try:
            number = parse_phone(to, ctx.default_region, "to")
            phone = parse_sender(_required_text(sender, "from"), ctx.default_region)
        except InvalidInput:
            now = yield from self._reread(ctx)
            if now.default_region == ctx.default_region:
                raise
            now = replace(now, key_hash=ctx.key_hash)
            again = self.prepare_route(now, sender, to, body, message_id, received_at)
            return (yield from again)
        received = _utc(received_at, "received_at") if received_at else None
        message_id = message_id or f"m-{uuid4().hex}"
        moment = received or datetime.now(UTC)
        inbound = InboundSms(ctx.account_id, message_id, phone, number, body, moment)
        now = yield from self._decide(ctx, inbound)
        if now.default_region != ctx.default_region:  # changed since `ctx` was read
            now = replace(now, key_hash=ctx.key_hash)
            again = self.prepare_route(now, sender, to, body, message_id, received)
            return (yield from again)

        def done(position: int) -> Saved:
            assert inbound.decision is not None
            telemetry.decided(inbound.decision)
            if inbound.held:
                # The number may have been configured while this was decided;
                # its release ran before this was saved, so release it here.
                self.release_held(now, number)
                held = self.view.decision(ctx.account_id, message_id)
                assert held is not None
                return Saved(held, created=True)
            return Saved(as_stored(inbound.decision), created=True)

        def repeated() -> Saved:  # a message id seen before: a retry, most likely
            decision = self.view.decision(ctx.account_id, message_id)
            assert decision is not None
            return _repeated(decision, phone, number, body, received)

        return Prepared(inbound, done, repeated)

    def _reread(self, ctx: AccountContext) -> Reads[AccountContext]:
        """The account's settings now: `ctx`'s may be stale (`known_account`)."""
        return self._seen((yield from self.view.account_now(ctx.account_id)))

    def _decide(
        self, ctx: AccountContext, inbound: InboundSms
    ) -> Reads[AccountContext]:
        """Decide by the facts and the account's settings in one snapshot; those
        settings, which may be newer than `ctx`'s."""
        facts, position, account = yield from self.view.routing_read(
            ctx.account_id, inbound.to, inbound.sender, ctx.key_hash
        )
        self._live_key(ctx, account["key_live"])
        ctx = self._seen(account)
        decision = decide(facts, ctx.routing_policy)
        document = {
            "account_id": ctx.account_id,
            **inbound.message(),
            **decision.as_dict(),
            "policy": ctx.routing_policy,
            "position": position,
            # Enhanced inbound raises an alert for a user, as it was when decided.
            "alert": ctx.enhanced_inbound
            and bool(decision.recipient and decision.recipient.get("user_id")),
        }
        document = _plain(document)
        if decision.status == "held":
            inbound.hold(document)
        else:
            inbound.route(document)
        return ctx

    def release_held(self, ctx: AccountContext, number: str) -> None:
        """Route the messages held for `number`, now that it may be configured."""
        ctx = replace(ctx, key_hash=None)  # the request's key was checked already
        for message_id in self.view.held_message_ids(ctx.account_id, number):
            inbound: InboundSms = self.repository.get(
                InboundSms.create_id(ctx.account_id, message_id)
            )
            if not inbound.held:
                continue
            self.view.run_reads(self._decide(ctx, inbound))
            if inbound.held:
                return
            try:
                self._save(inbound)
            except IntegrityError:
                continue  # another process released it first
            assert inbound.decision is not None
            telemetry.decided(inbound.decision)

    # Delivery of decisions.

    def record_delivered(self, account_id: str, message_id: str, mail_id: str) -> None:
        """The decision's mail was accepted by the mail server."""
        self._record_delivery(
            account_id, message_id, lambda sms: sms.record_delivered(mail_id)
        )

    def prepare_delivered(
        self, account_id: str, message_id: str, mail_id: str
    ) -> Callable[[], None]:
        """`record_delivered`, with its read done now: call the answer once the
        mail server has the mail, and it makes one write. A crash between the
        two sends the mail again, so the less time between them, the better."""
        inbound: InboundSms = self.repository.get(
            InboundSms.create_id(account_id, message_id)
        )

        def record() -> None:
            if inbound.delivery != "pending":
                return  # another worker recorded the outcome first
            inbound.record_delivered(mail_id)
            try:
                self._save(inbound)
            except IntegrityError:  # recorded meanwhile: read it again
                self.record_delivered(account_id, message_id, mail_id)
            else:
                _count_tries(inbound)

        return record

    def record_delivery_failure(
        self,
        account_id: str,
        message_id: str,
        *,
        permanent: bool,
        error: str,
        retry_at: datetime,
    ) -> None:
        """A try that did not deliver; the mail is tried again from `retry_at`."""
        self._record_delivery(
            account_id,
            message_id,
            lambda sms: sms.record_failed_attempt(permanent, error, retry_at),
        )

    def _record_delivery(
        self, account_id: str, message_id: str, change: Callable[[InboundSms], None]
    ) -> None:
        for tries_left in (1, 0):
            inbound: InboundSms = self.repository.get(
                InboundSms.create_id(account_id, message_id)
            )
            if inbound.delivery != "pending":
                return  # another worker recorded the outcome first
            change(inbound)
            try:
                self._save(inbound)
            except IntegrityError:
                if not tries_left:
                    raise
            else:
                _count_tries(inbound)
                return

    def alerts(
        self, ctx: AccountContext, user_id: str, after: int, limit: int = 100
    ) -> list[tuple[int, dict[str, Any]]]:
        """Decisions alerted to a user after ledger position `after`, in order."""
        return self.outbox.alerts(ctx.account_id, user_id, after, limit)

    def get_decision(self, ctx: AccountContext, message_id: str) -> dict[str, Any]:
        decision = self.view.decision(ctx.account_id, message_id)
        if decision is None:
            raise NotFound(f"no decision for message {message_id!r}")
        return decision

    def list_decisions(
        self,
        ctx: AccountContext,
        rule: str | None = None,
        recipient: str | None = None,
        limit: int = 50,
        before: tuple[int, str] | None = None,
    ) -> list[dict[str, Any]]:
        only = DecisionFilter(rule=rule, recipient=recipient)
        return self.browse.decisions(ctx.account_id, only, before, limit)

    # Helpers.

    def _find(self, cls: type[T], aggregate_id: UUID) -> T | None:
        try:
            return cast(T, self.repository.get(aggregate_id))
        except AggregateNotFoundError:
            return None

    def _create(self, aggregate: Any, on_conflict: Any) -> Saved:
        """Save a new aggregate; a concurrent twin that won the race is no error."""
        try:
            self._save(aggregate)
        except IntegrityError:
            return Saved(on_conflict(), created=False)
        return Saved(aggregate.as_dict(), created=True)


def _issue_key(account: Account, name: str, issued_by: str) -> tuple[str, ApiKey]:
    """A new random key, issued to the account: the key, and what is kept of it."""
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = account.issue_key(
        key_id=f"key_{secrets.token_hex(8)}",
        name=name,
        prefix=api_key[:SHOWN_PREFIX],
        key_hash=hash_key(api_key),
        issued_by=issued_by,
    )
    return api_key, key


def _context(row: dict[str, Any]) -> AccountContext:
    return AccountContext(
        account_id=row["account_id"],
        default_region=row["default_region"],
        routing_policy=row["routing_policy"],
        enhanced_inbound=bool(row["enhanced_inbound"]),
    )


def _repeated(
    decision: dict[str, Any],
    sender: str,
    to: str,
    body: str,
    received: datetime | None,
) -> Saved:
    """A message id seen before: its first decision, if it is the same message."""
    said: dict[str, Any] = {"from": sender, "to": to, "body": body}
    if received is not None:
        said["received_at"] = _plain(received)
    if any(decision[key] != value for key, value in said.items()):
        raise Conflict(
            f"message {decision['message_id']!r} was recorded with other content"
        )
    return Saved(decision, created=False)


def _required_text(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "must not be empty")
    return value.strip()


def _utc(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput(field, "must have a UTC offset")
    return moment.astimezone(UTC)


def _plain(value: Any) -> Any:
    """JSON-ready values, so the stored decision reads the same everywhere."""
    return json.loads(to_json(value))


def _event_data(event: Any) -> dict[str, Any]:
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in event.__dict__.items() if k not in skip}
