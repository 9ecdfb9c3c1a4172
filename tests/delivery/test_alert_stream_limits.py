"""Alert streams open at once are capped per API key and per user: 429 beyond."""

import httpx
import pytest

from smsledger.api.app import create_app
from smsledger.api.settings import Settings
from tests.delivery.conftest import served, wait_until
from tests.delivery.test_alerts import Stream, Team, subscribe


@pytest.fixture
def app(database_url):
    settings = Settings(
        database_url=database_url,
        delivery_worker=False,
        alert_streams_per_key=2,
        alert_streams_per_user=1,
    )
    return create_app(settings)


@pytest.fixture
def ledger(app):
    return app.state.ledger


@pytest.fixture
def client(app):
    """A client of the app served on a free loopback port."""
    with served(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


def stream_of(client, team, user_id, **params):
    return client.stream(
        "GET", f"/v1/users/{user_id}/alerts", headers=team.headers, params=params
    )


def assert_capped(response, policy):
    response.read()
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Policy"] == policy
    assert response.headers["RateLimit"].endswith(";r=0")


def opens(client, team, user_id):
    with stream_of(client, team, user_id, timeout=0.1) as response:
        response.read()
        return response.status_code == 200


def test_a_second_stream_for_one_user_is_429_until_the_first_closes(ledger, client):
    acme = Team(ledger, "Acme")
    ledger.put_user(acme.ctx, "bob", "bob@acme.test")
    with subscribe(client, acme) as first:
        # Kept: a stream's line iterator, once dropped, closes its connection.
        opened = Stream(first)
        with stream_of(client, acme, "ann") as second:
            assert_capped(second, '"alert-streams-per-user";q=1')
        assert opens(client, acme, "bob")  # another user of the same key
        del opened

    wait_until(lambda: opens(client, acme, "ann"))


def test_streams_beyond_the_keys_cap_are_429(ledger, client):
    acme = Team(ledger, "Acme")
    globex = Team(ledger, "Globex", number="+14155550200")
    for user_id in ("bob", "cat"):
        ledger.put_user(acme.ctx, user_id, f"{user_id}@acme.test")
    with subscribe(client, acme) as ann, stream_of(client, acme, "bob") as bob:
        opened = Stream(ann), Stream(bob)
        with stream_of(client, acme, "cat") as cat:
            assert_capped(cat, '"alert-streams-per-key";q=2')
        assert opens(client, globex, "ann")  # another key, its own count
        del opened
