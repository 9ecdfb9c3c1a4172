"""Contacts over HTTP: phones in E.164, an owner from the account, a history."""

from tests.api.conftest import assert_problem


def test_put_creates_contact_with_phones_in_e164(acme):
    response = acme.put(
        "/v1/contacts/c1", {"name": "Jane Roe", "phones": ["(415) 555-0111"]}
    )

    assert response.status_code == 201
    assert response.json() == {
        "contact_id": "c1",
        "name": "Jane Roe",
        "phones": ["+14155550111"],
        "owner_user_id": None,
    }
    assert acme.ok("get", "/v1/contacts/c1") == response.json()


def test_put_again_replaces_and_answers_200(acme):
    acme.ok("put", "/v1/users/ann", {"email": "ann@acme.test"})
    acme.ok("put", "/v1/contacts/c1", {"phones": ["+14155550111"]})

    response = acme.put(
        "/v1/contacts/c1", {"phones": ["+14155550112"], "owner_user_id": "ann"}
    )

    assert response.status_code == 200
    assert response.json()["phones"] == ["+14155550112"]
    assert response.json()["owner_user_id"] == "ann"


def test_null_owner_clears_it(acme):
    acme.ok("put", "/v1/users/ann", {"email": "ann@acme.test"})
    acme.ok("put", "/v1/contacts/c1", {"phones": [], "owner_user_id": "ann"})

    body = acme.ok("put", "/v1/contacts/c1", {"phones": [], "owner_user_id": None})

    assert body["owner_user_id"] is None


def test_invalid_phone_is_422_naming_its_index(acme):
    response = acme.put("/v1/contacts/c1", {"phones": ["+14155550111", "12"]})

    assert_problem(response, 422, "phones[1]")
    assert_problem(acme.get("/v1/contacts/c1"), 404)


def test_owner_must_be_a_user_of_the_account(acme):
    response = acme.put("/v1/contacts/c1", {"phones": [], "owner_user_id": "ghost"})

    assert_problem(response, 422, "owner_user_id")


def test_phones_are_required(acme):
    assert_problem(acme.put("/v1/contacts/c1", {"name": "Jane"}), 422, "phones")


def test_missing_contact_gets_404(acme):
    assert_problem(acme.get("/v1/contacts/nobody"), 404)
    assert_problem(acme.get("/v1/contacts/nobody/history"), 404)


def test_history_lists_the_contacts_events_oldest_first(acme):
    acme.ok("put", "/v1/users/ann", {"email": "ann@acme.test"})
    acme.ok("put", "/v1/contacts/c1", {"phones": ["+14155550111"]})
    acme.ok(
        "post",
        "/v1/interactions/calls",
        {
            "interaction_id": "i1",
            "user_id": "ann",
            "contact_id": "c1",
            "to": "+14155550111",
        },
    )
    acme.ok(
        "put", "/v1/contacts/c1", {"phones": ["+14155550111"], "owner_user_id": "ann"}
    )

    history = acme.ok("get", "/v1/contacts/c1/history")

    assert [e["type"] for e in history] == [
        "Contact.Registered",
        "Interaction.CallMade",
        "Contact.OwnerChanged",
    ]
    positions = [e["position"] for e in history]
    assert positions == sorted(positions)
    assert history[1]["data"]["interaction_id"] == "i1"
    assert history[2]["data"]["owner_user_id"] == "ann"
    assert all(e["recorded_at"].endswith("Z") for e in history)
