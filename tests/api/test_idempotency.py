"""Idempotency-Key: a POST sent again with the same key answers as the first did."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from smsledger.api.app import create_app
from smsledger.api.idempotency import KeyUse, fingerprint
from smsledger.api.schemas.interactions import SmsNote
from tests.api.conftest import (
    ADMIN,
    JANE,
    NUMBER,
    Tenant,
    assert_problem,
    inbound_events,
    seed_case_one,
    without_delivery,
)

NOTE = {"user_id": "ann", "contact_id": "c1", "to": JANE, "from": NUMBER}
SMS = {"from": JANE, "to": NUMBER, "body": "Yes, Tuesday works"}


def keyed(tenant: Tenant, path: str, body, key: str):
    headers = {**tenant.headers, "Idempotency-Key": key}
    return tenant.client.post(path, json=body, headers=headers)


def notes(tenant):
    ledger = tenant.client.app.state.ledger
    found = ledger.recorder.select_notifications(start=1, limit=1_000_000)
    return sum(1 for n in found if ":Interaction." in n.topic)


def twin(client: TestClient, tenant: Tenant):
    """`tenant`, its requests made through `client`."""
    other = object.__new__(Tenant)
    other.__dict__.update(tenant.__dict__, client=client)
    return other


@pytest.fixture
def team(acme):
    seed_case_one(acme)
    return acme


def test_note_sent_again_with_its_key_answers_the_first_result(team):
    before = notes(team)

    first = keyed(team, "/v1/interactions/sms", NOTE, "k-1")
    again = keyed(team, "/v1/interactions/sms", NOTE, "k-1")

    assert first.status_code == again.status_code == 201, first.text
    assert again.content == first.content
    assert first.json()["interaction_id"]  # one derived from the key
    assert notes(team) == before + 1


def test_another_key_records_another_note(team):
    first = keyed(team, "/v1/interactions/sms", NOTE, "k-1").json()
    second = keyed(team, "/v1/interactions/sms", NOTE, "k-2").json()

    assert first["interaction_id"] != second["interaction_id"]


def test_key_with_another_body_is_422_and_records_nothing(team):
    keyed(team, "/v1/interactions/sms", NOTE, "k-1")
    head = team.client.app.state.ledger.head()

    other = keyed(team, "/v1/interactions/sms", {**NOTE, "body": "Hi"}, "k-1")

    body = assert_problem(other, 422, "Idempotency-Key")
    assert "another body" in body["errors"][0]["message"]
    assert team.client.app.state.ledger.head() == head


def test_key_with_another_body_naming_its_own_id_is_422(team):
    keyed(team, "/v1/interactions/sms", {**NOTE, "interaction_id": "i-a"}, "k-1")
    head = team.client.app.state.ledger.head()

    other = {**NOTE, "interaction_id": "i-b"}
    assert_problem(
        keyed(team, "/v1/interactions/sms", other, "k-1"), 422, "Idempotency-Key"
    )
    assert team.client.app.state.ledger.head() == head


def test_the_same_key_on_another_route_is_another_key(team):
    sms = keyed(team, "/v1/interactions/sms", NOTE, "k-1")
    call = keyed(team, "/v1/interactions/calls", NOTE | {"from": NUMBER}, "k-1")

    assert sms.status_code == call.status_code == 201
    assert sms.json()["interaction_id"] != call.json()["interaction_id"]


def test_ids_keep_working_beside_a_key(team):
    body = {**NOTE, "interaction_id": "i-7"}
    first = keyed(team, "/v1/interactions/sms", body, "k-1")
    by_id = team.post("/v1/interactions/sms", body)
    by_other_key = keyed(team, "/v1/interactions/sms", body, "k-2")

    assert first.status_code == 201
    assert first.json()["interaction_id"] == "i-7"
    assert by_id.status_code == by_other_key.status_code == 200
    assert by_id.json() == by_other_key.json() == first.json()


def test_inbound_sms_sent_again_with_its_key_is_routed_once(team, app):
    first = keyed(team, "/v1/inbound-sms", SMS, "k-sms")
    again = keyed(team, "/v1/inbound-sms", SMS, "k-sms")

    assert first.status_code == again.status_code == 201, first.text
    assert without_delivery(again.json()) == without_delivery(first.json())
    assert first.json()["recipient"]["user_id"] == "ann"
    assert inbound_events(app) == 2  # received and routed, once
    other = keyed(team, "/v1/inbound-sms", {**SMS, "body": "No"}, "k-sms")
    assert_problem(other, 422, "Idempotency-Key")
    assert inbound_events(app) == 2


def test_quoted_and_bare_key_are_the_same_key(team):
    bare = keyed(team, "/v1/interactions/sms", NOTE, "abc-123")
    quoted = keyed(team, "/v1/interactions/sms", NOTE, '"abc-123"')

    assert quoted.status_code == 201
    assert quoted.content == bare.content


@pytest.mark.parametrize("key", ["", "a b", "\t", '"open', "x" * 256], ids=repr)
@pytest.mark.parametrize("path", ["/v1/interactions/sms", "/v1/accounts"])
def test_malformed_key_is_422_and_records_nothing(team, path, key):
    head = team.client.app.state.ledger.head()
    body = NOTE if path != "/v1/accounts" else {"name": "Initech"}
    headers = ADMIN if path == "/v1/accounts" else team.headers

    response = team.client.post(
        path, json=body, headers={**headers, "Idempotency-Key": key}
    )

    assert_problem(response, 422, "Idempotency-Key")
    assert team.client.app.state.ledger.head() == head


def test_key_still_being_carried_out_is_409(team, app):
    use = KeyUse(
        team.account_id,
        "/v1/interactions/sms",
        "k-1",
        fingerprint(SmsNote.model_validate(NOTE)),
    )
    head = app.state.ledger.head()
    with app.state.in_flight.claim(use):
        busy = keyed(team, "/v1/interactions/sms", NOTE, "k-1")
    assert_problem(busy, 409)
    assert app.state.ledger.head() == head
    assert keyed(team, "/v1/interactions/sms", NOTE, "k-1").status_code == 201


def test_account_opened_again_with_its_key_is_one_account(client, app):
    body = {"name": "Initech", "routing_policy": "most_recent_interaction"}
    headers = {**ADMIN, "Idempotency-Key": "open-initech"}

    first = client.post("/v1/accounts", json=body, headers=headers)
    again = client.post("/v1/accounts", json=body, headers=headers)
    other = client.post("/v1/accounts", json={"name": "Other"}, headers=headers)

    assert first.status_code == 201, first.text
    assert first.json()["api_key"]
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "api_key": None}
    assert_problem(other, 422, "Idempotency-Key")
    found = app.state.ledger.recorder.select_notifications(start=1, limit=1000)
    assert sum(1 for n in found if n.topic.endswith(":Account.Opened")) == 1


@pytest.fixture
def plain(settings) -> Iterator[TestClient]:
    """A second app on the same database, every request answered by FastAPI."""
    with TestClient(create_app(settings, hot=False)) as other:
        yield other


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/interactions/sms", NOTE), ("/v1/inbound-sms", SMS)],
    ids=["note", "inbound"],
)
def test_a_retry_to_another_instance_answers_the_same(team, plain, path, body):
    first = keyed(team, path, body, "k-both")  # the hot route, in this app
    again = keyed(twin(plain, team), path, body, "k-both")  # FastAPI, in another
    changed = keyed(twin(plain, team), path, {**body, "to": "+14155550199"}, "k-both")

    assert first.status_code == again.status_code == 201, again.text
    assert without_delivery(again.json()) == without_delivery(first.json())
    assert_problem(changed, 422, "Idempotency-Key")
