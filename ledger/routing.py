"""The ledger's hot verbs: notes, and the decision on each inbound SMS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import IntegrityError

from smsledger.domain.decision import DecisionRecord, as_stored
from smsledger.domain.errors import Conflict, InvalidInput
from smsledger.domain.inbound import InboundSms
from smsledger.domain.interactions import Interaction
from smsledger.domain.routing import decide
from smsledger.domain.values import (
    parse_email,
    parse_phone,
    parse_sender,
)
from smsledger.ledger import telemetry
from smsledger.ledger.base import (
    AccountContext,
    Prepared,
    Saved,
    _repeated,
    _required_text,
    _utc,
)
from smsledger.ledger.outcomes import DeliveryCommands
from smsledger.projections.persistence import (
    Reads,
)


class RoutingCommands(DeliveryCommands):
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
        position = self.backend.position_of(note.id)
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
        record = DecisionRecord.build(
            ctx.account_id,
            inbound.message(),
            decide(facts, ctx.routing_policy),
            ctx.routing_policy,
            position,
            # Enhanced inbound raises an alert for a user, as it was when decided.
            ctx.enhanced_inbound,
        )
        if record.held:
            inbound.hold(record.document())
        else:
            inbound.route(record.document())
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
