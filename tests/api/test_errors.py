"""Bad input of any kind gets a problem+json answer and changes nothing."""

import gc
import json

import pytest

from tests.api.conftest import JANE, NUMBER, assert_problem


def head(tenant):
    return tenant.client.app.state.ledger.head()


def test_malformed_json_is_a_400_problem(acme):
    before = head(acme)
    response = acme.client.post(
        "/v1/inbound-sms",
        content=b'{"from": "+14155550111",',
        headers={**acme.headers, "Content-Type": "application/json"},
    )

    body = assert_problem(response, 400, "body")
    assert body["type"].endswith("/malformed-json")
    assert head(acme) == before


@pytest.mark.parametrize("body", [[], "text", 42, None], ids=repr)
def test_body_that_is_not_an_object_is_422(acme, body):
    response = acme.client.put("/v1/users/ann", json=body, headers=acme.headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_validation_errors_name_each_field_as_the_client_wrote_it(acme):
    response = acme.post(
        "/v1/interactions/sms",
        {"user_id": "", "contact_id": 7, "to": JANE, "occurred_at": "yesterday"},
    )

    body = assert_problem(response, 422, "user_id", "contact_id", "from", "occurred_at")
    assert body["type"].endswith("/invalid-input")
    assert all(error["message"] for error in body["errors"])


def test_nested_field_is_named_with_its_index(acme):
    response = acme.put("/v1/contacts/c1", {"phones": ["+14155550111", 5]})

    assert_problem(response, 422, "phones[1]")


def test_unknown_field_is_422_naming_it(acme):
    response = acme.put("/v1/users/ann", {"email": "ann@acme.test", "emial": "x"})

    assert_problem(response, 422, "emial")


def test_nul_character_is_422_not_a_server_error(acme):
    response = acme.post(
        "/v1/inbound-sms", {"from": "ACME\x00", "to": NUMBER, "body": "hi"}
    )

    assert_problem(response, 422, "from")


def test_moment_out_of_range_is_422(acme):
    response = acme.post(
        "/v1/inbound-sms",
        {
            "from": JANE,
            "to": NUMBER,
            "body": "hi",
            "received_at": "9999-12-31T23:00:00-05:00",
        },
    )

    assert_problem(response, 422, "received_at")


def test_body_over_the_limit_gets_413_and_records_nothing(acme):
    before = head(acme)
    big = {"from": JANE, "to": NUMBER, "body": "x" * (256 * 1024)}

    response = acme.post("/v1/inbound-sms", big)

    assert_problem(response, 413)
    assert head(acme) == before


def test_chunked_body_over_the_limit_gets_413(acme):
    def chunks():
        yield b'{"from": "+14155550111", "to": "+14155550100", "body": "'
        for _ in range(300):
            yield b"x" * 1024
        yield b'"}'

    response = acme.client.post(
        "/v1/inbound-sms",
        content=chunks(),
        headers={**acme.headers, "Content-Type": "application/json"},
    )

    assert_problem(response, 413)


def test_body_just_under_the_limit_is_read(acme):
    # Padded with spaces: no field may be this long, but a body may.
    body = json.dumps({"from": JANE, "to": NUMBER, "body": "hi"}) + " " * 200 * 1024

    response = acme.client.post(
        "/v1/inbound-sms",
        content=body.encode(),
        headers={**acme.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 201, response.text


def test_unknown_path_is_a_404_problem(client):
    assert_problem(client.get("/v2/nothing"), 404)


def test_unsupported_method_is_a_405_problem(acme):
    response = acme.client.post("/v1/account", headers=acme.headers)

    assert_problem(response, 405)
    assert response.headers["allow"]


@pytest.mark.parametrize(
    ("field", "raw"), [("name", '"Ann \\ud800"'), ("email", '"\\udfff@acme.test"')]
)
def test_lone_surrogate_is_422_not_a_server_error(acme, field, raw):
    body = {"email": '"ann@acme.test"', "name": '"Ann"', field: raw}
    content = "{" + ", ".join(f'"{k}": {v}' for k, v in body.items()) + "}"

    response = acme.client.put(
        "/v1/users/ann",
        content=content.encode(),
        headers={**acme.headers, "Content-Type": "application/json"},
    )

    assert_problem(response, 422, field)


@pytest.mark.parametrize(
    "content",
    [b'{"email": "\xff"}', b"[" * 100_000 + b"]" * 100_000],
    ids=["utf8", "deep"],
)
def test_body_that_cannot_be_decoded_is_a_400_problem(acme, content):
    # A collection during the deep parse would run some object's finalizer at
    # the recursion limit, and pytest fails a test for what a finalizer raises.
    gc.collect()
    gc.disable()
    try:
        response = acme.client.put(
            "/v1/users/ann",
            content=content,
            headers={**acme.headers, "Content-Type": "application/json"},
        )
    finally:
        gc.enable()

    assert_problem(response, 400, "body")
