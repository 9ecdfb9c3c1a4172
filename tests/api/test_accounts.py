"""Accounts: created with the admin token, each with a key shown once."""

from fastapi.testclient import TestClient

from smsledger.api.app import create_app
from smsledger.ledger.application import hash_key
from tests.api.conftest import ADMIN, assert_problem


def test_admin_creates_account_with_its_key(client):
    response = client.post(
        "/v1/accounts",
        json={"name": "Acme", "routing_policy": "most_recent_interaction"},
        headers=ADMIN,
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Acme"
    assert body["routing_policy"] == "most_recent_interaction"
    assert body["default_region"] == "US"
    assert body["enhanced_inbound"] is False
    assert body["api_key"]
    key = {"Authorization": f"Bearer {body['api_key']}"}
    assert (
        client.get("/v1/account", headers=key).json()["account_id"]
        == (body["account_id"])
    )


def test_api_key_is_shown_once_and_stored_only_as_a_hash(client, acme, app):
    settings = acme.ok("get", "/v1/account")

    assert "api_key" not in settings
    ledger = app.state.ledger
    stored = b"".join(
        n.state for n in ledger.recorder.select_notifications(start=1, limit=100)
    )
    assert acme.api_key.encode() not in stored
    assert hash_key(acme.api_key).encode() in stored


def test_account_key_cannot_create_accounts(client, acme):
    response = client.post("/v1/accounts", json={"name": "Evil"}, headers=acme.headers)

    assert_problem(response, 401)


def test_account_creation_without_a_token_gets_401(client):
    assert_problem(client.post("/v1/accounts", json={"name": "Acme"}), 401)


def test_account_creation_with_a_wrong_token_gets_401(client):
    headers = {"Authorization": f"{ADMIN['Authorization']}x"}

    response = client.post("/v1/accounts", json={"name": "Acme"}, headers=headers)

    assert_problem(response, 401)


def test_no_admin_access_without_admin_token_setting(settings):
    settings.admin_token = None
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/accounts", json={"name": "Acme"}, headers=ADMIN)

    assert_problem(response, 401)


def test_unknown_policy_is_422_naming_routing_policy(client):
    response = client.post(
        "/v1/accounts", json={"name": "Acme", "routing_policy": "random"}, headers=ADMIN
    )

    assert_problem(response, 422, "routing_policy")


def test_unknown_region_is_422_naming_default_region(client):
    response = client.post(
        "/v1/accounts", json={"name": "Acme", "default_region": "XX"}, headers=ADMIN
    )

    assert_problem(response, 422, "default_region")


def test_blank_name_is_422(client):
    response = client.post("/v1/accounts", json={"name": "  "}, headers=ADMIN)

    assert_problem(response, 422, "name")


def test_patch_changes_only_the_fields_sent(acme):
    response = acme.patch("/v1/account", {"routing_policy": "most_recent_interaction"})

    assert response.status_code == 200
    body = response.json()
    assert body["routing_policy"] == "most_recent_interaction"
    assert body["name"] == "Acme"
    assert acme.ok("get", "/v1/account") == body


def test_twilio_auth_token_is_set_but_never_shown(acme):
    body = acme.ok("patch", "/v1/account", {"twilio_auth_token": "secret-token"})

    assert body["twilio_auth_token_set"] is True
    assert "secret-token" not in str(acme.ok("get", "/v1/account"))


def test_patch_refuses_null(acme):
    response = acme.patch("/v1/account", {"name": None})

    assert_problem(response, 422, "name")
    assert acme.ok("get", "/v1/account")["name"] == "Acme"


def test_patch_with_a_bad_field_changes_nothing(acme):
    response = acme.patch(
        "/v1/account", {"name": "Renamed", "default_region": "nowhere"}
    )

    assert_problem(response, 422, "default_region")
    assert acme.ok("get", "/v1/account")["name"] == "Acme"
