"""Inbound SMS over HTTP: routed by the rules, once per message id."""

from tests.api.conftest import (
    JANE,
    NUMBER,
    assert_problem,
    seed_case_one,
    without_delivery,
)


def inbound(tenant, message_id="SM1", **fields):
    body = {"from": JANE, "to": NUMBER, "body": "Yes, Tuesday works"}
    return tenant.post("/v1/inbound-sms", {**body, "message_id": message_id, **fields})


def test_reply_goes_to_user_who_sent_last_sms(acme):
    seed_case_one(acme)

    response = inbound(acme, received_at="2026-11-26T16:04:05+01:00")

    assert response.status_code == 201
    decision = response.json()
    assert decision["message_id"] == "SM1"
    assert decision["status"] == "routed"
    assert decision["rule"] == "previous_sms"
    assert decision["recipient"] == {"email": "ann@acme.test", "user_id": "ann"}
    assert decision["contact_ids"] == ["c1"]
    assert decision["evidence"]["interaction_id"] == "i1"
    assert decision["policy"] == "sms_then_call"
    assert decision["received_at"] == "2026-11-26T15:04:05Z"
    assert decision["explanation"].startswith("Routed to ann@acme.test")
    assert decision["position"] > 0


def test_repeated_message_id_answers_200_with_the_first_decision(acme):
    seed_case_one(acme)
    first = inbound(acme)
    acme.ok("put", "/v1/users/ann", {"email": "ann@acme.test", "active": False})

    again = inbound(acme)

    assert again.status_code == 200
    assert without_delivery(again.json()) == without_delivery(first.json())
    assert len(acme.ok("get", "/v1/routing-decisions")["items"]) == 1


def test_repeated_message_id_with_other_content_is_409(acme):
    seed_case_one(acme)
    first = inbound(acme)

    response = inbound(acme, body="Actually, Wednesday")

    assert_problem(response, 409)
    decision = acme.ok("get", "/v1/routing-decisions/SM1")
    assert without_delivery(decision) == without_delivery(first.json())


def test_a_write_acknowledged_before_the_sms_decides_it(acme):
    seed_case_one(acme)
    acme.ok("put", "/v1/users/bob", {"email": "bob@acme.test"})
    acme.ok(
        "post",
        "/v1/interactions/sms",
        {"user_id": "bob", "contact_id": "c1", "to": JANE, "from": NUMBER},
    )

    decision = inbound(acme).json()

    assert decision["recipient"]["user_id"] == "bob"


def test_unknown_sender_goes_to_backup_email(acme):
    seed_case_one(acme)

    decision = inbound(acme, **{"from": "+14155550199"}).json()

    assert decision["rule"] == "unknown_sender"
    assert decision["recipient"]["email"] == "desk@acme.test"


def test_short_code_sender_is_accepted_and_matches_no_contact(acme):
    seed_case_one(acme)

    response = inbound(acme, **{"from": "ACME-PROMO"})

    assert response.status_code == 201
    assert response.json()["from"] == "ACME-PROMO"
    assert response.json()["rule"] == "unknown_sender"


def test_without_message_id_each_request_is_a_new_message(acme):
    seed_case_one(acme)
    body = {"from": JANE, "to": NUMBER, "body": "hi"}

    first = acme.post("/v1/inbound-sms", body)
    second = acme.post("/v1/inbound-sms", body)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["message_id"] != second.json()["message_id"]


def test_invalid_to_is_422_and_records_nothing(acme):
    response = inbound(acme, to="not a number")

    assert_problem(response, 422, "to")
    assert_problem(acme.get("/v1/routing-decisions/SM1"), 404)


def test_missing_fields_are_each_named(acme):
    response = acme.post("/v1/inbound-sms", {"to": NUMBER})

    assert_problem(response, 422, "from", "body")
