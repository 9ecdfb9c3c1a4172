"""A console session sees and changes its own account only, and only through
its own forms: another account's things are 404, a form without its session's
token changes nothing."""

from __future__ import annotations

import pytest

from tests.api.conftest import JANE, NUMBER, seed_case_one
from tests.web.conftest import Visitor


@pytest.fixture
def globex_history(globex):
    """Globex's number, user ann, contact c1 and decision SM1."""
    seed_case_one(globex)
    globex.ok(
        "post",
        "/v1/inbound-sms",
        {"from": JANE, "to": NUMBER, "body": "hi", "message_id": "SM1"},
    )
    return globex


@pytest.fixture
def acme_visitor(app, acme, globex_history):
    return Visitor(app, acme)


def test_another_account_s_pages_are_404(acme_visitor):
    for path in ["/decisions/SM1", "/decisions/SM1/replay", "/contacts/c1"]:
        response = acme_visitor.http.get(path)

        assert response.status_code == 404, path
        assert "nothing at this address in your account" in response.text


def test_another_account_s_things_are_in_no_list(acme_visitor):
    for path, shown in [
        ("/decisions", "SM1"),
        ("/decisions?sender=%2B14155550111", "SM1"),
        ("/contacts", "Jane Roe"),
        ("/contacts?q=jane", "Jane Roe"),
        ("/users", "ann@acme.test"),
        ("/numbers", "desk@acme.test"),
        ("/what-if?policy=most_recent_interaction", "SM1"),
        ("/what-if.csv?policy=most_recent_interaction", "SM1"),
        ("/operations", "SM1"),
    ]:
        response = acme_visitor.http.get(path)

        assert response.status_code == 200, path
        assert shown not in response.text, path


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/users/ann/active", {"active": "false"}),
        (f"/numbers/{NUMBER.replace('+', '%2B')}/release", {}),
    ],
)
def test_another_account_s_actions_are_404_and_change_nothing(
    acme_visitor, globex_history, path, form
):
    response = acme_visitor.http.post(
        path, data={**form, "csrf_token": acme_visitor.token()}
    )

    assert response.status_code == 404
    assert globex_history.ok("get", "/v1/users/ann")["active"] is True
    assert globex_history.ok("get", f"/v1/inbound-numbers/{NUMBER}")


def test_another_account_s_number_cannot_be_taken(acme_visitor, globex_history):
    response = acme_visitor.http.post(
        "/numbers",
        data={
            "number": NUMBER,
            "backup_email": "thief@acme.test",
            "csrf_token": acme_visitor.token(),
        },
    )

    assert response.status_code == 422
    assert "Another account holds this number" in response.text
    number = globex_history.ok("get", f"/v1/inbound-numbers/{NUMBER}")
    assert number["backup_email"] == "desk@acme.test"


FORMS = [
    ("/users", {"user_id": "eve", "email": "eve@acme.test", "name": "Eve"}),
    ("/users/ann/active", {"active": "false"}),
    ("/numbers", {"number": "+14155550177", "backup_email": "x@acme.test"}),
    (f"/numbers/{NUMBER.replace('+', '%2B')}/release", {}),
]


@pytest.fixture
def acme_with_history(app, acme):
    seed_case_one(acme)
    return Visitor(app, acme)


def acme_state(acme):
    return (
        acme.ok("get", "/v1/users"),
        [
            acme.get(f"/v1/inbound-numbers/{n}").status_code
            for n in (NUMBER, "+14155550177")
        ],
    )


@pytest.mark.parametrize(("path", "form"), FORMS, ids=[p for p, _ in FORMS])
def test_a_form_without_its_session_s_token_changes_nothing(
    app, acme, acme_with_history, path, form
):
    before = acme_state(acme)
    other_session = Visitor(app, acme).token()

    for given in ({}, {"csrf_token": "forged"}, {"csrf_token": other_session}):
        response = acme_with_history.http.post(path, data={**form, **given})

        assert response.status_code == 403, given
        assert "Nothing was changed" in response.text
        assert acme_state(acme) == before


@pytest.mark.parametrize(("path", "form"), FORMS, ids=[p for p, _ in FORMS])
def test_the_same_form_with_its_token_changes_something(
    acme, acme_with_history, path, form
):
    before = acme_state(acme)
    visitor = acme_with_history

    response = visitor.http.post(path, data={**form, "csrf_token": visitor.token()})

    assert response.status_code == 303, response.text
    assert acme_state(acme) != before
