"""Recording notes and routing SMS: batched, and never on stale settings.

These two routes know a key seen before without a query, and carry out many
requests in one transaction. Another process (here: a second app on the same
database) may change the account meanwhile; the next request must follow.
"""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from smsledger.api.app import create_app
from tests.api.conftest import JANE, NUMBER, Tenant, seed_case_one

UK_PHONE = "+447400123456"


@pytest.fixture
def elsewhere(settings) -> Iterator[TestClient]:
    """The same service in another process: its own ledger, the same database."""
    with TestClient(create_app(settings)) as other:
        yield other


def as_seen_from(client: TestClient, tenant: Tenant) -> Tenant:
    twin = object.__new__(Tenant)
    twin.__dict__.update(tenant.__dict__, client=client)
    return twin


def test_policy_changed_elsewhere_decides_the_next_sms(acme, elsewhere):
    seed_case_one(acme)  # Ann texted Jane at 10:00
    acme.ok("put", "/v1/users/bob", {"email": "bob@acme.test"})
    call = {"interaction_id": "i2", "user_id": "bob", "contact_id": "c1", "to": JANE}
    acme.ok(
        "post",
        "/v1/interactions/calls",
        {**call, "occurred_at": "2026-11-01T11:00:00Z"},
    )
    first = acme.ok(
        "post", "/v1/inbound-sms", {"from": JANE, "to": NUMBER, "body": "a"}
    )
    assert first["recipient"]["user_id"] == "ann"

    as_seen_from(elsewhere, acme).ok(
        "patch", "/v1/account", {"routing_policy": "most_recent_interaction"}
    )
    after = acme.ok(
        "post", "/v1/inbound-sms", {"from": JANE, "to": NUMBER, "body": "b"}
    )

    assert after["policy"] == "most_recent_interaction"
    assert after["recipient"]["user_id"] == "bob"


def test_region_changed_elsewhere_parses_the_next_note_and_sms(acme, elsewhere):
    acme.ok("put", "/v1/users/ann", {"email": "ann@acme.test"})
    acme.ok("put", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "desk@acme.test"})
    acme.ok("put", "/v1/contacts/c1", {"phones": [JANE, UK_PHONE]})
    note = {"user_id": "ann", "contact_id": "c1", "from": NUMBER}
    acme.ok("post", "/v1/interactions/sms", {**note, "to": JANE})

    as_seen_from(elsewhere, acme).ok("patch", "/v1/account", {"default_region": "GB"})
    recorded = acme.ok("post", "/v1/interactions/sms", {**note, "to": "07400 123456"})
    decision = acme.ok(
        "post", "/v1/inbound-sms", {"from": "07400 123456", "to": NUMBER, "body": "b"}
    )

    assert recorded["to"] == UK_PHONE
    assert decision["from"] == UK_PHONE
    assert decision["contact_ids"] == ["c1"]


@pytest.mark.parametrize("path", ["/v1/interactions/sms", "/v1/inbound-sms"])
def test_unknown_key_is_401_on_hot_paths(client, path):
    response = client.post(path, json={}, headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401


def test_concurrent_requests_each_get_their_own_answer(app, acme):
    """Many requests at once: batched together, each answered as if alone."""
    seed_case_one(acme)
    note = {"user_id": "ann", "to": JANE, "from": NUMBER}
    sms = "/v1/interactions/sms"
    requests = (
        [(sms, {**note, "contact_id": "c1", "interaction_id": f"n{i}"})
         for i in range(30)]
        + [(sms, {**note, "contact_id": "nobody"}) for _ in range(5)]
        + [(sms, {**note, "contact_id": "c1", "interaction_id": "n0"})
           for _ in range(5)]
        + [("/v1/inbound-sms", {"from": JANE, "to": NUMBER, "body": "hi",
                                "message_id": f"SM{i}"}) for i in range(10)]
    )  # fmt: skip

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=acme.headers
        ) as client:
            return await asyncio.gather(
                *(client.post(path, json=body) for path, body in requests)
            )

    responses = asyncio.run(send_all())

    statuses = [r.status_code for r in responses]
    assert statuses[:30].count(201) + statuses[35:40].count(201) == 30
    assert statuses[30:35] == [422] * 5
    assert all(s in (200, 201) for s in statuses[35:40])
    assert statuses[40:] == [201] * 10
    notes = [r.json() for r in responses[:30]]
    assert len({n["position"] for n in notes}) == 30
    assert all(n["interaction_id"] == f"n{i}" for i, n in enumerate(notes))
    decisions = [r.json() for r in responses[40:]]
    assert all(d["recipient"]["user_id"] == "ann" for d in decisions)
    assert [d["message_id"] for d in decisions] == [f"SM{i}" for i in range(10)]
