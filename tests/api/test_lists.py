"""The list endpoints the console reads: users, contacts, decisions by every
filter, and a contact's history with the messages routed by it."""

from urllib.parse import urlencode

import pytest

from tests.api.conftest import JANE, NUMBER, assert_problem, seed_case_one

STRANGER = "+14155550199"


def pages(tenant, path, limit, **query):
    """Every item of a list, following `next_cursor` to the end."""
    items, cursor = [], None
    while True:
        params = {**query, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = tenant.ok("get", f"{path}?{urlencode(params)}")
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture
def team(acme):
    for user_id, active in [("u3", True), ("u1", False), ("u2", True), ("u0", True)]:
        acme.ok(
            "put",
            f"/v1/users/{user_id}",
            {
                "email": f"{user_id}@acme.test",
                "name": user_id.upper(),
                "active": active,
            },
        )
    return acme


def test_users_are_listed_by_id_a_page_at_a_time(team):
    listed = pages(team, "/v1/users", 3)

    assert [u["user_id"] for u in listed] == ["u0", "u1", "u2", "u3"]
    assert listed[1] == {
        "user_id": "u1",
        "email": "u1@acme.test",
        "name": "U1",
        "active": False,
    }


@pytest.mark.parametrize(("active", "expected"), [("true", 3), ("false", 1)])
def test_users_filter_by_active(team, active, expected):
    listed = team.ok("get", f"/v1/users?active={active}")["items"]

    assert len(listed) == expected
    assert all(u["active"] is (active == "true") for u in listed)


def test_users_of_another_account_are_not_listed(team, globex):
    assert globex.ok("get", "/v1/users") == {"items": [], "next_cursor": None}


@pytest.fixture
def contacts(team):
    team.ok("put", "/v1/contacts/c1", {"name": "Jane Roe", "phones": [JANE]})
    team.ok(
        "put",
        "/v1/contacts/c2",
        {"name": "jan Smith", "phones": ["+14155550122"], "owner_user_id": "u2"},
    )
    team.ok(
        "put",
        "/v1/contacts/c3",
        {"name": "Bob", "phones": [JANE, "+14155550133"], "owner_user_id": "u2"},
    )
    return team


def test_contacts_are_listed_by_id_with_their_phones(contacts):
    listed = pages(contacts, "/v1/contacts", 2)

    assert [c["contact_id"] for c in listed] == ["c1", "c2", "c3"]
    assert listed[2] == {
        "contact_id": "c3",
        "name": "Bob",
        "phones": [JANE, "+14155550133"],
        "owner_user_id": "u2",
    }


CONTACT_QUERIES = [
    ({"phone": "(415) 555-0111"}, ["c1", "c3"]),
    ({"phone": "+1 415 555 0133"}, ["c3"]),
    ({"q": "JAN"}, ["c1", "c2"]),
    ({"q": "jane"}, ["c1"]),
    ({"q": "x"}, []),
    ({"owner_user_id": "u2"}, ["c2", "c3"]),
    ({"owner_user_id": "u2", "q": "b"}, ["c3"]),
]


def test_contacts_filter_by_phone_name_prefix_and_owner(contacts):
    for query, expected in CONTACT_QUERIES:
        listed = contacts.ok("get", f"/v1/contacts?{urlencode(query)}")["items"]

        assert [c["contact_id"] for c in listed] == expected, query


def test_contact_phone_that_cannot_be_a_phone_is_422(contacts):
    assert_problem(contacts.get("/v1/contacts?phone=not-a-phone"), 422, "phone")


@pytest.mark.parametrize("path", ["/v1/users", "/v1/contacts"])
def test_bad_list_cursor_is_422_naming_cursor(team, path):
    assert_problem(team.get(f"{path}?cursor=nonsense"), 422, "cursor")


@pytest.fixture
def routed(acme):
    """SM0..SM2 from Jane to Ann, SM3 from a stranger, SM4 held."""
    seed_case_one(acme)
    for i in range(3):
        acme.ok(
            "post",
            "/v1/inbound-sms",
            {
                "from": JANE,
                "to": NUMBER,
                "body": "hi",
                "message_id": f"SM{i}",
                "received_at": f"2026-11-0{i + 2}T12:00:00Z",
            },
        )
    acme.ok(
        "post",
        "/v1/inbound-sms",
        {"from": STRANGER, "to": NUMBER, "body": "who?", "message_id": "SM3"},
    )
    acme.ok(
        "post",
        "/v1/inbound-sms",
        {"from": JANE, "to": "+14155550999", "body": "?", "message_id": "SM4"},
    )
    return acme


def listed(tenant, **query):
    page = tenant.ok("get", f"/v1/routing-decisions?{urlencode(query)}")
    return [d["message_id"] for d in page["items"]]


DECISION_QUERIES = [
    ({"status": "held"}, ["SM4"]),
    ({"status": "routed"}, ["SM3", "SM2", "SM1", "SM0"]),
    ({"delivery": "pending"}, ["SM3", "SM2", "SM1", "SM0"]),
    ({"delivery": "sent"}, []),
    ({"sender": "(415) 555-0111"}, ["SM4", "SM2", "SM1", "SM0"]),
    ({"sender": STRANGER, "rule": "unknown_sender"}, ["SM3"]),
    ({"since": "2026-11-03T12:00:00Z", "until": "2026-11-04T12:00:00Z"}, ["SM1"]),
    (
        {"since": "2026-11-03T13:00:00+01:00", "until": "2026-11-03T12:00:01Z"},
        ["SM1"],
    ),
    (
        {"until": "2026-11-03T12:00:01Z", "recipient": "ann@acme.test"},
        ["SM1", "SM0"],
    ),
]


def test_decisions_filter_by_status_delivery_sender_and_time(routed):
    for query, expected in DECISION_QUERIES:
        assert listed(routed, **query) == expected, query


def test_decisions_time_without_offset_is_422_naming_it(routed):
    response = routed.get("/v1/routing-decisions?until=2026-11-04T00:00:00")

    assert_problem(response, 422, "until")


def test_filtered_decisions_page_through_every_match_once(routed):
    matching = pages(routed, "/v1/routing-decisions", 1, sender=JANE)

    assert [d["message_id"] for d in matching] == ["SM4", "SM2", "SM1", "SM0"]


def test_decisions_delivery_filter_follows_the_mail(routed, app):
    ledger = app.state.ledger
    account = routed.account_id
    ledger.record_delivered(account, "SM1", "<m1@test>")

    assert listed(routed, delivery="sent") == ["SM1"]
    assert "SM1" not in listed(routed, delivery="pending")


def test_bad_decision_filter_is_422_naming_it(routed):
    for field, value in [("status", "lost"), ("delivery", "later"), ("sender", "abc")]:
        response = routed.get(f"/v1/routing-decisions?{field}={value}")

        assert_problem(response, 422, field)


def test_history_holds_each_message_from_the_contact_and_its_decision(routed):
    history = routed.ok("get", "/v1/contacts/c1/history")
    types = [e["type"] for e in history]
    positions = [e["position"] for e in history]

    assert positions == sorted(positions)
    assert types.count("InboundSms.Received") == 3
    assert types.count("InboundSms.Routed") == 3
    received = [e["data"] for e in history if e["type"] == "InboundSms.Received"]
    assert [r["message_id"] for r in received] == ["SM0", "SM1", "SM2"]
    routed_ = [e for e in history if e["type"] == "InboundSms.Routed"]
    assert routed_[0]["data"]["decision"]["recipient"]["user_id"] == "ann"
    # Each message comes before its decision, and after the note it answers.
    first_note = types.index("Interaction.SmsSent")
    assert first_note < types.index("InboundSms.Received")
    assert types.index("InboundSms.Received") < types.index("InboundSms.Routed")


def test_history_leaves_out_messages_from_other_contacts(routed):
    routed.ok("put", "/v1/contacts/c9", {"name": "Other", "phones": ["+14155550177"]})

    history = routed.ok("get", "/v1/contacts/c9/history")

    assert [e["type"] for e in history] == ["Contact.Registered"]
