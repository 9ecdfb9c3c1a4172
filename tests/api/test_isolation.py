"""One account never sees, uses or changes another's data: an id from another
account behaves exactly like a missing one."""

import pytest

from tests.api.conftest import JANE, NUMBER, assert_problem, seed_case_one


def seed(acme):
    seed_case_one(acme)
    acme.ok("put", "/v1/contacts/c1", {"phones": [JANE], "owner_user_id": "ann"})
    acme.ok(
        "post",
        "/v1/inbound-sms",
        {"from": JANE, "to": NUMBER, "body": "hi", "message_id": "SM1"},
    )
    return acme


@pytest.fixture
def acme_with_data(acme):
    return seed(acme)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/users/ann",
        "/v1/contacts/c1",
        "/v1/contacts/c1/history",
        f"/v1/inbound-numbers/{NUMBER}",
        "/v1/routing-decisions/SM1",
    ],
)
def test_another_accounts_resource_is_reported_like_a_missing_one(acme, globex, path):
    missing = globex.get(path)
    seed(acme)

    theirs = globex.get(path)

    assert_problem(theirs, 404)
    assert theirs.json() == missing.json()


def test_decision_list_shows_only_the_accounts_own(acme_with_data, globex):
    assert globex.ok("get", "/v1/routing-decisions")["items"] == []
    assert len(acme_with_data.ok("get", "/v1/routing-decisions")["items"]) == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/interactions/sms",
            {"user_id": "ann", "contact_id": "c1", "to": JANE, "from": NUMBER},
            "user_id",
        ),
        (
            "/v1/interactions/calls",
            {"user_id": "ann", "contact_id": "c1", "to": JANE},
            "user_id",
        ),
        (
            "/v1/interactions/campaign-sms",
            {"contact_id": "c1", "to": JANE, "from": NUMBER, "reply": "r@gx.test"},
            "contact_id",
        ),
    ],
)
def test_another_accounts_user_or_contact_cannot_be_noted(
    acme_with_data, globex, path, body, field
):
    assert_problem(globex.post(path, body), 422, field)


def test_another_accounts_contact_is_unaffected_by_a_namesake(acme_with_data, globex):
    globex.ok("put", "/v1/users/ann", {"email": "ann@gx.test"})
    globex.ok("put", "/v1/contacts/c1", {"phones": [JANE], "owner_user_id": "ann"})

    assert acme_with_data.ok("get", "/v1/contacts/c1")["owner_user_id"] == "ann"
    assert acme_with_data.ok("get", "/v1/users/ann")["email"] == "ann@acme.test"
    assert globex.ok("get", "/v1/users/ann")["email"] == "ann@gx.test"


def test_another_accounts_user_cannot_own_a_contact(acme_with_data, globex):
    response = globex.put("/v1/contacts/c7", {"phones": [], "owner_user_id": "ann"})

    assert_problem(response, 422, "owner_user_id")


def test_another_accounts_number_cannot_be_released(acme_with_data, globex):
    assert_problem(globex.delete(f"/v1/inbound-numbers/{NUMBER}"), 404)
    assert acme_with_data.ok("get", f"/v1/inbound-numbers/{NUMBER}")["number"] == NUMBER


def test_sms_to_another_accounts_number_is_held_not_routed_to_it(
    acme_with_data, globex
):
    decision = globex.ok(
        "post",
        "/v1/inbound-sms",
        {"from": JANE, "to": NUMBER, "body": "hi", "message_id": "SM1"},
    )

    assert decision["status"] == "held"
    assert decision["recipient"] is None
    assert acme_with_data.ok("get", "/v1/routing-decisions/SM1")["body"] == "hi"
    assert acme_with_data.ok("get", "/v1/routing-decisions/SM1")["status"] == "routed"


def test_same_message_id_in_two_accounts_is_two_messages(acme_with_data, globex):
    globex.ok("put", "/v1/inbound-numbers/+14155550200", {"backup_email": "d@gx.test"})

    response = globex.post(
        "/v1/inbound-sms",
        {"from": JANE, "to": "+14155550200", "body": "other", "message_id": "SM1"},
    )

    assert response.status_code == 201
    assert response.json()["body"] == "other"


def test_account_settings_are_the_keys_own(acme, globex):
    globex.ok("patch", "/v1/account", {"name": "Globex Corp"})

    assert acme.ok("get", "/v1/account")["name"] == "Acme"
    assert globex.ok("get", "/v1/account")["account_id"] == globex.account_id
