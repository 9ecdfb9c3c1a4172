"""Fixtures for the console over HTTP, without a browser: the app on a clean
database, once per backend, and signed-in visitors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from smsledger.api.app import create_app
from smsledger.api.settings import Settings
from tests.api.conftest import ADMIN, Tenant
from tests.conftest import small_pool

SECRET = "web-tests-secret-key-0123456789abcdef"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=small_pool(database_url),
        admin_token=SecretStr(ADMIN["Authorization"].removeprefix("Bearer ")),
        secret_key=SecretStr(SECRET),
        delivery_worker=False,
    )


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


class Visitor:
    """A browser of its own (its own cookies) on the app, signed in to `tenant`."""

    def __init__(self, app: Any, tenant: Tenant) -> None:
        self.http = TestClient(app, follow_redirects=False)
        self.tenant = tenant
        page = self.http.get("/sign-in")
        response = self.http.post(
            "/sign-in",
            data={"csrf_token": token(page.text), "api_key": tenant.api_key},
        )
        assert response.status_code == 303, response.text

    def token(self, path: str = "/users") -> str:
        return token(self.http.get(path).text)


def token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, html
    return found.group(1)


@pytest.fixture
def acme(client):
    return Tenant(client, "Acme")


@pytest.fixture
def globex(client):
    return Tenant(client, "Globex")
