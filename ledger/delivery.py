"""The delivery worker: mails every routed decision, once, from the ledger.

The outbox is folded from the ledger with the decisions, so a decision that
was recorded has a mail waiting for it, whatever crashes afterwards. A worker
claims due mails with a lease, sends each, and records the outcome as an
event; that event closes the mail in the outbox. A worker that dies between
sending and recording leaves the lease to run out, and the mail is sent again
under the same Message-ID, so the recipient's mail system sees one mail.
Several workers, in one process or many, share the outbox through the leases.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ledger.application import Ledger
from ledger.mail import PermanentFailure, TransientFailure, Transport, compose, mail_id
from ledger.telemetry import MAIL_TRIES
from projections.outbox import Claimed

log = logging.getLogger("smsledger.delivery")

Clock = Callable[[], datetime]


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
        batch: int = 10,
        lease: timedelta = timedelta(seconds=90),
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
        self.owner = uuid.uuid4().hex
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Send the mails due now, one batch; how many were claimed."""
        now = self.clock()
        claimed = self.ledger.outbox.claim(
            self.owner, now, now + self.lease, self.batch
        )
        for item in claimed:
            self._deliver(item)
        return len(claimed)

    def _deliver(self, item: Claimed) -> None:
        # The lease must outlast the send; renewing it also says whether it
        # ran out while earlier mails of the batch were sent.
        if not self.ledger.outbox.renew(item, self.owner, self.clock() + self.lease):
            return
        decision = self.ledger.view.decision(item.account_id, item.message_id)
        assert decision is not None, item
        contacts = [
            self.ledger.view.contact(item.account_id, contact_id)
            or {"contact_id": contact_id, "name": None}
            for contact_id in decision["contact_ids"]
        ]
        mail = compose(
            decision, contacts, mail_from=self.mail_from, decided_at=item.routed_at
        )
        try:
            self.transport.send(mail)
        except (TransientFailure, PermanentFailure) as failure:
            permanent = isinstance(failure, PermanentFailure)
            MAIL_TRIES.labels("permanent" if permanent else "transient").inc()
            self._record_failure(item, failure)
            return
        MAIL_TRIES.labels("sent").inc()
        if self.fault is not None:
            self.fault(item)
        self.ledger.record_delivered(
            item.account_id, item.message_id, mail_id(item.account_id, item.message_id)
        )

    def _record_failure(
        self, item: Claimed, failure: TransientFailure | PermanentFailure
    ) -> None:
        permanent = isinstance(failure, PermanentFailure)
        decision = self.ledger.view.decision(item.account_id, item.message_id)
        attempts = decision["delivery"]["attempts"] if decision else 0
        retry_at = self.clock() + backoff(attempts + 1, rand=self.rand)
        log.warning(
            "mail for %s not delivered (try %d): %s",
            item.message_id,
            attempts + 1,
            failure,
        )
        self.ledger.record_delivery_failure(
            item.account_id,
            item.message_id,
            permanent=permanent,
            error=str(failure),
            retry_at=retry_at,
        )

    # Running in the background.

    def run(self) -> None:
        """Deliver until `stop`; wake on a decision routed in this process."""
        self.ledger.on_routed.append(self._wake.set)
        try:
            while not self._stop.is_set():
                try:
                    busy = self.run_once() == self.batch
                except Exception:
                    # The database or the network may come back; keep going.
                    log.exception("delivery pass failed")
                    busy = False
                if not busy and self._wake.wait(self.poll):
                    self._wake.clear()
        finally:
            self.ledger.on_routed.remove(self._wake.set)

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
