"""Interaction notes over HTTP: recorded once, retried safely."""

import pytest

from tests.api.conftest import JANE, NUMBER, assert_problem

NOTES = {
    "sms": (
        "/v1/interactions/sms",
        {"user_id": "ann", "contact_id": "c1", "to": JANE, "from": NUMBER},
    ),
    "campaign_sms": (
        "/v1/interactions/campaign-sms",
        {"contact_id": "c1", "to": JANE, "from": NUMBER, "reply": "promo@acme.test"},
    ),
    "call": (
        "/v1/interactions/calls",
        {"user_id": "ann", "contact_id": "c1", "to": JANE},
    ),
}


@pytest.fixture
def team(acme):
    acme.ok("put", "/v1/users/ann", {"email": "ann@acme.test"})
    acme.ok("put", "/v1/users/bob", {"email": "bob@acme.test"})
    acme.ok("put", "/v1/contacts/c1", {"phones": [JANE]})
    return acme


@pytest.mark.parametrize("kind", NOTES)
def test_note_is_recorded_with_its_kind_and_position(team, kind):
    path, body = NOTES[kind]

    response = team.post(path, {**body, "occurred_at": "2026-11-01T10:00:00+02:00"})

    assert response.status_code == 201
    note = response.json()
    assert note["kind"] == kind
    assert note["interaction_id"]
    assert note["position"] > 0
    assert note["to"] == JANE
    assert note["occurred_at"] == "2026-11-01T08:00:00Z"


@pytest.mark.parametrize("kind", NOTES)
def test_retried_note_answers_200_with_the_original(team, kind):
    path, body = NOTES[kind]
    body = {**body, "interaction_id": "i1", "occurred_at": "2026-11-01T10:00:00Z"}

    first = team.post(path, body)
    again = team.post(path, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


@pytest.mark.parametrize("kind", NOTES)
def test_same_id_with_other_content_is_409(team, kind):
    path, body = NOTES[kind]
    team.ok("post", path, {**body, "interaction_id": "i1"})
    head = team.client.app.state.ledger.head()

    response = team.post(path, {**body, "interaction_id": "i1", "to": "+14155550199"})

    assert_problem(response, 409)
    assert team.client.app.state.ledger.head() == head


def test_same_id_as_another_kind_is_409(team):
    team.ok("post", NOTES["sms"][0], {**NOTES["sms"][1], "interaction_id": "i1"})

    response = team.post(NOTES["call"][0], {**NOTES["call"][1], "interaction_id": "i1"})

    assert_problem(response, 409)


@pytest.mark.parametrize(
    ("field", "value"), [("user_id", "ghost"), ("contact_id", "nobody")]
)
def test_unknown_user_or_contact_is_422(team, field, value):
    path, body = NOTES["sms"]

    assert_problem(team.post(path, {**body, field: value}), 422, field)


def test_campaign_reply_must_be_an_email(team):
    path, body = NOTES["campaign_sms"]

    assert_problem(team.post(path, {**body, "reply": "nobody"}), 422, "reply")


def test_sms_note_needs_from(team):
    path, body = NOTES["sms"]
    without_from = {k: v for k, v in body.items() if k != "from"}

    assert_problem(team.post(path, without_from), 422, "from")


def test_occurred_at_needs_an_offset(team):
    path, body = NOTES["call"]

    response = team.post(path, {**body, "occurred_at": "2026-11-01T10:00:00"})

    assert_problem(response, 422, "occurred_at")


def test_invalid_to_is_422(team):
    path, body = NOTES["call"]

    assert_problem(team.post(path, {**body, "to": "not a phone"}), 422, "to")
