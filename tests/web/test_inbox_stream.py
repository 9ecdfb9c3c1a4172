"""The inbox's pops, read from a real server on loopback as the page's script
reads them (a test client would wait for the end of a stream that never
ends): a session's own alerts only, said with names, resumed after a dropped
connection from `Last-Event-ID`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.conftest import ADMIN, JANE, NUMBER, seed_case_one
from tests.delivery.conftest import served
from tests.web.conftest import token

NEXT_ID = re.compile(r"^id: (\d+)$")


@pytest.fixture
def base_url(app) -> Iterator[str]:
    with served(app) as url:
        yield url


class Api:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}
        )

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def text(self, message_id: str) -> None:
        self.ok(
            "POST",
            "/v1/inbound-sms",
            {"from": JANE, "to": NUMBER, "body": f"Text {message_id}",
             "message_id": message_id},
        )  # fmt: skip


@pytest.fixture
def api(base_url) -> Api:
    """Acme, enhanced, with Ann (who texted Jane last) and Bob, made over
    HTTP: the server's lifespan is the only one."""
    made = httpx.post(
        base_url + "/v1/accounts",
        json={"name": "Acme", "enhanced_inbound": True},
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text
    acme = Api(base_url, made.json()["api_key"])
    seed_case_one(acme)  # type: ignore[arg-type]
    acme.ok("put", "/v1/users/bob", {"email": "bob@acme.test", "name": "Bob Stone"})
    return acme


def signed_in(base_url: str, api: Api, user_id: str) -> httpx.Client:
    browser = httpx.Client(base_url=base_url, timeout=10)
    url = api.ok("POST", f"/v1/users/{user_id}/sign-in-links", {})["url"]
    path = urlsplit(url).path
    page = browser.get(path)
    used = browser.post(path, data={"csrf_token": token(page.text)})
    assert used.status_code == 303
    return browser


def first_pop(
    browser: httpx.Client, after: int, last_event_id: int | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    with browser.stream(
        "GET", f"/inbox/alerts?after={after}", headers=headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        position = None
        for line in response.iter_lines():
            if found := NEXT_ID.match(line):
                position = int(found.group(1))
            elif line.startswith("data: "):
                assert position is not None
                return position, json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended")


def test_a_session_s_stream_resumes_after_the_last_event_it_saw(app, base_url, api):
    ann = signed_in(base_url, api, "ann")
    head = app.state.ledger.head()
    api.text("SM1")
    api.text("SM2")

    first, pop = first_pop(ann, after=head)
    resumed, next_pop = first_pop(ann, after=head, last_event_id=first)

    assert pop["message_id"] == "SM1"
    assert pop["sender"] == "Jane Roe"
    assert pop["body"] == "Text SM1"
    assert pop["url"] == "/inbox/SM1"
    assert pop["handed_by"] is None
    assert next_pop["message_id"] == "SM2"
    assert resumed > first


def test_a_hand_off_pops_for_the_colleague_with_who_and_why(app, base_url, api):
    ann = signed_in(base_url, api, "ann")
    bob = signed_in(base_url, api, "bob")
    api.text("SM1")
    head = app.state.ledger.head()
    csrf = token(ann.get("/inbox").text)

    handed = ann.post(
        "/inbox/SM1/hand-off",
        data={"csrf_token": csrf, "to_user_id": "bob", "note": "Your client"},
    )
    _, pop = first_pop(bob, after=head)

    assert handed.status_code == 303
    assert pop["message_id"] == "SM1"
    assert pop["handed_by"] == "Ann"
    assert pop["note"] == "Your client"


def test_without_enhanced_inbound_there_is_no_stream(base_url, api):
    api.ok("PATCH", "/v1/account", {"enhanced_inbound": False})
    ann = signed_in(base_url, api, "ann")

    response = ann.get("/inbox/alerts?after=0")

    assert response.status_code == 409
    assert "/inbox/alerts" not in ann.get("/inbox").text
