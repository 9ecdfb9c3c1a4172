"""Signing in to the console: a signed session cookie for the key's account,
and nothing for anyone else."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from smsledger.api.app import create_app
from smsledger.api.web.sessions import Session
from tests.web.conftest import Visitor, token


def signed_in(client: TestClient) -> bool:
    status: int = client.get("/decisions").status_code
    return status == 200


def test_sign_in_with_the_key_opens_a_session_cookie(app, acme):
    http = TestClient(app, follow_redirects=False)
    page = http.get("/sign-in")

    response = http.post(
        "/sign-in",
        data={
            "csrf_token": token(page.text),
            "api_key": acme.api_key,
            "next": "/users",
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/users"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("smsledger_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP, and no https PUBLIC_BASE_URL
    assert acme.api_key not in cookie
    assert signed_in(http)


def test_session_cookie_is_secure_behind_https(settings, acme):
    https = create_app(
        settings.model_copy(update={"public_base_url": "https://x.test"})
    )
    with TestClient(https, follow_redirects=False) as http:
        page = http.get("/sign-in")

        assert "Secure" in page.headers["set-cookie"]


def test_sign_in_over_https_marks_the_cookie_secure(app):
    http = TestClient(app, base_url="https://console.test", follow_redirects=False)

    assert "Secure" in http.get("/sign-in").headers["set-cookie"]


def test_a_wrong_key_is_refused_with_401_and_no_session(app, acme):
    http = TestClient(app, follow_redirects=False)
    page = http.get("/sign-in")

    response = http.post(
        "/sign-in", data={"csrf_token": token(page.text), "api_key": "sl_wrong"}
    )

    assert response.status_code == 401
    assert "not valid" in response.text
    assert not signed_in(http)


def test_sign_in_without_the_page_s_token_is_refused(app, acme):
    http = TestClient(app, follow_redirects=False)
    http.get("/sign-in")

    response = http.post("/sign-in", data={"csrf_token": "x", "api_key": acme.api_key})

    assert response.status_code == 403
    assert not signed_in(http)


def test_pages_ask_to_sign_in_and_come_back(app):
    http = TestClient(app, follow_redirects=False)

    response = http.get("/decisions?rule=no_owner")

    assert response.status_code == 303
    assert (
        response.headers["location"] == "/sign-in?next=%2Fdecisions%3Frule%3Dno_owner"
    )


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test", "/\\evil"])
def test_sign_in_never_sends_to_another_site(app, acme, target):
    http = TestClient(app, follow_redirects=False)
    page = http.get("/sign-in")

    response = http.post(
        "/sign-in",
        data={"csrf_token": token(page.text), "api_key": acme.api_key, "next": target},
    )

    assert response.headers["location"] == "/decisions"


def test_a_tampered_cookie_is_no_session(app, acme):
    visitor = Visitor(app, acme)
    cookies = visitor.http.cookies
    (cookie,) = [c for c in cookies.jar if c.name == "smsledger_session"]
    value = cookie.value or ""
    # Change the signature's first character: its last ones may carry bits the
    # decoder ignores, and "xx" may be what was there.
    at = value.rindex(".") + 1
    other = "A" if value[at] != "A" else "B"
    # In the cookie's own domain, or the client would send both.
    tampered = value[:at] + other + value[at + 1 :]
    cookies.set(cookie.name, tampered, domain=cookie.domain, path=cookie.path)
    assert [c.value for c in cookies.jar if c.name == cookie.name] == [tampered]

    assert not signed_in(visitor.http)


def test_a_cookie_signed_with_another_secret_is_no_session(settings, acme):
    other = create_app(settings.model_copy(update={"secret_key": SecretStr("other")}))
    with TestClient(other) as other_client:
        visitor = Visitor(other_client.app, acme)
        cookie = visitor.http.cookies["smsledger_session"]
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as http:
        http.cookies.set("smsledger_session", cookie)

        assert not signed_in(http)


def test_sign_out_ends_the_session(app, acme):
    visitor = Visitor(app, acme)

    response = visitor.http.post("/sign-out", data={"csrf_token": visitor.token()})

    assert response.status_code == 303
    assert not signed_in(visitor.http)


def test_sign_out_without_the_token_signs_nobody_out(app, acme):
    visitor = Visitor(app, acme)

    response = visitor.http.post("/sign-out", data={})

    assert response.status_code == 403
    assert signed_in(visitor.http)


def test_pages_are_not_cached_and_run_only_the_app_s_script(app, acme):
    visitor = Visitor(app, acme)

    response = visitor.http.get("/decisions")

    assert response.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_session_of_one_user_is_no_way_into_the_console(app, acme):
    """The inbox's sessions are a user's; the console shows the whole account."""
    http = TestClient(app, follow_redirects=False)
    store = app.state.sessions
    session = Session.anonymous().signed_in(acme.account_id, user_id="ann")
    http.cookies.set("smsledger_session", store.serializer.dumps(asdict(session)))

    assert not signed_in(http)
    account_wide = Session.anonymous().signed_in(acme.account_id)
    http.cookies.set("smsledger_session", store.serializer.dumps(asdict(account_wide)))
    assert signed_in(http)
