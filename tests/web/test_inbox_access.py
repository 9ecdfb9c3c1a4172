"""A team member's session sees the texts that reached them and acts only on
the ones they hold: another user's text is 404 to read and to act on, the
console is closed to it, and a form without its token changes nothing."""

from __future__ import annotations

import pytest

from tests.api.conftest import JANE, NUMBER, seed_case_one
from tests.web.conftest import TeamMember


@pytest.fixture
def history(acme):
    """Ann texted Jane; Jane's SM1 went to Ann. Bob is on the team too."""
    seed_case_one(acme)
    acme.ok("put", "/v1/users/bob", {"email": "bob@acme.test", "name": "Bob Stone"})
    acme.ok(
        "patch",
        "/v1/account",
        {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "tok"},
    )
    acme.ok(
        "post",
        "/v1/inbound-sms",
        {"from": JANE, "to": NUMBER, "body": "Call me back", "message_id": "SM1"},
    )
    return acme


@pytest.fixture
def ann(app, history):
    return TeamMember(app, history, "ann")


@pytest.fixture
def bob(app, history):
    return TeamMember(app, history, "bob")


def test_a_user_s_inbox_lists_what_reached_them_only(ann, bob):
    assert "Call me back" in ann.http.get("/inbox").text
    assert "Call me back" not in bob.http.get("/inbox").text
    assert "No texts for you yet" in bob.http.get("/inbox").text


def test_a_user_cannot_read_another_user_s_conversation(ann, bob):
    assert ann.http.get("/inbox/SM1").status_code == 200

    for path in ["/inbox/SM1", "/inbox/SM1/hand-off"]:
        response = bob.http.get(path)

        assert response.status_code == 404, path
        assert "Call me back" not in response.text


def test_a_user_cannot_hand_off_or_reply_to_another_user_s_text(bob, history):
    handed = bob.post("/inbox/SM1/hand-off", to_user_id="bob", note="mine now")
    replied = bob.post("/inbox/SM1/replies", body="Hello from Bob")

    assert handed.status_code == 404
    assert replied.status_code == 404
    decision = history.ok("get", "/v1/routing-decisions/SM1")
    assert not decision.get("handoffs")
    assert decision["recipient"]["user_id"] == "ann"
    assert history.ok("get", "/v1/routing-decisions/SM1/replies")["items"] == []


def test_once_handed_on_a_text_is_read_only_to_its_first_holder(ann, bob, history):
    handed = ann.post("/inbox/SM1/hand-off", to_user_id="bob", note="Your client")
    assert handed.status_code == 303

    page = ann.http.get(handed.headers["location"])
    assert "You handed this text to Bob Stone" in page.text
    assert "Send reply" not in page.text
    replied = ann.post("/inbox/SM1/replies", body="Too late")
    again = ann.post("/inbox/SM1/hand-off", to_user_id="ann")

    assert replied.status_code == 403
    assert again.status_code == 403
    assert history.ok("get", "/v1/routing-decisions/SM1/replies")["items"] == []
    assert len(history.ok("get", "/v1/routing-decisions/SM1")["handoffs"]) == 1
    bob_page = bob.http.get("/inbox/SM1")
    assert "Ann handed it to you" in bob_page.text
    assert "Your client" in bob_page.text
    assert "Send reply" in bob_page.text


def test_a_form_without_its_token_changes_nothing(ann, history):
    response = ann.http.post("/inbox/SM1/hand-off", data={"to_user_id": "bob"})

    assert response.status_code == 403
    assert not history.ok("get", "/v1/routing-decisions/SM1").get("handoffs")


def test_a_hand_off_to_nobody_names_the_field(ann, history):
    response = ann.post("/inbox/SM1/hand-off", to_user_id="")

    assert response.status_code == 422
    assert "Choose the colleague" in response.text or "choose the colleague" in (
        response.text
    )
    assert not history.ok("get", "/v1/routing-decisions/SM1").get("handoffs")


def test_the_console_is_closed_to_a_team_member(ann):
    for path in ["/decisions", "/decisions/SM1", "/users", "/contacts/c1"]:
        response = ann.http.get(path)

        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next="), path


def test_a_console_session_is_no_way_into_the_inbox(app, history):
    from tests.web.conftest import Visitor

    lead = Visitor(app, history)

    response = lead.http.get("/inbox/SM1")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")


def test_a_user_deactivated_after_signing_in_is_signed_out(ann, history):
    history.ok("put", "/v1/users/ann", {"email": "ann@acme.test", "active": False})

    response = ann.http.get("/inbox")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")
