"""Fixtures for tests over HTTP: the app on a clean database, once per backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from smsledger.api.app import create_app
from smsledger.api.settings import Settings
from tests.conftest import TEST_SECRET_KEY

ADMIN_TOKEN = "admin-secret"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PUBLIC_BASE_URL = "https://sms.example.com"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        admin_token=SecretStr(ADMIN_TOKEN),
        public_base_url=PUBLIC_BASE_URL,
        secret_key=SecretStr(TEST_SECRET_KEY),
        # Delivery appends events as it goes; tests/delivery runs it itself.
        delivery_worker=False,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # The context runs the app's lifespan, which closes the ledger at the end.
    with TestClient(app) as test_client:
        yield test_client


class Tenant:
    """An account seen from outside: its id, its key, and requests made with it."""

    def __init__(self, client: TestClient, name: str) -> None:
        response = client.post("/v1/accounts", json={"name": name}, headers=ADMIN)
        assert response.status_code == 201, response.text
        self.client = client
        self.account_id: str = response.json()["account_id"]
        self.api_key: str = response.json()["api_key"]
        self.headers = {"Authorization": f"Bearer {self.api_key}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kwargs)

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(path, json=body, headers=self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, json=body, headers=self.headers)

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(path, json=body, headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=self.headers)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """Make a request that must succeed; its JSON body."""
        call = getattr(self, method)
        response = call(path) if body is None else call(path, body)
        assert response.status_code in (200, 201, 204), response.text
        return response.json() if response.content else None


@pytest.fixture
def acme(client: TestClient) -> Tenant:
    return Tenant(client, "Acme")


@pytest.fixture
def globex(client: TestClient) -> Tenant:
    return Tenant(client, "Globex")


NUMBER = "+14155550100"
JANE = "+14155550111"


def seed_case_one(tenant: Tenant) -> None:
    """The seed's case 1: Ann texted Jane from the team's number."""
    tenant.ok(
        "put", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "desk@acme.test"}
    )
    tenant.ok("put", "/v1/users/ann", {"email": "ann@acme.test", "name": "Ann"})
    tenant.ok("put", "/v1/contacts/c1", {"name": "Jane Roe", "phones": [JANE]})
    tenant.ok(
        "post",
        "/v1/interactions/sms",
        {
            "interaction_id": "i1",
            "user_id": "ann",
            "contact_id": "c1",
            "to": JANE,
            "from": NUMBER,
            "occurred_at": "2026-11-01T10:00:00Z",
        },
    )


def without_delivery(decision: dict[str, Any]) -> dict[str, Any]:
    """A decision without its delivery, which moves on after the decision."""
    return {k: v for k, v in decision.items() if k != "delivery"}


def inbound_events(app: FastAPI) -> int:
    """How many inbound SMS events the ledger holds."""
    ledger = app.state.ledger
    notifications = ledger.recorder.select_notifications(start=1, limit=1_000_000)
    return sum(1 for n in notifications if ":InboundSms." in n.topic)


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status`, naming `fields`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status
    assert [e["field"] for e in body["errors"]] == list(fields)
    return body
