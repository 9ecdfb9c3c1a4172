"""Auditing over HTTP: replaying one decision, and what-if under another policy."""

import pytest

from tests.api.conftest import JANE, NUMBER, assert_problem, seed_case_one


def inbound(tenant, message_id, sender=JANE, number=NUMBER):
    body = {"from": sender, "to": number, "body": "hi", "message_id": message_id}
    return tenant.ok("post", "/v1/inbound-sms", body)


def replay(tenant, message_id):
    response = tenant.post(f"/v1/routing-decisions/{message_id}/replay", None)
    assert response.status_code == 200, response.text
    return response.json()


def deactivate_in_view_only(app, user_id):
    """Alter the live view by hand, as a bug or a stray UPDATE would: the
    ledger still says the user is active."""
    view = app.state.ledger.view
    with view.snapshot() as tx:
        version = tx.version
    with view.datastore.transaction(commit=True) as curs:
        statement = "UPDATE {users} SET active = %s WHERE user_id = %s"
        curs.execute(view.sql(statement, version), (False, user_id))


def test_replay_of_a_normal_decision_is_consistent(acme):
    seed_case_one(acme)
    recorded = inbound(acme, "SM1")

    result = replay(acme, "SM1")

    assert result["consistent"] is True
    assert result["recorded"] == recorded
    assert result["replayed"] == recorded


def test_replay_after_the_view_was_altered_shows_the_other_recipient(acme, client):
    seed_case_one(acme)
    acme.ok("put", "/v1/users/cat", {"email": "cat@acme.test"})
    acme.ok("put", "/v1/contacts/c1", {"phones": [JANE], "owner_user_id": "cat"})
    deactivate_in_view_only(client.app, "ann")
    recorded = inbound(acme, "SM1")

    result = replay(acme, "SM1")

    assert recorded["recipient"]["email"] == "cat@acme.test"
    assert result["consistent"] is False
    assert result["recorded"]["recipient"]["email"] == "cat@acme.test"
    assert result["replayed"]["recipient"]["email"] == "ann@acme.test"
    assert result["replayed"]["rule"] == "previous_sms"


def test_replay_of_another_accounts_decision_is_reported_like_a_missing_one(
    acme, globex
):
    seed_case_one(acme)
    inbound(acme, "SM1")

    theirs = globex.post("/v1/routing-decisions/SM1/replay", None)
    missing = globex.post("/v1/routing-decisions/SM9/replay", None)

    assert_problem(theirs, 404)
    assert theirs.json()["detail"] == missing.json()["detail"].replace("SM9", "SM1")


def test_replay_needs_an_api_key(acme, client):
    seed_case_one(acme)
    inbound(acme, "SM1")

    assert_problem(client.post("/v1/routing-decisions/SM1/replay"), 401)


def note(tenant, kind, user_id, contact_id, phone, number, at):
    path = "/v1/interactions/sms" if kind == "sms" else "/v1/interactions/calls"
    body = {
        "user_id": user_id,
        "contact_id": contact_id,
        "to": phone,
        "from": number,
        "occurred_at": at,
    }
    tenant.ok("post", path, body)


def history_with_calls_after_some_sms(tenant, contacts=4, number=NUMBER):
    """Ann texted each contact; Bob called every other one an hour later. The
    decisions where Bob's call is more recent than Ann's SMS are returned."""
    tenant.ok("put", f"/v1/inbound-numbers/{number}", {"backup_email": "d@x.test"})
    tenant.ok("put", "/v1/users/ann", {"email": "ann@x.test"})
    tenant.ok("put", "/v1/users/bob", {"email": "bob@x.test"})
    newer_call = set()
    for c in range(contacts):
        phone = f"+1415555{7000 + c}"
        tenant.ok("put", f"/v1/contacts/k{c}", {"phones": [phone]})
        note(tenant, "sms", "ann", f"k{c}", phone, number, "2026-11-05T10:00:00Z")
        if c % 2 == 0:
            note(tenant, "call", "bob", f"k{c}", phone, number, "2026-11-05T11:00:00Z")
            newer_call.add(f"SM{c}")
        inbound(tenant, f"SM{c}", sender=phone, number=number)
    return newer_call


def test_what_if_lists_exactly_the_decisions_a_more_recent_call_would_take(
    acme, globex
):
    newer_call = history_with_calls_after_some_sms(acme)
    history_with_calls_after_some_sms(globex, number="+14155550200")

    report = acme.ok(
        "post", "/v1/routing-decisions/what-if", {"policy": "most_recent_interaction"}
    )

    assert report["policy"] == "most_recent_interaction"
    assert report["checked"] == 4
    assert report["changed"] == len(newer_call) == 2
    assert report["changes"] == {"previous_sms -> previous_call": 2}
    assert {item["message_id"] for item in report["items"]} == newer_call
    assert {item["recorded_recipient"] for item in report["items"]} == {"ann@x.test"}
    assert {item["what_if_recipient"] for item in report["items"]} == {"bob@x.test"}


def test_what_if_under_the_policy_in_force_changes_nothing(acme):
    history_with_calls_after_some_sms(acme)

    report = acme.ok(
        "post", "/v1/routing-decisions/what-if", {"policy": "sms_then_call"}
    )

    assert (report["checked"], report["changed"], report["items"]) == (4, 0, [])


def test_what_if_items_are_limited_and_resume_after_a_position(acme):
    history_with_calls_after_some_sms(acme, contacts=6)
    ask = {"policy": "most_recent_interaction", "limit": 2}

    first = acme.ok("post", "/v1/routing-decisions/what-if", ask)
    since = first["items"][-1]["position"] + 1
    rest = acme.ok("post", "/v1/routing-decisions/what-if", {**ask, "since": since})

    assert first["changed"] == 3
    assert [i["message_id"] for i in first["items"]] == ["SM0", "SM2"]
    assert [i["message_id"] for i in rest["items"]] == ["SM4"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"policy": "round_robin"}, "policy"),
        ({}, "policy"),
        ({"policy": "sms_then_call", "limit": 0}, "limit"),
        ({"policy": "sms_then_call", "since": -1}, "since"),
        ({"policy": "sms_then_call", "until": 5}, "until"),
    ],
    ids=["unknown policy", "no policy", "zero limit", "negative since", "unknown"],
)
def test_what_if_refuses_an_invalid_request_naming_the_field(acme, body, field):
    response = acme.post("/v1/routing-decisions/what-if", body)

    assert_problem(response, 422, field)


def test_a_message_named_what_if_is_still_read_and_replayed_by_its_id(acme):
    seed_case_one(acme)
    recorded = inbound(acme, "what-if")

    assert acme.ok("get", "/v1/routing-decisions/what-if") == recorded
    assert replay(acme, "what-if")["consistent"] is True
