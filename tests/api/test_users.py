"""Users over HTTP: PUT creates (201) or updates (200)."""

from tests.api.conftest import assert_problem


def test_put_creates_then_updates_user(acme):
    created = acme.put("/v1/users/ann", {"email": "ann@acme.test", "name": "Ann"})
    updated = acme.put("/v1/users/ann", {"email": "ann@acme.test", "active": False})

    assert created.status_code == 201
    assert created.json() == {
        "user_id": "ann",
        "email": "ann@acme.test",
        "name": "Ann",
        "active": True,
    }
    assert updated.status_code == 200
    assert updated.json()["active"] is False
    assert acme.ok("get", "/v1/users/ann") == updated.json()


def test_repeated_put_answers_200_with_the_same_user(acme):
    first = acme.put("/v1/users/ann", {"email": "ann@acme.test"})
    again = acme.put("/v1/users/ann", {"email": "ann@acme.test"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_invalid_email_is_422_naming_email(acme):
    response = acme.put("/v1/users/ann", {"email": "not an email"})

    assert_problem(response, 422, "email")
    assert_problem(acme.get("/v1/users/ann"), 404)


def test_missing_user_gets_404(acme):
    assert_problem(acme.get("/v1/users/nobody"), 404)


def test_user_id_with_spaces_at_its_ends_is_422(acme):
    response = acme.put("/v1/users/%20ann", {"email": "ann@acme.test"})

    assert_problem(response, 422, "user_id")
