"""Every worked example of routing-cases.json, on every backend."""

import json
from pathlib import Path

import pytest

from smsledger.ledger.application import Ledger
from tests.integration.scenario import apply_step

CASES = json.loads(
    (Path(__file__).parent.parent / "data/routing-cases.json").read_text()
)


@pytest.mark.parametrize(
    "case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]]
)
def test_worked_example(ledger: Ledger, case):
    settings, _ = ledger.open_account(
        "Acme", routing_policy=case.get("policy", "sms_then_call")
    )
    ctx = ledger.context(settings["account_id"])
    for step in CASES["setup"] + case["given"]:
        apply_step(ledger, ctx, step)

    decision = ledger.route_inbound_sms(
        ctx, case["inbound"]["from"], case["inbound"]["to"], "hello"
    ).value

    expect = case["expect"]
    if "rule" in expect:
        assert decision["rule"] == expect["rule"]
    if "status" in expect:
        assert decision["status"] == expect["status"]
    if "recipient_email" in expect:
        recipient = decision["recipient"]
        assert (recipient and recipient["email"]) == expect["recipient_email"]
    if "contact_ids" in expect:
        assert decision["contact_ids"] == expect["contact_ids"]
    skipped = {s["user_id"] for s in decision["skipped"]}
    assert skipped == set(expect.get("skipped_user_ids", []))
