"""The delivery worker: mails every routed decision, once, from the ledger.

The outbox is folded from the ledger with the decisions, so a decision that
was recorded has a mail waiting for it, whatever crashes afterwards. A worker
claims a batch of due mails with a short lease, which a heartbeat renews while
the worker is busy with them, sends them over one SMTP session, and records
each outcome as an event as soon as it is known; that event closes the mail in
the outbox. Every try that does not deliver, whatever went
wrong, is recorded on the decision with its error and the time of the next try.
A worker that dies leaves its leases to run out within seconds; a mail it had
sent but not recorded is sent again under the same Message-ID, so the
recipient's mail system sees one mail. Several workers, in one process or
many, share the outbox through the leases.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from smsledger.ledger.application import Ledger
from smsledger.ledger.compose import compose_all
from smsledger.ledger.delivered import Records
from smsledger.ledger.mail import (
    PermanentFailure,
    Rendered,
    Session,
    TransientFailure,
    Transport,
)
from smsledger.ledger.outcomes import Accepted
from smsledger.ledger.sending import HandoffMails, Replies
from smsledger.ledger.sms import TwilioSender
from smsledger.ledger.storage import UNAVAILABLE
from smsledger.ledger.telemetry import MAIL_TRIES
from smsledger.projections.outbox import Claimed

log = logging.getLogger("smsledger.delivery")

Clock = Callable[[], datetime]
# Short, so that a dead worker's mails go out within seconds; a live worker's
# heartbeat renews its leases three times a lease.
LEASE = timedelta(seconds=5)


def utc_now() -> datetime:
    return datetime.now(UTC)


def backoff(
    attempt: int,
    *,
    base: float = 2.0,
    cap: float = 600.0,
    rand: Callable[[], float] = random.random,
) -> timedelta:
    """Wait before try `attempt + 1`: doubling from `base`, at most `cap`,
    with jitter so that mails that failed together are not retried together."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return timedelta(seconds=ceiling * (0.5 + rand() / 2))


