"""Alerts: a user's live stream of the decisions routed to them (enhanced inbound).

The stream is read from a real server on loopback, as a client would: a test
client would wait for the whole response, which a live stream never ends.
"""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from smsledger.api.app import create_app
from smsledger.api.settings import Settings
from smsledger.ledger.application import Ledger
from tests.delivery.conftest import JANE, NUMBER, STRANGER, served, set_up_team

GLOBEX_NUMBER = "+14155550200"


@pytest.fixture
def app(database_url):
    return create_app(Settings(database_url=database_url, delivery_worker=False))


@pytest.fixture
def base_url(app) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port."""
    with served(app) as url:
        yield url


class Team:
    """An account with Ann, Jane Roe and a number, seen through its API key."""

    def __init__(
        self, ledger: Ledger, name: str, number=NUMBER, enhanced: bool = True
    ) -> None:
        settings, api_key = ledger.open_account(name, enhanced_inbound=enhanced)
        self.ctx = ledger.context(settings["account_id"])
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.number = number
        set_up_team(ledger, self.ctx, number)


@pytest.fixture
def ledger(app):
    return app.state.ledger


class Stream:
    """A client reading one alert stream, event by event."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        self.lines = response.iter_lines()
        assert next(self.lines).startswith(":")  # the stream is open

    def next_event(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for line in self.lines:
            if not line:
                if "data" in fields:
                    return {**fields, "data": json.loads(fields["data"])}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        raise AssertionError("the stream ended")


def subscribe(client: httpx.Client, team: Team, **kwargs):
    headers = {**team.headers, **kwargs.pop("headers", {})}
    return client.stream("GET", "/v1/users/ann/alerts", headers=headers, params=kwargs)


def post_sms(client: httpx.Client, team: Team, message_id: str, sender=JANE):
    response = client.post(
        "/v1/inbound-sms",
        headers=team.headers,
        json={
            "from": sender,
            "to": team.number,
            "body": "See you",
            "message_id": message_id,
        },
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def client(base_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


def test_subscribed_user_receives_alert_for_decision_routed_to_them(ledger, client):
    acme = Team(ledger, "Acme")
    with subscribe(client, acme, max_events=1) as response:
        stream = Stream(response)
        post_sms(client, acme, "SM1")
        event = stream.next_event()

    assert event["event"] == "alert"
    assert event["data"]["message_id"] == "SM1"
    assert event["data"]["recipient"] == {"email": "ann@acme.test", "user_id": "ann"}
    assert event["data"]["explanation"].startswith("Routed to ann@acme.test")
    assert int(event["id"]) > event["data"]["position"]


def test_reconnect_with_last_event_id_receives_missed_alerts(ledger, client):
    acme = Team(ledger, "Acme")
    with subscribe(client, acme, max_events=1) as response:
        stream = Stream(response)
        post_sms(client, acme, "SM1")
        seen = stream.next_event()
    post_sms(client, acme, "SM2")
    post_sms(client, acme, "SM3")

    headers = {"Last-Event-ID": seen["id"]}
    with subscribe(client, acme, headers=headers, max_events=2) as response:
        stream = Stream(response)
        missed = [stream.next_event(), stream.next_event()]

    assert [e["data"]["message_id"] for e in missed] == ["SM2", "SM3"]
    assert int(seen["id"]) < int(missed[0]["id"]) < int(missed[1]["id"])


def test_another_accounts_client_receives_nothing(ledger, client):
    acme, globex = Team(ledger, "Acme"), Team(ledger, "Globex", GLOBEX_NUMBER)
    with (
        subscribe(client, acme, max_events=1) as acme_response,
        subscribe(client, globex, max_events=1) as globex_response,
    ):
        acme_stream, globex_stream = Stream(acme_response), Stream(globex_response)
        post_sms(client, acme, "SM-acme")
        assert acme_stream.next_event()["data"]["message_id"] == "SM-acme"
        # Globex's own next alert comes first on its stream: Acme's never does.
        post_sms(client, globex, "SM-globex")
        assert globex_stream.next_event()["data"]["message_id"] == "SM-globex"


def test_only_decisions_routed_to_the_user_are_alerts(ledger, client):
    acme = Team(ledger, "Acme")
    post_sms(client, acme, "SM-stranger", sender=STRANGER)  # to the backup email
    post_sms(client, acme, "SM-jane")

    with subscribe(client, acme, headers={"Last-Event-ID": "0"}) as response:
        stream = Stream(response)
        assert stream.next_event()["data"]["message_id"] == "SM-jane"


def test_stream_ends_after_its_timeout(ledger, client):
    acme = Team(ledger, "Acme")
    with subscribe(client, acme, timeout=0.2) as response:
        stream = Stream(response)
        assert [line for line in stream.lines if line] == []


def test_decision_made_without_enhanced_inbound_raises_no_alert(ledger):
    acme = Team(ledger, "Acme", enhanced=False)
    ledger.route_inbound_sms(acme.ctx, JANE, NUMBER, "hi", "SM1")
    ledger.change_account(acme.ctx.account_id, enhanced_inbound=True)
    ctx = ledger.context(acme.ctx.account_id)
    ledger.route_inbound_sms(ctx, JANE, NUMBER, "hi", "SM2")

    alerts = ledger.alerts(ctx, "ann", after=0)
    assert [decision["message_id"] for _, decision in alerts] == ["SM2"]


def test_alerts_need_enhanced_inbound_and_a_known_user(app, ledger):
    plain = Team(ledger, "Plain", GLOBEX_NUMBER, enhanced=False)
    acme = Team(ledger, "Acme")
    with TestClient(app) as client:
        refused = client.get("/v1/users/ann/alerts", headers=plain.headers)
        unknown = client.get("/v1/users/nobody/alerts", headers=acme.headers)
        anonymous = client.get("/v1/users/ann/alerts")

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404
    assert anonymous.status_code == 401
