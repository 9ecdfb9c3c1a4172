"""Who may call what: account keys, the admin token, and nothing else."""

import pytest

from tests.api.conftest import ADMIN, assert_problem

# Every endpoint that needs an account's key, with a body it would accept.
KEYED = [
    ("GET", "/v1/account", None),
    ("PATCH", "/v1/account", {"name": "Renamed"}),
    ("PUT", "/v1/users/ann", {"email": "ann@acme.test"}),
    ("GET", "/v1/users/ann", None),
    ("PUT", "/v1/contacts/c1", {"phones": ["+14155550111"]}),
    ("GET", "/v1/contacts/c1", None),
    ("GET", "/v1/contacts/c1/history", None),
    ("PUT", "/v1/inbound-numbers/+14155550100", {"backup_email": "d@acme.test"}),
    ("GET", "/v1/inbound-numbers/+14155550100", None),
    ("DELETE", "/v1/inbound-numbers/+14155550100", None),
    (
        "POST",
        "/v1/interactions/sms",
        {"user_id": "ann", "contact_id": "c1", "to": "+14155550111", "from": "+1415"},
    ),
    (
        "POST",
        "/v1/interactions/campaign-sms",
        {"contact_id": "c1", "to": "+1", "from": "+1", "reply": "r@acme.test"},
    ),
    ("POST", "/v1/interactions/calls", {"user_id": "a", "contact_id": "c", "to": "+1"}),
    ("POST", "/v1/inbound-sms", {"from": "+1", "to": "+1", "body": "hi"}),
    ("GET", "/v1/routing-decisions/SM1", None),
    ("GET", "/v1/routing-decisions", None),
]
IDS = [f"{method} {path}" for method, path, _ in KEYED]


@pytest.mark.parametrize(("method", "path", "body"), KEYED, ids=IDS)
def test_missing_key_gets_401(client, method, path, body):
    response = client.request(method, path, json=body)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body"), KEYED, ids=IDS)
def test_wrong_key_gets_401(client, acme, method, path, body):
    headers = {"Authorization": f"Bearer {acme.api_key}x"}

    response = client.request(method, path, json=body, headers=headers)

    assert_problem(response, 401)


def test_other_scheme_than_bearer_gets_401(client, acme):
    headers = {"Authorization": f"Basic {acme.api_key}"}

    assert_problem(client.get("/v1/account", headers=headers), 401)


def test_admin_token_is_no_account_key(client):
    assert_problem(client.get("/v1/account", headers=ADMIN), 401)


def test_healthz_needs_no_key(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
