"""Several delivery workers on one PostgreSQL ledger send each mail exactly once."""

from smsledger.ledger.application import Ledger
from smsledger.ledger.mail import mail_id
from tests.delivery.conftest import NUMBER, set_up_team, wait_until, worker_for

DECISIONS = 200


def test_two_workers_send_exactly_one_mail_per_decision(postgres_url, smtp):
    router = Ledger(postgres_url)
    ledgers = [Ledger(postgres_url), Ledger(postgres_url)]
    workers = [worker_for(ledger, smtp.url, poll=0.05) for ledger in ledgers]
    try:
        settings, _ = router.open_account("Acme")
        ctx = router.context(settings["account_id"])
        set_up_team(router, ctx)
        # Half wait as a backlog both workers compete for; half arrive live.
        for n in range(DECISIONS):
            if n == DECISIONS // 2:
                for worker in workers:
                    worker.start()
            sender = f"+1415555{n:04d}"
            router.route_inbound_sms(ctx, sender, NUMBER, f"reply {n}", f"SM{n}")

        smtp.inbox.wait_for(DECISIONS, timeout=60)
        wait_until(lambda: router.outbox.counts() == {"sent": DECISIONS}, 30)
    finally:
        for worker in workers:
            worker.stop()
        for ledger in [router, *ledgers]:
            ledger.close()

    ids = smtp.inbox.ids()
    assert len(ids) == DECISIONS
    assert set(ids) == {mail_id(ctx.account_id, f"SM{n}") for n in range(DECISIONS)}
