"""A rebuild while interactions are recorded and inbound SMS routed."""

import threading
from datetime import UTC, datetime, timedelta

from smsledger.domain.history import AccountHistory
from smsledger.domain.routing import decide
from smsledger.ledger import audit
from tests.integration.generate import generate, phone

DEADLINE = 60.0


def test_rebuild_under_writes_and_routing_loses_nothing(ledger, account):
    generate(ledger, account, interactions=1_500, inbound=50, contacts=40)
    number = ledger.list_decisions(account, limit=1)[0]["to"]
    stop = threading.Event()
    failures: list[BaseException] = []
    counts = {"notes": 0, "routes": 0}
    writing = threading.Event()

    def record() -> None:
        i = 0
        while not stop.is_set():
            c = i % 40
            ledger.record_interaction(
                account, "sms", contact_id=f"c{c}", to=phone(c), from_number=number,
                user_id=f"u{i % 12}", interaction_id=f"live-{i}",
                occurred_at=datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
            )  # fmt: skip
            counts["notes"] += 1
            if counts["notes"] == 5:
                writing.set()
            i += 1

    def route() -> None:
        i = 0
        while not stop.is_set():
            ledger.route_inbound_sms(
                account, phone(i % 40), number, "hi", message_id=f"live-{i}"
            )
            counts["routes"] += 1
            i += 1

    def guarded(work):
        def run() -> None:
            try:
                work()
            except BaseException as error:  # surfaced by the main thread
                failures.append(error)
                stop.set()

        return threading.Thread(target=run)

    threads = [guarded(record), guarded(route)]
    for thread in threads:
        thread.start()
    try:
        assert writing.wait(DEADLINE)
        # Small pages: the build catches up over many transactions while
        # writes keep landing in the live version.
        ledger.rebuild_views(page_size=100)
    finally:
        stop.set()
        for thread in threads:
            thread.join(DEADLINE)
    assert not failures, failures
    assert counts["notes"] > 0
    assert counts["routes"] > 0

    # Every decision, before, during and after the switch, matches the ledger.
    report = audit.verify(ledger)
    assert report.inconsistent == []
    assert report.checked == 50 + counts["routes"]
    # The switched-in view lost no event: it answers as a fold of everything.
    history = AccountHistory(account.account_id)
    history.apply_all(
        (ledger.mapper.to_domain_event(n), n.id)
        for n in ledger.recorder.select_notifications(None, 10_000_000)
    )
    for c in range(45):
        facts, _ = ledger.view.gather_facts(account.account_id, number, phone(c))
        expected = history.facts(number, phone(c))
        assert decide(facts, "sms_then_call") == decide(expected, "sms_then_call")
