"""Every worked example of routing-cases.json, on every backend."""

import pytest

from smsledger.ledger.application import Ledger
from tests.integration.scenario import apply_step
from tests.routing_cases import CASES, assert_as_expected


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

    assert_as_expected(decision, case["expect"])
