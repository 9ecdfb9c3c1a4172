"""/metrics in one process: requests timed by route, the hot ones included, and
the queue and held messages read from the database as they are."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from smsledger.api.settings import Settings
from tests.api.conftest import JANE, NUMBER, seed_case_one


def samples(text):
    """Every sample of a scrape, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scrape, name, **labels):
    return scrape.get((name, frozenset(labels.items())), 0.0)


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


TIMED = "smsledger_http_request_duration_seconds_count"


def test_requests_are_timed_by_route_template_and_status(client, acme):
    seed_case_one(acme)
    before = scrape(client)
    for _n in range(3):
        acme.ok("post", "/v1/inbound-sms", {"from": JANE, "to": NUMBER, "body": "x"})
    acme.get("/v1/contacts/c1")
    acme.get("/v1/contacts/nobody")
    client.get("/no/such/path")
    after = scrape(client)

    def more(method, route, status):
        labels = {"method": method, "route": route, "status": status}
        return value(after, TIMED, **labels) - value(before, TIMED, **labels)

    # Known by now, the key's routing is answered by the hot routes.
    assert more("POST", "/v1/inbound-sms", "201") == 3
    assert more("GET", "/v1/contacts/{contact_id}", "200") == 1
    assert more("GET", "/v1/contacts/{contact_id}", "404") == 1
    assert more("GET", "unmatched", "404") == 1
    rules = {"rule": "previous_sms", "status": "routed"}
    decided = value(after, "smsledger_decisions_total", **rules)
    assert decided - value(before, "smsledger_decisions_total", **rules) == 3
    batches = "smsledger_commit_batch_commands_count"
    assert value(after, batches) > value(before, batches)


def test_queue_and_held_messages_are_read_from_the_database(client, acme):
    seed_case_one(acme)
    for _n in range(2):
        acme.ok("post", "/v1/inbound-sms", {"from": JANE, "to": NUMBER, "body": "x"})
    held = {"from": JANE, "to": "+14155550177", "body": "anyone?"}
    assert acme.ok("post", "/v1/inbound-sms", held)["status"] == "held"
    now = scrape(client)
    # No delivery worker runs here: both mails wait.
    assert value(now, "smsledger_mail_pending") == 2
    assert value(now, "smsledger_mail_failed") == 0
    assert 0 < value(now, "smsledger_mail_oldest_pending_age_seconds") < 60
    assert value(now, "smsledger_held_messages") == 1
    assert value(now, "smsledger_database_up", database="primary") == 1
    assert value(now, "smsledger_view_lag_events", copy="live", where="primary") == 0
    head = value(now, "smsledger_ledger_head")
    assert head == client.app.state.ledger.head()


def test_handoff_mails_and_replies_waiting_are_read_from_the_database(client, acme):
    seed_case_one(acme)
    acme.ok("put", "/v1/users/bob", {"email": "bob@acme.test"})
    acme.ok(
        "patch", "/v1/account", {"twilio_account_sid": "AC1", "twilio_auth_token": "t"}
    )
    acme.ok(
        "post",
        "/v1/inbound-sms",
        {"from": JANE, "to": NUMBER, "body": "x", "message_id": "SM1"},
    )
    acme.ok("post", "/v1/routing-decisions/SM1/handoffs", {"to_user_id": "bob"})
    reply = {"user_id": "bob", "body": "On it"}
    assert acme.post("/v1/routing-decisions/SM1/replies", reply).status_code == 202
    now = scrape(client)
    # No delivery worker runs here: the hand-off's mail and the reply wait.
    assert value(now, "smsledger_handoff_mail_pending") == 1
    assert value(now, "smsledger_handoff_mail_failed") == 0
    assert value(now, "smsledger_replies_queued") == 1
    assert value(now, "smsledger_replies_failed") == 0
    assert 0 <= value(now, "smsledger_replies_oldest_queued_age_seconds") < 60


def test_metrics_can_be_turned_off(database_url):
    from fastapi.testclient import TestClient

    from smsledger.api.app import create_app

    settings = Settings(database_url=database_url, metrics=False, delivery_worker=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404
