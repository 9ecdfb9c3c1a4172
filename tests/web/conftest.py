"""Fixtures for the console over HTTP, without a browser: the app on a clean
database, once per backend, and signed-in visitors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
def maildir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def settings(database_url: str, maildir: Path) -> Settings:
    return Settings(
        database_url=small_pool(database_url),
        maildir=str(maildir),
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


class TeamMember:
    """A browser of its own on the app, signed in as one user of `tenant` by
    a link the API made."""

    def __init__(self, app: Any, tenant: Tenant, user_id: str) -> None:
        self.http = TestClient(app, follow_redirects=False)
        self.tenant = tenant
        self.user_id = user_id
        link = tenant.ok("post", f"/v1/users/{user_id}/sign-in-links", {})["url"]
        response = use_link(self.http, link)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/inbox"

    def token(self, path: str = "/inbox") -> str:
        return token(self.http.get(path).text)

    def post(self, path: str, **form: str) -> Any:
        return self.http.post(path, data={"csrf_token": self.token(), **form})


def use_link(http: TestClient, url: str) -> Any:
    """Open a sign-in link and press its button, as its reader would."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    page = http.get(path)
    assert page.status_code == 200, page.text
    return http.post(
        parts.path, data={"csrf_token": token(page.text), "next": _next(page.text)}
    )


NEXT = re.compile(r'name="next" value="([^"]*)"')


def _next(html: str) -> str:
    found = NEXT.search(html)
    return found.group(1) if found else ""


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
