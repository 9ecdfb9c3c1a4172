"""Bad input refused plainly: a 422 naming the field in words, nothing recorded."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from smsledger.api.app import create_app
from tests.api.conftest import (
    ADMIN,
    JANE,
    NUMBER,
    Tenant,
    assert_problem,
    seed_case_one,
)

NOTE = {"user_id": "ann", "contact_id": "c1", "to": JANE, "from": NUMBER}
SMS = {"from": JANE, "to": NUMBER, "body": "hi"}


def head(tenant):
    return tenant.client.app.state.ledger.head()


@pytest.fixture
def team(acme):
    seed_case_one(acme)
    return acme


def refused(tenant, method: str, path: str, body, *fields: str):
    """The request is refused with 422 naming `fields`, and records nothing."""
    before = head(tenant)
    response = getattr(tenant, method)(path, body)
    problem = assert_problem(response, 422, *fields)
    assert head(tenant) == before
    return problem


@pytest.mark.parametrize("value", ["yes", 1, "true", None], ids=repr)
def test_booleans_must_be_booleans(team, value):
    body = {"email": "bob@acme.test", "active": value}
    problem = refused(team, "put", "/v1/users/bob", body, "active")
    assert problem["errors"][0]["message"] == "must be true or false"
    refused(
        team, "patch", "/v1/account", {"enhanced_inbound": value}, "enhanced_inbound"
    )


def test_account_creation_refuses_a_boolean_in_words(client):
    before = client.app.state.ledger.head()
    body = {"name": "Initech", "enhanced_inbound": "yes"}
    response = client.post("/v1/accounts", json=body, headers=ADMIN)
    assert_problem(response, 422, "enhanced_inbound")
    assert client.app.state.ledger.head() == before


def test_sms_body_of_1600_characters_is_taken_and_1601_refused(team):
    assert team.post("/v1/inbound-sms", {**SMS, "body": "x" * 1600}).status_code == 201
    problem = refused(
        team, "post", "/v1/inbound-sms", {**SMS, "body": "x" * 1601}, "body"
    )
    assert problem["errors"][0]["message"] == "must be at most 1600 characters"
    refused(team, "post", "/v1/interactions/sms", {**NOTE, "body": "x" * 1601}, "body")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("put", "/v1/users/bob", {"email": "b@acme.test", "name": "B" * 201}, "name"),
        ("put", "/v1/contacts/c2", {"name": "J" * 201, "phones": []}, "name"),
        ("put", "/v1/users/bob", {"email": "b" * 250 + "@acme.test"}, "email"),
        ("post", "/v1/inbound-sms", {**SMS, "from": "1" * 65}, "from"),
        ("post", "/v1/interactions/sms", {**NOTE, "to": "5" * 65}, "to"),
        (
            "post",
            "/v1/interactions/sms",
            {**NOTE, "interaction_id": "i" * 201},
            "interaction_id",
        ),
        ("patch", "/v1/account", {"name": "A" * 201}, "name"),
        ("patch", "/v1/account", {"twilio_auth_token": "t" * 257}, "twilio_auth_token"),
        (
            "put",
            f"/v1/inbound-numbers/{NUMBER}",
            {"backup_email": "d@a.test", "label": "L" * 201},
            "label",
        ),
    ],
    ids=[
        "user-name",
        "contact-name",
        "email",
        "sender",
        "to",
        "id",
        "account-name",
        "secret",
        "label",
    ],
)
def test_lengths_are_capped(team, method, path, body, field):
    refused(team, method, path, body, field)


@pytest.mark.parametrize(
    "name", ["Jane\x07Roe", "Jane\nRoe", "Jane\x9bRoe", "Jane\x7f"], ids=repr
)
def test_names_have_no_control_characters(team, name):
    problem = refused(
        team, "put", "/v1/contacts/c1", {"name": name, "phones": [JANE]}, "name"
    )
    assert problem["errors"][0]["message"] == "must not contain control characters"
    refused(
        team, "put", "/v1/users/ann", {"email": "ann@acme.test", "name": name}, "name"
    )


def test_an_sms_body_may_have_line_breaks(team):
    assert (
        team.post("/v1/inbound-sms", {**SMS, "body": "Yes,\nTuesday"}).status_code
        == 201
    )


def moment(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def test_occurred_at_more_than_five_minutes_ahead_is_refused(team):
    problem = refused(
        team,
        "post",
        "/v1/interactions/sms",
        {**NOTE, "occurred_at": moment(minutes=10)},
        "occurred_at",
    )
    assert "300 seconds in the future" in problem["errors"][0]["message"]
    refused(
        team,
        "post",
        "/v1/interactions/calls",
        {**NOTE, "occurred_at": moment(days=400)},
        "occurred_at",
    )
    refused(
        team,
        "post",
        "/v1/inbound-sms",
        {**SMS, "received_at": moment(hours=1)},
        "received_at",
    )
    ahead = team.post(
        "/v1/interactions/sms", {**NOTE, "occurred_at": moment(minutes=1)}
    )
    assert ahead.status_code == 201, ahead.text


def test_how_far_ahead_is_set_by_the_settings(settings):
    settings.max_future_seconds = 0
    with TestClient(create_app(settings)) as client:
        tenant = Tenant(client, "Acme")
        seed_case_one(tenant)
        refused(
            tenant,
            "post",
            "/v1/interactions/sms",
            {**NOTE, "occurred_at": moment(minutes=1)},
            "occurred_at",
        )
        past = tenant.post(
            "/v1/interactions/sms", {**NOTE, "occurred_at": moment(seconds=-1)}
        )
        assert past.status_code == 201, past.text


@pytest.mark.parametrize(
    "phone", ["+14155550111 ext. 12", "(415) 555-0111 x3", "4155550111;ext=5"]
)
def test_a_phone_with_an_extension_is_refused_not_cut(team, phone):
    problem = refused(team, "put", "/v1/contacts/c2", {"phones": [phone]}, "phones[0]")
    assert "extension" in problem["errors"][0]["message"]
    refused(team, "post", "/v1/interactions/sms", {**NOTE, "to": phone}, "to")
    refused(team, "post", "/v1/inbound-sms", {**SMS, "from": phone}, "from")
    before = head(team)
    response = team.put(
        f"/v1/inbound-numbers/{phone.replace(';', '%3B')}",
        {"backup_email": "d@acme.test"},
    )
    assert_problem(response, 422, "number")
    assert head(team) == before


def test_last_event_id_beyond_a_64_bit_position_is_422(team):
    team.ok("patch", "/v1/account", {"enhanced_inbound": True})
    for last in (str(2**63), "99999999999999999999999"):
        response = team.client.get(
            "/v1/users/ann/alerts", headers={**team.headers, "Last-Event-ID": last}
        )
        assert_problem(response, 422, "Last-Event-ID")
    largest = {**team.headers, "Last-Event-ID": str(2**63 - 1)}
    response = team.client.get(
        "/v1/users/ann/alerts", headers=largest, params={"timeout": 0.1}
    )
    assert response.status_code == 200, response.text


def test_the_recipient_filter_ignores_case(team):
    team.ok("post", "/v1/inbound-sms", {**SMS, "message_id": "SM1"})

    for recipient in ("ann@acme.test", "Ann@ACME.test"):
        page = team.get("/v1/routing-decisions", params={"recipient": recipient}).json()
        assert [d["message_id"] for d in page["items"]] == ["SM1"]


def test_a_choice_is_named_in_words(team):
    problem = refused(
        team,
        "patch",
        "/v1/account",
        {"routing_policy": "round_robin"},
        "routing_policy",
    )
    assert problem["errors"] == [
        {
            "field": "routing_policy",
            "message": "must be one of sms_then_call, most_recent_interaction",
        }
    ]
    assert problem["detail"] == "Invalid routing_policy."


def test_an_unknown_field_and_a_missing_one_are_said_in_words(team):
    problem = refused(
        team,
        "put",
        "/v1/users/bob",
        {"name": "Bob", "emial": "b@acme.test"},
        "email",
        "emial",
    )
    assert [e["message"] for e in problem["errors"]] == [
        "is required",
        "is not a known field",
    ]


@pytest.fixture
def plain(settings) -> Iterator[TestClient]:
    """The app on the same database, every request answered by FastAPI."""
    with TestClient(create_app(settings, hot=False)) as other:
        yield other


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/inbound-sms", {**SMS, "body": "x" * 1601}, "body"),
        ("/v1/inbound-sms", {**SMS, "received_at": moment(hours=1)}, "received_at"),
        (
            "/v1/interactions/sms",
            {**NOTE, "occurred_at": moment(hours=1)},
            "occurred_at",
        ),
        ("/v1/interactions/sms", {**NOTE, "to": "+14155550111 x2"}, "to"),
        ("/v1/interactions/calls", {**NOTE, "from": "N\x00"}, "from"),
    ],
    ids=["body", "received_at", "occurred_at", "extension", "nul"],
)
def test_hot_routes_refuse_as_fastapi_does(team, plain, path, body, field):
    hot = team.post(path, body)
    other = plain.post(path, json=body, headers=team.headers)

    assert_problem(hot, 422, field)
    assert hot.content == other.content
