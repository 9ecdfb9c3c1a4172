"""Hand-offs and replies over HTTP: statuses, idempotency, what they refuse."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.api.conftest import JANE, NUMBER, Tenant, assert_problem, seed_case_one
from tests.delivery.twilio_standin import SID, TOKEN

STRANGER = "+14155550199"


@pytest.fixture
def routed(acme: Tenant) -> Tenant:
    """Jane's SMS SM1 went to Ann; Bob and Cat are colleagues."""
    seed_case_one(acme)
    acme.ok("put", "/v1/users/bob", {"email": "bob@acme.test", "name": "Bob"})
    acme.ok("put", "/v1/users/cat", {"email": "cat@acme.test", "active": False})
    acme.ok(
        "post",
        "/v1/inbound-sms",
        {"from": JANE, "to": NUMBER, "body": "Tuesday?", "message_id": "SM1"},
    )
    return acme


def test_handoff_answers_the_decision_with_its_handoffs(routed: Tenant) -> None:
    body = {
        "to_user_id": "bob",
        "by_user_id": "ann",
        "note": "Yours",
        "handoff_id": "h1",
    }
    first = routed.post("/v1/routing-decisions/SM1/handoffs", body)
    again = routed.post("/v1/routing-decisions/SM1/handoffs", body)
    other = routed.post("/v1/routing-decisions/SM1/handoffs", {**body, "note": "No"})

    assert first.status_code == 201, first.text
    (handoff,) = first.json()["handoffs"]
    assert handoff["to_user_id"] == "bob"
    assert (handoff["by_user_id"], handoff["note"]) == ("ann", "Yours")
    assert first.json()["rule"] == "previous_sms"  # the decision itself stands
    assert again.status_code == 200
    assert again.json()["handoffs"] == first.json()["handoffs"]
    assert_problem(other, 409)
    got = routed.ok("get", "/v1/routing-decisions/SM1")
    assert got["handoffs"] == first.json()["handoffs"]


@pytest.mark.parametrize(
    ("to_user_id", "status", "fields"),
    [("ann", 409, ()), ("cat", 422, ("to_user_id",)), ("nobody", 422, ("to_user_id",))],
    ids=["to-its-holder", "inactive", "unknown"],
)
def test_handoff_refused(routed: Tenant, to_user_id: str, status: int, fields) -> None:
    response = routed.post(
        "/v1/routing-decisions/SM1/handoffs", {"to_user_id": to_user_id}
    )
    assert_problem(response, status, *fields)
    assert "handoffs" not in routed.ok("get", "/v1/routing-decisions/SM1")


def test_a_held_message_cannot_be_handed_off(routed: Tenant) -> None:
    routed.ok(
        "post",
        "/v1/inbound-sms",
        {"from": JANE, "to": "+14155550177", "body": "hi", "message_id": "SM2"},
    )
    response = routed.post("/v1/routing-decisions/SM2/handoffs", {"to_user_id": "bob"})
    assert_problem(response, 409)


def test_an_unknown_senders_message_is_handed_off_without_a_note(
    routed: Tenant,
) -> None:
    routed.ok(
        "post",
        "/v1/inbound-sms",
        {"from": STRANGER, "to": NUMBER, "body": "hi", "message_id": "SM3"},
    )
    handed = routed.post("/v1/routing-decisions/SM3/handoffs", {"to_user_id": "bob"})
    assert handed.status_code == 201, handed.text
    following = routed.ok(
        "post", "/v1/inbound-sms", {"from": STRANGER, "to": NUMBER, "body": "again"}
    )
    assert following["rule"] == "unknown_sender"


def test_another_accounts_message_is_not_found(routed: Tenant, globex: Tenant) -> None:
    globex.ok("put", "/v1/users/bob", {"email": "bob@globex.test"})
    response = globex.post("/v1/routing-decisions/SM1/handoffs", {"to_user_id": "bob"})
    assert_problem(response, 404)
    assert_problem(globex.get("/v1/routing-decisions/SM1/replies"), 404)


def test_reply_needs_the_holder_and_a_provider(routed: Tenant) -> None:
    body = {"user_id": "ann", "body": "Tuesday is fine"}
    assert_problem(
        routed.post("/v1/routing-decisions/SM1/replies", body),
        422,
        "twilio_account_sid",
    )
    routed.ok(
        "patch", "/v1/account", {"twilio_account_sid": SID, "twilio_auth_token": TOKEN}
    )
    not_holder = routed.post(
        "/v1/routing-decisions/SM1/replies", {**body, "user_id": "bob"}
    )
    assert_problem(not_holder, 409)

    queued = routed.post(
        "/v1/routing-decisions/SM1/replies", {**body, "reply_id": "r1"}
    )
    repeated = routed.post(
        "/v1/routing-decisions/SM1/replies", {**body, "reply_id": "r1"}
    )
    changed = routed.post(
        "/v1/routing-decisions/SM1/replies", {**body, "reply_id": "r1", "body": "No"}
    )

    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "queued"
    assert queued.json()["attempts"] == 0
    assert repeated.status_code == 200
    assert_problem(changed, 409)
    (listed,) = routed.ok("get", "/v1/routing-decisions/SM1/replies")["items"]
    assert (listed["reply_id"], listed["status"]) == ("r1", "queued")
    routed.ok("post", "/v1/routing-decisions/SM1/handoffs", {"to_user_id": "bob"})
    assert_problem(routed.post("/v1/routing-decisions/SM1/replies", body), 409)


def test_sign_in_link_route(routed: Tenant, globex: Tenant, app: FastAPI) -> None:
    issued = routed.post("/v1/users/ann/sign-in-links", {})
    assert issued.status_code == 201, issued.text
    url = issued.json()["url"]
    assert url.startswith("https://sms.example.com/sign-in/link/")
    ledger = app.state.ledger
    token = url.rsplit("/", 1)[1]
    assert ledger.use_sign_in_link(token).user_id == "ann"
    assert_problem(globex.post("/v1/users/ann/sign-in-links", {}), 404)
    assert_problem(routed.post("/v1/users/cat/sign-in-links", {}), 422, "user_id")
