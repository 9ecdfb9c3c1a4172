"""Signing in to the inbox by a mailed link: a link works once, for 15
minutes, for an active user, and opens a session of that user's account only;
asking for one tells nobody whether an address is known."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import JANE, NUMBER, seed_case_one
from tests.web.conftest import token, use_link

SPENT = "That sign-in link does not work any more"
LINK = re.compile(r"https?://\S+/sign-in/link/\S+")


@pytest.fixture
def history(acme):
    seed_case_one(acme)
    acme.ok(
        "post",
        "/v1/inbound-sms",
        {"from": JANE, "to": NUMBER, "body": "Call me back", "message_id": "SM1"},
    )
    return acme


def browser(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def link(tenant, user_id: str = "ann") -> str:
    url: str = tenant.ok("post", f"/v1/users/{user_id}/sign-in-links", {})["url"]
    return url


def test_a_link_signs_its_user_in_to_their_inbox(app, history):
    http = browser(app)

    response = use_link(http, link(history))

    assert response.status_code == 303
    assert response.headers["location"] == "/inbox"
    page = http.get("/inbox")
    assert page.status_code == 200
    assert "Ann · Acme" in page.text
    assert "Call me back" in page.text


def test_opening_a_link_does_not_use_it(app, history):
    """A mail scanner that fetches the link leaves it to its reader."""
    url = link(history)
    assert browser(app).get(urlsplit(url).path).status_code == 200

    assert use_link(browser(app), url).status_code == 303


def test_a_link_works_once(app, history):
    url = link(history)
    assert use_link(browser(app), url).status_code == 303
    other = browser(app)

    response = use_link(other, url)

    assert response.status_code == 400
    assert SPENT in response.text
    assert other.get("/inbox").status_code == 303


def test_an_expired_link_fails(app, history):
    ledger = app.state.ledger
    issued = ledger.issue_sign_in_link(
        ledger.context(history.account_id),
        "ann",
        base_url="http://testserver",
        now=datetime.now(UTC) - timedelta(minutes=16),
    )
    http = browser(app)

    response = use_link(http, issued.url)

    assert response.status_code == 400
    assert SPENT in response.text
    assert http.get("/inbox").status_code == 303


def test_an_altered_link_fails(app, history):
    url = link(history)
    altered = url[:-1] + ("A" if url[-1] != "A" else "B")

    response = use_link(browser(app), altered)

    assert response.status_code == 400
    assert SPENT in response.text


def test_a_link_of_another_account_opens_that_account_only(app, history, globex):
    """Globex's Ann signs in to Globex: Acme's text to its own Ann, with the
    same ids, is nowhere to be seen or acted on."""
    globex.ok("put", "/v1/users/ann", {"email": "ann@acme.test", "name": "Ann G"})
    http = browser(app)
    assert use_link(http, link(globex)).status_code == 303
    csrf = token(http.get("/inbox").text)

    assert "Ann G · Globex" in http.get("/inbox").text
    assert "Call me back" not in http.get("/inbox").text
    assert http.get("/inbox/SM1").status_code == 404
    handed = http.post(
        "/inbox/SM1/hand-off", data={"csrf_token": csrf, "to_user_id": "ann"}
    )
    assert handed.status_code == 404
    assert not history.ok("get", "/v1/routing-decisions/SM1").get("handoffs")


def test_an_inactive_user_cannot_sign_in(app, history):
    url = link(history)
    history.ok("put", "/v1/users/ann", {"email": "ann@acme.test", "active": False})
    http = browser(app)

    response = use_link(http, url)

    assert response.status_code == 400
    assert SPENT in response.text
    assert http.get("/inbox").status_code == 303
    refused = history.post("/v1/users/ann/sign-in-links", {})
    assert refused.status_code == 422


def mails(maildir: Path) -> list[dict[str, str]]:
    found = []
    for path in sorted((maildir / "new").glob("*")) if maildir.exists() else []:
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        found.append({"to": str(mail["To"]), "body": body.get_content()})
    return found


def ask(app, email: str, next_path: str = "/inbox") -> str:
    http = browser(app)
    page = http.get("/sign-in?next=" + next_path)
    response = http.post(
        "/sign-in/link",
        data={"csrf_token": token(page.text), "email": email, "next": next_path},
    )
    assert response.status_code == 200
    return str(response.text)


def test_asking_for_a_link_answers_the_same_whether_the_address_is_known(
    app, history, maildir
):
    known = ask(app, "ann@acme.test")
    unknown = ask(app, "nobody@acme.test")

    assert known.replace("ann@acme.test", "ADDRESS") == unknown.replace(
        "nobody@acme.test", "ADDRESS"
    )
    assert "a sign-in link is on its way" in known
    sent = mails(maildir)
    assert [m["to"] for m in sent if LINK.search(m["body"])] == ["ann@acme.test"]


def test_a_mailed_link_brings_its_reader_back_to_the_text(app, history, maildir):
    page = browser(app).get("/inbox/SM1")
    assert page.status_code == 303
    back = page.headers["location"].split("next=", 1)[1]
    ask(app, "ann@acme.test", next_path="/inbox/SM1")
    (mailed,) = [m for m in mails(maildir) if LINK.search(m["body"])]
    http = browser(app)

    url = LINK.search(mailed["body"])
    assert url is not None
    response = use_link(http, url.group(0))

    assert back == "%2Finbox%2FSM1"
    assert response.status_code == 303
    assert response.headers["location"] == "/inbox/SM1"
    assert "Call me back" in http.get("/inbox/SM1").text
