"""Provider secrets are sealed at rest: no stored event and no view row holds
them in the clear, and webhooks are still checked with the token."""

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from smsledger.api.app import create_app
from tests.api.conftest import seed_case_one
from tests.api.test_twilio import deliver, sign, twilio_form
from tests.conftest import TEST_SECRET_KEY
from tests.stored import every_row, places_holding

TOKEN = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
SID = "AC0123456789abcdef0123456789abcdef"


@pytest.fixture
def acme_on_twilio(acme):
    seed_case_one(acme)
    acme.ok(
        "patch", "/v1/account", {"twilio_auth_token": TOKEN, "twilio_account_sid": SID}
    )
    return acme


def test_secrets_set_are_in_no_event_and_no_view_row(
    client, acme_on_twilio, database_url
):
    form = twilio_form()
    assert deliver(client, form, sign(form, TOKEN)).status_code == 200

    tables = every_row(database_url)

    assert places_holding(database_url, TOKEN) == []
    assert places_holding(database_url, SID) == []
    # Both are stored, sealed: one row each in the view's secrets table.
    secrets = [rows for name, rows in tables.items() if "account_secrets" in name]
    assert [len(rows) for rows in secrets] == [2]


def test_settings_say_which_secrets_are_set_and_never_show_them(acme):
    body = acme.ok("patch", "/v1/account", {"twilio_account_sid": SID})

    assert body["twilio_account_sid_set"] is True
    assert body["twilio_auth_token_set"] is False
    got = acme.ok("get", "/v1/account")
    assert got == body
    assert SID not in str(got)


def test_a_new_token_replaces_the_old_for_signatures(client, acme_on_twilio):
    acme_on_twilio.ok("patch", "/v1/account", {"twilio_auth_token": "new-token"})
    old, new = twilio_form("SM-old"), twilio_form("SM-new")

    assert deliver(client, old, sign(old, TOKEN)).status_code == 403
    assert deliver(client, new, sign(new, "new-token")).status_code == 200


def test_setting_the_same_token_again_records_nothing(client, acme_on_twilio):
    head = client.app.state.ledger.head()

    acme_on_twilio.ok("patch", "/v1/account", {"twilio_auth_token": TOKEN})

    assert client.app.state.ledger.head() == head


@pytest.mark.parametrize(
    "value", ["", "   ", "has space", "tab\there", "x" * 257], ids=repr
)
def test_a_bad_secret_is_422_naming_it(acme, value):
    response = acme.patch("/v1/account", {"twilio_auth_token": value})

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["twilio_auth_token"]
    assert acme.ok("get", "/v1/account")["twilio_auth_token_set"] is False


def server(settings, **changes):
    return TestClient(create_app(settings.model_copy(update=changes)))


def test_a_server_with_another_key_cannot_open_the_token_until_given_the_old(
    settings, acme_on_twilio
):
    """SECRET_KEY changed: signatures fail (403), until SECRET_KEY_PREVIOUS
    names the key the token was sealed with."""
    form = twilio_form()
    new_key = SecretStr("a-new-secret-key")

    with server(settings, secret_key=new_key) as changed:
        assert deliver(changed, form, sign(form, TOKEN)).status_code == 403
    with server(
        settings,
        secret_key=new_key,
        secret_key_previous=SecretStr(f"unrelated, {TEST_SECRET_KEY}"),
    ) as rotating:
        assert deliver(rotating, form, sign(form, TOKEN)).status_code == 200
