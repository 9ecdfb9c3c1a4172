"""Reading routing decisions: one by id, or pages newest first."""

from urllib.parse import urlencode

import pytest

from tests.api.conftest import JANE, NUMBER, assert_problem, seed_case_one


@pytest.fixture
def routed(acme):
    """Five decisions: SM0..SM3 from Jane (to Ann), SM4 from a stranger."""
    seed_case_one(acme)
    for i in range(4):
        acme.ok(
            "post",
            "/v1/inbound-sms",
            {"from": JANE, "to": NUMBER, "body": "hi", "message_id": f"SM{i}"},
        )
    acme.ok(
        "post",
        "/v1/inbound-sms",
        {"from": "+14155550199", "to": NUMBER, "body": "who?", "message_id": "SM4"},
    )
    return acme


def test_decision_is_read_by_message_id(routed):
    decision = routed.ok("get", "/v1/routing-decisions/SM2")

    assert decision["message_id"] == "SM2"
    assert decision["rule"] == "previous_sms"


def test_missing_decision_gets_404(routed):
    assert_problem(routed.get("/v1/routing-decisions/SM9"), 404)


def test_list_is_newest_first(routed):
    page = routed.ok("get", "/v1/routing-decisions")

    assert [d["message_id"] for d in page["items"]] == [
        "SM4",
        "SM3",
        "SM2",
        "SM1",
        "SM0",
    ]
    assert page["next_cursor"] is None


def test_list_filters_by_rule_and_recipient(routed):
    by_rule = routed.ok("get", "/v1/routing-decisions?rule=unknown_sender")
    by_recipient = routed.ok("get", "/v1/routing-decisions?recipient=ann@acme.test")

    assert [d["message_id"] for d in by_rule["items"]] == ["SM4"]
    assert len(by_recipient["items"]) == 4


def all_pages(tenant, limit):
    seen, query = [], {"limit": limit}
    while True:
        page = tenant.ok("get", f"/v1/routing-decisions?{urlencode(query)}")
        seen += [d["message_id"] for d in page["items"]]
        if page["next_cursor"] is None:
            return seen
        query["cursor"] = page["next_cursor"]


def test_pages_follow_the_cursor_through_every_decision_once(routed):
    seen = all_pages(routed, limit=2)

    assert seen == ["SM4", "SM3", "SM2", "SM1", "SM0"]


def test_decisions_made_at_one_position_are_each_paged_once(routed, monkeypatch):
    """Concurrent messages can be decided at one ledger position; paging must
    still tell them apart. The position is pinned here to make that certain."""
    view = routed.client.app.state.ledger.view
    gather = view.gather_facts
    monkeypatch.setattr(view, "gather_facts", lambda *args: (gather(*args)[0], 1))
    ids = [f"SM{i}" for i in range(5, 8)]
    for message_id in ids:
        routed.ok(
            "post",
            "/v1/inbound-sms",
            {"from": JANE, "to": NUMBER, "body": "hi", "message_id": message_id},
        )

    seen = all_pages(routed, limit=1)

    assert sorted(seen) == [f"SM{i}" for i in range(8)]


@pytest.mark.parametrize("cursor", ["nope", "MTIz", "LTE6U00x", "%00"])
def test_bad_cursor_is_422_naming_cursor(routed, cursor):
    response = routed.get("/v1/routing-decisions", params={"cursor": cursor})

    assert_problem(response, 422, "cursor")


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_limit_out_of_range_is_422_naming_limit(routed, limit):
    response = routed.get("/v1/routing-decisions", params={"limit": limit})

    assert_problem(response, 422, "limit")


def test_unknown_rule_is_422_naming_rule(routed):
    response = routed.get("/v1/routing-decisions", params={"rule": "coin_toss"})

    assert_problem(response, 422, "rule")
