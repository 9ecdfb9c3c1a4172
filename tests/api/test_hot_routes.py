"""The hot routes answered without FastAPI (`smsledger.api.hot`): the same answers.

In `hot_only`, FastAPI answers its hot routes 418: whatever comes back 201 was
answered by `HotRoutes`, and whatever `HotRoutes` passes on to FastAPI comes
back 418.
"""

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from smsledger.api.app import HOT_ROUTES, create_app
from smsledger.api.deps import known_caller
from tests.api.conftest import JANE, NUMBER, Tenant, assert_problem, seed_case_one

SMS = {"user_id": "ann", "contact_id": "c1", "to": JANE, "from": NUMBER}
BODIES = {
    "/v1/interactions/sms": {"interaction_id": "h1", **SMS, "body": "Hi"},
    "/v1/interactions/campaign-sms": {
        "interaction_id": "h2",
        "reply": "offers@acme.test",
        "contact_id": "c1",
        "to": JANE,
        "from": NUMBER,
        "body": "Sale",
    },
    "/v1/interactions/calls": {
        "interaction_id": "h3",
        "user_id": "ann",
        "contact_id": "c1",
        "to": JANE,
        "occurred_at": "2026-11-01T12:00:00Z",
    },
    "/v1/inbound-sms": {"message_id": "SMh4", "from": JANE, "to": NUMBER, "body": "Y"},
}


def test_every_hot_route_has_a_body_here():
    assert set(BODIES) == set(HOT_ROUTES)


def twin(client: TestClient, tenant: Tenant) -> Tenant:
    """`tenant`, its requests made through `client`."""
    other = object.__new__(Tenant)
    other.__dict__.update(tenant.__dict__, client=client)
    return other


@pytest.fixture
def plain(settings) -> Iterator[TestClient]:
    """The app on the same database, every request answered by FastAPI."""
    with TestClient(create_app(settings, hot=False)) as other:
        yield other


async def refused() -> None:
    raise HTTPException(418, "FastAPI answered")


def fastapi_refusing_hot_routes(app: FastAPI) -> FastAPI:
    app.dependency_overrides[known_caller] = refused  # only the hot routes use it
    return app


@pytest.fixture
def hot_only(settings) -> Iterator[TestClient]:
    with TestClient(fastapi_refusing_hot_routes(create_app(settings))) as other:
        yield other


@pytest.fixture
def hot(acme, hot_only) -> Tenant:
    """Acme, seeded with case 1, its key known to `hot_only`."""
    seed_case_one(acme)
    tenant = twin(hot_only, acme)
    tenant.ok("get", "/v1/account")  # authenticates the key in `hot_only`
    return tenant


def post_inbound(hot: Tenant, content_type: str):
    return hot.client.post(
        "/v1/inbound-sms",
        content=json.dumps({"from": JANE, "to": NUMBER, "body": "Y"}).encode(),
        headers={**hot.headers, "Content-Type": content_type},
    )


@pytest.mark.parametrize("path", sorted(BODIES))
def test_answers_byte_for_byte_as_fastapi(acme, plain, hot, path):
    fastapi = twin(plain, acme)

    first = hot.post(path, BODIES[path])
    again_hot = hot.post(path, BODIES[path])
    again_fastapi = fastapi.post(path, BODIES[path])

    assert first.status_code == 201, first.text
    assert again_hot.status_code == again_fastapi.status_code == 200
    assert again_hot.content == again_fastapi.content
    assert again_hot.headers["content-type"] == again_fastapi.headers["content-type"]
    assert again_hot.json() == first.json()


def test_a_key_not_known_here_goes_to_fastapi(acme, hot_only):
    seed_case_one(acme)
    response = twin(hot_only, acme).post("/v1/inbound-sms", BODIES["/v1/inbound-sms"])
    assert response.status_code == 418


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**BODIES["/v1/inbound-sms"], "from": 12}, ["from"]),
        ({**BODIES["/v1/inbound-sms"], "extra": True}, ["extra"]),
        ([], ["body"]),
    ],
)
def test_a_body_the_model_refuses_goes_to_fastapi(acme, hot, plain, body, fields):
    assert hot.post("/v1/inbound-sms", body).status_code == 418
    refused = acme.post("/v1/inbound-sms", body)  # the app as served
    assert_problem(refused, 422, *fields)
    assert refused.content == twin(plain, acme).post("/v1/inbound-sms", body).content


def test_other_than_json_goes_to_fastapi(hot):
    assert post_inbound(hot, "text/plain").status_code == 418


def test_a_domain_error_is_the_same_problem(hot):
    body = {**BODIES["/v1/interactions/sms"], "contact_id": "nobody"}
    assert_problem(hot.post("/v1/interactions/sms", body), 422, "contact_id")

    hot.ok("post", "/v1/interactions/sms", BODIES["/v1/interactions/sms"])
    changed = {**BODIES["/v1/interactions/sms"], "body": "Other"}
    assert_problem(hot.post("/v1/interactions/sms", changed), 409)


def test_json_with_a_charset_is_answered_here(hot):
    response = post_inbound(hot, "application/json; charset=utf-8")
    assert response.status_code == 201, response.text
    assert response.json()["recipient"]["user_id"] == "ann"
