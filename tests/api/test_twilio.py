"""Twilio's inbound webhook: signed requests are routed once, others refused."""

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from smsledger.api.app import create_app
from tests.api.conftest import (
    JANE,
    NUMBER,
    PUBLIC_BASE_URL,
    assert_problem,
    inbound_events,
    seed_case_one,
)

PATH = "/v1/webhooks/twilio/sms"
TOKEN = "acme-twilio-token"


def twilio_form(message_sid="SM0001", **fields):
    return {
        "MessageSid": message_sid,
        "AccountSid": "AC0001",
        "From": JANE,
        "To": NUMBER,
        "Body": "Yes, Tuesday works",
        "NumMedia": "0",
        **fields,
    }


def sign(form, token=TOKEN, url=PUBLIC_BASE_URL + PATH):
    return RequestValidator(token).compute_signature(url, form)


def deliver(client, form, signature):
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return client.post(PATH, data=form, headers=headers)


@pytest.fixture
def acme_on_twilio(acme):
    seed_case_one(acme)
    acme.ok("patch", "/v1/account", {"twilio_auth_token": TOKEN})
    return acme


def test_signed_request_is_accepted_and_routed(client, acme_on_twilio):
    form = twilio_form()

    response = deliver(client, form, sign(form))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == "<Response/>"
    decision = acme_on_twilio.ok("get", "/v1/routing-decisions/SM0001")
    assert decision["rule"] == "previous_sms"
    assert decision["recipient"]["email"] == "ann@acme.test"
    assert decision["body"] == "Yes, Tuesday works"


def test_retried_request_is_routed_once(client, acme_on_twilio):
    form = twilio_form()
    first = deliver(client, form, sign(form))
    recorded = inbound_events(client.app)

    retry = deliver(client, form, sign(form))

    assert (first.status_code, retry.status_code) == (200, 200)
    assert inbound_events(client.app) == recorded
    assert len(acme_on_twilio.ok("get", "/v1/routing-decisions")["items"]) == 1


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm90IGEgc2lnbmF0dXJl", sign(twilio_form(), token="other-token")],
    ids=["missing", "empty", "garbage", "other-token"],
)
def test_wrongly_signed_request_gets_403_and_records_nothing(
    client, acme_on_twilio, signature
):
    head = client.app.state.ledger.head()

    response = deliver(client, twilio_form(), signature)

    assert_problem(response, 403)
    assert client.app.state.ledger.head() == head
    assert_problem(acme_on_twilio.get("/v1/routing-decisions/SM0001"), 404)


def test_tampered_body_gets_403(client, acme_on_twilio):
    signature = sign(twilio_form())

    response = deliver(client, twilio_form(Body="Send me the invoice"), signature)

    assert_problem(response, 403)


def test_signature_must_be_made_for_the_public_url(client, acme_on_twilio):
    form = twilio_form()

    response = deliver(client, form, sign(form, url="http://testserver" + PATH))

    assert_problem(response, 403)


def test_without_public_base_url_the_request_url_is_signed(settings, acme_on_twilio):
    settings.public_base_url = None
    form = twilio_form()
    with TestClient(create_app(settings)) as client:
        response = deliver(client, form, sign(form, url="http://testserver" + PATH))

    assert response.status_code == 200


def test_account_without_twilio_token_gets_403(client, acme):
    seed_case_one(acme)
    form = twilio_form()

    assert_problem(deliver(client, form, sign(form)), 403)


def test_unconfigured_number_gets_403_and_nothing_is_held(client, acme_on_twilio):
    form = twilio_form(To="+14155550199")
    head = client.app.state.ledger.head()

    response = deliver(client, form, sign(form))

    assert_problem(response, 403)
    assert client.app.state.ledger.head() == head


def test_token_of_another_account_does_not_sign_for_this_one(
    client, acme_on_twilio, globex
):
    globex.ok("patch", "/v1/account", {"twilio_auth_token": "globex-token"})
    form = twilio_form()

    response = deliver(client, form, sign(form, token="globex-token"))

    assert_problem(response, 403)


def test_signed_request_without_message_sid_is_422(client, acme_on_twilio):
    form = twilio_form()
    del form["MessageSid"]

    assert_problem(deliver(client, form, sign(form)), 422, "MessageSid")
