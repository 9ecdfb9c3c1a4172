"""Fair use over HTTP: writes per key, expensive requests per account, 429s."""

import re
import threading

import pytest
from pydantic import SecretStr

from smsledger.api.settings import Settings
from tests.api.conftest import (
    ADMIN_TOKEN,
    JANE,
    NUMBER,
    PUBLIC_BASE_URL,
    Tenant,
    assert_problem,
    seed_case_one,
)
from tests.delivery.conftest import wait_until

ITEM = re.compile(r'^"(?P<name>[\w-]+)";r=(?P<r>\d+)(;t=(?P<t>\d+))?$')


@pytest.fixture
def settings(database_url):
    return Settings(
        database_url=database_url,
        admin_token=SecretStr(ADMIN_TOKEN),
        public_base_url=PUBLIC_BASE_URL,
        delivery_worker=False,
        write_limit=12,
        write_limit_window=600,
        expensive_limit=3,
        expensive_limit_window=600,
        expensive_concurrency=1,
    )


def items(response, field):
    """The items of a RateLimit field (a list: one per limit met)."""
    return [item.strip() for item in response.headers[field].split(",")]


def remaining(response, name):
    """`r` of the named limit's item in the RateLimit field."""
    found = [ITEM.match(item) for item in items(response, "RateLimit")]
    (match,) = [m for m in found if m and m["name"] == name]
    return int(match["r"])


def assert_limited(response, policy, name):
    """A 429 problem that says when to retry and which limit it met."""
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    assert policy in items(response, "RateLimit-Policy")
    assert remaining(response, name) == 0


def test_writes_beyond_the_keys_limit_are_429_on_every_route(acme, client):
    seed_case_one(acme)  # 4 writes
    user = acme.put("/v1/users/bob", {"email": "bob@acme.test"})
    left = remaining(user, "writes")
    assert items(user, "RateLimit-Policy") == ['"writes";q=12;w=600']
    assert left == 12 - 5
    for _ in range(left):  # the hot route's writes count as any other's
        sms = acme.post("/v1/interactions/sms", {"user_id": "ann",
                        "contact_id": "c1", "to": JANE, "from": NUMBER})  # fmt: skip
        assert sms.status_code == 201, sms.text

    refused_hot = acme.post("/v1/inbound-sms", {"from": JANE, "to": NUMBER,
                            "body": "hi", "message_id": "SM-late"})  # fmt: skip
    refused = acme.put("/v1/users/cat", {"email": "cat@acme.test"})

    assert_limited(refused_hot, '"writes";q=12;w=600', "writes")
    assert_limited(refused, '"writes";q=12;w=600', "writes")
    assert acme.get("/v1/routing-decisions/SM-late").status_code == 404
    assert acme.get("/v1/users/cat").status_code == 404
    assert acme.get("/v1/users/ann").status_code == 200  # reads are not counted
    other = Tenant(client, "Globex")
    assert other.put("/v1/users/ann", {"email": "ann@globex.test"}).status_code == 201


def test_the_write_limit_is_generous_unless_set(monkeypatch, tmp_path):
    default = Settings(database_url=f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("WRITE_LIMIT", "5")
    monkeypatch.setenv("WRITE_LIMIT_WINDOW", "2")
    chosen = Settings(database_url=f"sqlite:///{tmp_path}/x.db")

    # Over 3,000 writes a second from one key, in each worker: more than a
    # worker serves (docs/PERFORMANCE.md).
    assert default.write_limit / default.write_limit_window > 3_000
    assert (chosen.write_limit, chosen.write_limit_window) == (5, 2)


def replay(tenant, message_id="SM1"):
    return tenant.post(f"/v1/routing-decisions/{message_id}/replay", None)


def test_expensive_requests_beyond_the_accounts_quota_are_429(acme, client):
    seed_case_one(acme)
    acme.ok("post", "/v1/inbound-sms", {"from": JANE, "to": NUMBER, "body": "hi",
            "message_id": "SM1"})  # fmt: skip
    other = Tenant(client, "Globex")

    first = replay(acme)
    second = acme.post("/v1/routing-decisions/what-if", {"policy": "sms_then_call"})
    third = acme.get("/v1/contacts/c1/history")
    fourth = replay(acme)

    assert [first.status_code, second.status_code, third.status_code] == [200] * 3
    assert [remaining(r, "expensive") for r in (first, second, third)] == [2, 1, 0]
    assert_limited(fourth, '"expensive";q=3;w=600', "expensive")
    assert replay(other).status_code == 404  # its own quota: answered, not 429


def test_a_long_listing_is_expensive_and_a_short_one_is_not(acme):
    for _ in range(5):
        assert (
            acme.get("/v1/routing-decisions", params={"limit": 100}).status_code == 200
        )
    for _ in range(3):
        assert (
            acme.get("/v1/routing-decisions", params={"limit": 101}).status_code == 200
        )

    refused = acme.get("/v1/routing-decisions", params={"limit": 200})

    assert_limited(refused, '"expensive";q=3;w=600', "expensive")
    assert acme.get("/v1/routing-decisions", params={"limit": 100}).status_code == 200


def test_an_expensive_request_while_the_accounts_slot_is_taken_is_429(acme, app):
    seed_case_one(acme)
    ledger = app.state.ledger
    entered, go = threading.Event(), threading.Event()
    what_if = ledger.what_if

    def held(*args, **kwargs):
        entered.set()
        assert go.wait(10)
        return what_if(*args, **kwargs)

    ledger.what_if = held
    body = {"policy": "most_recent_interaction"}
    answers = []
    running = threading.Thread(
        target=lambda: answers.append(acme.post("/v1/routing-decisions/what-if", body))
    )
    running.start()
    try:
        assert entered.wait(10)
        refused = replay(acme)
    finally:
        go.set()
        running.join(10)

    assert_limited(refused, '"expensive-running";q=1', "expensive-running")
    assert refused.headers["Retry-After"] == "1"
    assert answers[0].status_code == 200
    # The slot is free again once the first has been answered.
    wait_until(lambda: acme.get("/v1/routing-decisions", params={"limit": 150})
               .status_code == 200)  # fmt: skip
