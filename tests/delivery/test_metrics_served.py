"""/metrics as an operator scrapes it: `scripts/serve` with two workers on
PostgreSQL, mailing through a real SMTP server that refuses one recipient.
Whichever worker answers the scrape, it counts what both workers did."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import ADMIN, JANE, NUMBER
from tests.api.test_serve import one_connection_per_worker
from tests.faults.harness import Served

BOB_PHONE = "+14155550122"
STRANGER = "+14155550199"


def scrape(connection):
    status, text = connection.call("GET", "/metrics")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scrape, name, **labels):
    return scrape.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.slow
def test_metrics_count_both_workers_routing_and_a_refused_mail(
    postgres_url, smtp, tmp_path
):
    smtp.inbox.refuse["bob@acme.test"] = "550 5.1.1 No such user"
    served = Served(
        {
            "DATABASE_URL": postgres_url,
            "ADMIN_TOKEN": ADMIN["Authorization"].removeprefix("Bearer "),
            "WEB_CONCURRENCY": "2",
            "SMTP_URL": smtp.url,
            "MAIL_FROM": "routing@acme.test",
        },
        tmp_path / "serve.log",
    )
    served.start()
    try:
        served.wait_until_healthy()
        one, two = one_connection_per_worker(served.process, served.port)
        status, account = one.call("POST", "/v1/accounts", {"name": "Acme"}, ADMIN)
        assert status == 201
        for worker in (one, two):
            worker.headers = {"Authorization": f"Bearer {account['api_key']}"}
        one.ok("PUT", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "d@acme.test"})
        one.ok("PUT", "/v1/users/ann", {"email": "ann@acme.test", "name": "Ann"})
        one.ok("PUT", "/v1/users/bob", {"email": "bob@acme.test", "name": "Bob"})
        one.ok("PUT", "/v1/contacts/c1", {"name": "Jane Roe", "phones": [JANE]})
        one.ok(
            "PUT",
            "/v1/contacts/c2",
            {"name": "Bo Owner", "phones": [BOB_PHONE], "owner_user_id": "bob"},
        )
        one.ok(
            "POST",
            "/v1/interactions/sms",
            {"user_id": "ann", "contact_id": "c1", "to": JANE, "from": NUMBER},
        )
        # Jane's replies, on both workers: to Ann, by her last SMS.
        for n in range(6):
            worker = (one, two)[n % 2]
            sms = {"from": JANE, "to": NUMBER, "body": "hi", "message_id": f"SM{n}"}
            assert worker.ok("POST", "/v1/inbound-sms", sms)["rule"] == "previous_sms"
        # Bob owns c2: his mail is refused for good after three tries.
        sms = {"from": BOB_PHONE, "to": NUMBER, "body": "hi", "message_id": "SM-bob"}
        assert two.ok("POST", "/v1/inbound-sms", sms)["rule"] == "contact_owner"
        held = {"from": STRANGER, "to": "+14155550177", "body": "?", "message_id": "H"}
        assert one.ok("POST", "/v1/inbound-sms", held)["status"] == "held"

        timed = "smsledger_http_request_duration_seconds_count"
        routed = {"method": "POST", "route": "/v1/inbound-sms", "status": "201"}

        def settled(now):
            # A worker adds its request timings within a second (FLUSH_SECONDS).
            return (
                value(now, "smsledger_mail_failed") >= 1
                and value(now, timed, **routed) >= 8
            )

        deadline = time.monotonic() + 30
        # Both connections asked each time (no short cut): uvicorn closes one
        # idle for 5 s.
        while sum(settled(scrape(w)) for w in (one, two)) < 2:
            assert time.monotonic() < deadline, "the counts never settled"
            time.sleep(0.1)  # polling interval, not synchronisation
        assert len(smtp.inbox.mails) == 6  # Ann's, sent before Bob's was tried

        for worker in (one, two):
            now = scrape(worker)
            assert value(now, timed, **routed) == 8
            decided = "smsledger_decisions_total"
            assert value(now, decided, rule="previous_sms", status="routed") == 6
            assert value(now, decided, rule="contact_owner", status="routed") == 1
            held_rule = {"rule": "number_not_configured", "status": "held"}
            assert value(now, decided, **held_rule) == 1
            assert value(now, "smsledger_held_messages") == 1
            assert value(now, "smsledger_mail_failed") == 1
            assert value(now, "smsledger_mail_pending") == 0
            assert value(now, "smsledger_mail_oldest_pending_age_seconds") == 0
            tries = "smsledger_mail_tries_total"
            assert value(now, tries, outcome="sent") == 6
            assert value(now, tries, outcome="permanent") == 3
            per_mail = "smsledger_mail_tries_per_mail_count"
            assert value(now, per_mail, outcome="sent") == 6
            assert value(now, per_mail, outcome="failed") == 1
            per_mail_sum = "smsledger_mail_tries_per_mail_sum"
            assert value(now, per_mail_sum, outcome="failed") == 3
            assert value(now, "smsledger_commit_batch_commands_count") >= 8
            assert value(now, "smsledger_alert_streams_open") == 0
        one.close()
        two.close()
    finally:
        served.stop()