class DeliveryWorker:
    """Sends the mails of routed decisions; `run` until `stop`, or `run_once`.

    `fault` is called between sending a mail and recording it: tests use it
    to stand for a process killed at the worst moment.
    """

    def __init__(
        self,
        ledger: Ledger,
        transport: Transport,
        *,
        mail_from: str,
        sms: TwilioSender | None = None,
        base_url: str | None = None,
        batch: int = 10,
        lease: timedelta = LEASE,
        poll: float = 0.5,
        clock: Clock = utc_now,
        rand: Callable[[], float] = random.random,
        fault: Callable[[Claimed], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.transport = transport
        self.mail_from = mail_from
        self.batch = batch
        self.lease = lease
        self.poll = poll
        self.clock = clock
        self.rand = rand
        self.fault = fault
        self.base_url = base_url
        self.owner = uuid.uuid4().hex
        # Beside the decisions' mails: hand-offs' mails, and replies.
        self.lanes: list[HandoffMails | Replies] = [
            HandoffMails(ledger, transport, mail_from, base_url, self._retry_at)
        ]
        if sms is not None:
            self.lanes.append(Replies(ledger, sms, self._retry_at))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Send what is due now, one batch of each kind; the most claimed of
        one kind (the batch size when there may be more)."""
        now = self.clock()
        outbox = self.ledger.outbox
        claimed = outbox.claim(self.owner, now, now + self.lease, self.batch)
        if claimed:
            self._send_batch(claimed, now + self.lease)
        most = len(claimed)
        for lane in self.lanes:
            most = max(most, self._run_lane(lane, now))
        return most

    def _send_batch(self, claimed: list[Claimed], held_until: datetime) -> None:
        """Send a claimed batch over one session, each mail's lease known held
        from the claim and the heartbeat's renewals, not asked for per mail;
        the batch's mails composed from two reads, and recorded as they are
        accepted on a thread of their own."""
        held = [held_until]

        def renew_all(until: datetime) -> None:
            self.ledger.outbox.renew_all(claimed, self.owner, until)
            held[0] = until

        mails = compose_all(self.ledger.view, claimed, self.mail_from, self.base_url)
        with (
            self._heartbeat(renew_all),
            self.transport.session() as session,
            Records(self.ledger.record_accepted) as records,
        ):
            for item in claimed:
                self._deliver(item, session, held[0], mails[item], records.put)

    def _run_lane(self, lane: HandoffMails | Replies, now: datetime) -> int:
        queue = lane.queue
        items = queue.claim(self.owner, now, now + self.lease, self.batch)
        if items:
            with self._heartbeat(
                lambda until: queue.renew_all(items, self.owner, until)
            ):
                for item in items:
                    # As for mails: send only under a lease still our own.
                    if queue.renew(item, self.owner, self.clock() + self.lease):
                        lane.send(item)
        return len(items)

    def _retry_at(self, attempt: int) -> datetime:
        return self.clock() + backoff(attempt, rand=self.rand)

    @contextmanager
    def _heartbeat(self, renew_all: Callable[[datetime], None]) -> Iterator[None]:
        """Renew the leases of a batch while it is being sent."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.lease.total_seconds() / 3):
                try:
                    renew_all(self.clock() + self.lease)
                except Exception:
                    # Near the lease's end, each mail's own renewal before
                    # it is sent says whether its lease held.
                    log.warning("could not renew mail leases", exc_info=True)

        thread = threading.Thread(target=beat, name="smsledger-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _deliver(
        self,
        item: Claimed,
        session: Session,
        held_until: datetime,
        mail: Rendered | Exception,
        record: Callable[[Accepted], None],
    ) -> None:
        """Send one claimed mail, composed already, and hand its record to
        `record`."""
        # Near its end (the heartbeat failing), the lease is renewed here,
        # which also says whether it ran out (another worker may be sending
        # this mail), on the live version of the view.
        now = self.clock()
        if held_until - now < self.lease / 3 and not self.ledger.outbox.renew(
            item, self.owner, now + self.lease
        ):
            return
        sent = False

        def accepted() -> None:
            nonlocal sent
            sent = True
            MAIL_TRIES.labels("sent").inc()
            if self.fault is not None:
                self.fault(item)
            record(ready)

        try:
            if isinstance(mail, Exception):
                raise mail
            ready = self.ledger.prepare_delivered(
                item.account_id, item.message_id, mail.message_id
            )
            session.send(mail, accepted)
        except Exception as error:
            if sent:
                # Delivered, but not recorded: the lease runs out and the mail
                # is sent again, under the same Message-ID.
                raise
            self._record_failure(item, error)

    def _record_failure(self, item: Claimed, error: Exception) -> None:
        """Record a try that did not deliver on the decision: its error, and
        when the next try is. Any error but a refusal is worth another try."""
        permanent = isinstance(error, PermanentFailure)
        MAIL_TRIES.labels("permanent" if permanent else "transient").inc()
        if isinstance(error, PermanentFailure | TransientFailure):
            reason = str(error)
        else:
            reason = f"{type(error).__name__}: {error}"
        decision = self.ledger.view.decision(item.account_id, item.message_id)
        attempts = decision["delivery"]["attempts"] if decision else 0
        retry_at = self.clock() + backoff(attempts + 1, rand=self.rand)
        log.warning(
            "mail for %s not delivered (try %d): %s",
            item.message_id,
            attempts + 1,
            reason,
        )
        self.ledger.record_delivery_failure(
            item.account_id,
            item.message_id,
            permanent=permanent,
            error=reason,
            retry_at=retry_at,
        )

    # Running in the background.

    def run(self) -> None:
        """Deliver until `stop`; wake on a decision routed in this process."""
        self.ledger.on_routed.append(self._wake.set)
        away = False
        try:
            while not self._stop.is_set():
                try:
                    busy = self.run_once() == self.batch
                    away = False
                except UNAVAILABLE as error:
                    # Said once per outage, not on every poll while it lasts.
                    if not away:
                        log.warning("delivery paused: the database is away (%s)", error)
                    away, busy = True, False
                except Exception:
                    # The network may come back; keep going.
                    log.exception("delivery pass failed")
                    busy = False
                if not busy and self._wake.wait(self.poll):
                    self._wake.clear()
        finally:
            self.ledger.on_routed.remove(self._wake.set)

    def wake(self) -> None:
        """Look for due mails now, not at the next poll."""
        self._wake.set()

    def start(self) -> None:
        """Run in a background thread."""
        self._thread = threading.Thread(
            target=self.run, name="smsledger-delivery", daemon=True
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float | None = 60.0) -> None:
        """Finish the mail in hand, then stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
