"""The log: every line of a request names its id; each decision is one line that
says who got it and why, never what the SMS said or who sent it."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from smsledger.api.logs import JsonFormatter, RequestIdFilter, TextFormatter
from tests.api.conftest import JANE, NUMBER, Tenant, seed_case_one

LINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR|DEBUG) \S+ \[\S+\] "
)


class Captured:
    def __init__(self, formatter: logging.Formatter) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.addFilter(RequestIdFilter())
        self.handler.setFormatter(formatter)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()


@pytest.fixture(params=["text", "json"])
def captured(request: pytest.FixtureRequest) -> Iterator[Captured]:
    """The service's own log, formatted as in production, kept for the test
    (the test client logs its requests too, paths and all: not the service)."""
    formatter = TextFormatter() if request.param == "text" else JsonFormatter()
    capture = Captured(formatter)
    root = logging.getLogger("smsledger")
    level = root.level
    root.addHandler(capture.handler)
    root.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        root.removeHandler(capture.handler)
        root.setLevel(level)


def parsed(line):
    """A line in either format, as fields."""
    if line.startswith("{"):
        return json.loads(line)
    assert LINE.match(line), line
    request_id = re.search(r"\[(\S+)\]", line)
    assert request_id
    return {"request_id": request_id.group(1), "message": line}


def test_request_id_is_taken_from_the_client_and_returned(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert response.headers["x-request-id"] == "lb-7f3a.42"


def test_request_id_is_made_when_missing_or_unfit(client):
    made = client.get("/healthz").headers["x-request-id"]
    again = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert made != again
    forged = client.get("/healthz", headers={"X-Request-ID": "a b\tINFO fake"})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])


def test_head_healthz_answers_without_a_body(client):
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("hot", [True, False], ids=["hot-route", "fastapi"])
def test_decision_is_one_line_with_the_request_id_and_no_sms_or_phone(
    settings, captured, hot
):
    from fastapi.testclient import TestClient

    from smsledger.api.app import create_app

    with TestClient(create_app(settings, hot=hot)) as client:
        acme = Tenant(client, "Acme")
        seed_case_one(acme)
        answer = acme.client.post(
            "/v1/inbound-sms",
            json={
                "from": JANE,
                "to": NUMBER,
                "body": "my card is 4111 1111 1111 1111",
                "message_id": "SM-log-1",
            },
            headers={**acme.headers, "X-Request-ID": "req-route-1"},
        )
        assert answer.status_code == 201, answer.text
        # A stranger: routed to the number's backup address, shown only hashed.
        stranger = acme.client.post(
            "/v1/inbound-sms",
            json={"from": "+14155550199", "to": NUMBER, "body": "who is this?"},
            headers={**acme.headers, "X-Request-ID": "req-route-2"},
        )
        assert stranger.json()["rule"] == "unknown_sender"

    lines = [parsed(line) for line in captured.lines()]
    decisions = [line for line in lines if " decision " in f" {line['message']} "]
    assert [d["request_id"] for d in decisions] == ["req-route-1", "req-route-2"]
    first, second = (d["message"] for d in decisions)
    assert "message_id=SM-log-1" in first
    assert f"account_id={acme.account_id}" in first
    assert "rule=previous_sms" in first
    assert "recipient=user:ann" in first
    assert "rule=unknown_sender" in second
    assert re.search(r"recipient=email-sha256:[0-9a-f]{16}", second)
    whole = "\n".join(captured.lines())
    for secret in ("4111", "who is this", "desk@acme.test"):
        assert secret not in whole
    for phone in (JANE, NUMBER, "+14155550199"):
        assert phone.lstrip("+") not in whole
    if "time" in decisions[0]:  # JSON: the decision's fields are fields too
        assert decisions[0]["rule"] == "previous_sms"
        assert decisions[0]["recipient"] == "user:ann"


def test_every_line_of_a_request_has_its_id(client, captured):
    """Configuring a number releases the messages held for it: each release
    is logged, from the worker thread serving that request, under its id."""
    acme = Tenant(client, "Acme")
    logging.getLogger("smsledger.test").info("outside any request")
    for n in range(2):
        held = client.post(
            "/v1/inbound-sms",
            json={"from": JANE, "to": NUMBER, "body": "hi", "message_id": f"SM{n}"},
            headers={**acme.headers, "X-Request-ID": f"req-held-{n}"},
        )
        assert held.json()["status"] == "held"
    client.put(
        f"/v1/inbound-numbers/{NUMBER}",
        json={"backup_email": "desk@acme.test"},
        headers={**acme.headers, "X-Request-ID": "req-configure"},
    )
    lines = [parsed(line) for line in captured.lines()]
    assert lines[0]["request_id"] == "-"
    assert [line["request_id"] for line in lines[1:]] == [
        "req-held-0",
        "req-held-1",
        "req-configure",
        "req-configure",
    ]
    assert all("status=routed" in line["message"] for line in lines[3:])
