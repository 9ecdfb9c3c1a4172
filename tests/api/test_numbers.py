"""Inbound numbers over HTTP: one account at a time; held messages released."""

import pytest

from tests.api.conftest import JANE, NUMBER, assert_problem


def test_put_configures_then_updates_number(acme):
    created = acme.put(f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "a@acme.test"})
    updated = acme.put(
        f"/v1/inbound-numbers/{NUMBER}",
        {"backup_email": "b@acme.test", "label": "Sales"},
    )

    assert created.status_code == 201
    assert created.json() == {
        "number": NUMBER,
        "backup_email": "a@acme.test",
        "label": None,
    }
    assert updated.status_code == 200
    assert acme.ok("get", f"/v1/inbound-numbers/{NUMBER}") == updated.json()


@pytest.mark.parametrize(
    "spelling",
    ["+14155550100", "%2B14155550100", "%2b14155550100", "%2014155550100"],
    ids=["plus", "encoded", "encoded-lowercase", "plus-decoded-as-space"],
)
def test_number_in_path_may_come_in_any_spelling_of_plus(acme, spelling):
    acme.ok("put", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "a@acme.test"})

    assert acme.ok("get", f"/v1/inbound-numbers/{spelling}")["number"] == NUMBER


def test_national_format_is_read_with_the_default_region(acme):
    body = acme.ok(
        "put", "/v1/inbound-numbers/(415) 555-0100", {"backup_email": "a@b.co"}
    )

    assert body["number"] == NUMBER


def test_number_held_by_another_account_is_409(acme, globex):
    acme.ok("put", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "a@acme.test"})

    response = globex.put(
        f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "g@gx.test"}
    )

    assert_problem(response, 409)
    assert acme.ok("get", f"/v1/inbound-numbers/{NUMBER}")["backup_email"] == (
        "a@acme.test"
    )


def test_delete_releases_number(acme, globex):
    acme.ok("put", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "a@acme.test"})

    response = acme.delete(f"/v1/inbound-numbers/{NUMBER}")

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(acme.get(f"/v1/inbound-numbers/{NUMBER}"), 404)
    assert_problem(acme.delete(f"/v1/inbound-numbers/{NUMBER}"), 404)
    taken = globex.put(f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "g@gx.test"})
    assert taken.status_code == 201


def test_invalid_number_is_422(acme):
    response = acme.put("/v1/inbound-numbers/12", {"backup_email": "a@acme.test"})

    assert_problem(response, 422, "number")


def test_invalid_backup_email_is_422(acme):
    response = acme.put(f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "nope"})

    assert_problem(response, 422, "backup_email")
    assert_problem(acme.get(f"/v1/inbound-numbers/{NUMBER}"), 404)


def test_held_messages_are_routed_once_their_number_is_configured(acme):
    held = acme.post(
        "/v1/inbound-sms",
        {"from": JANE, "to": NUMBER, "body": "hello?", "message_id": "SM1"},
    )
    assert held.status_code == 201
    assert held.json()["status"] == "held"
    assert held.json()["rule"] == "number_not_configured"
    assert held.json()["recipient"] is None

    acme.ok("put", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "desk@acme.test"})

    decision = acme.ok("get", "/v1/routing-decisions/SM1")
    assert decision["status"] == "routed"
    assert decision["rule"] == "unknown_sender"
    assert decision["recipient"] == {"email": "desk@acme.test", "user_id": None}
    assert decision["body"] == "hello?"
