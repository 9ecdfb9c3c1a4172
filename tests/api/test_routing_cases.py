"""Every worked example of routing-cases.json, over HTTP, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN
from tests.routing_cases import CASES, assert_as_expected

NOTES = {"sms": "sms", "campaign_sms": "campaign-sms", "call": "calls"}


class Account:
    def __init__(self, client: TestClient, policy: str) -> None:
        body = {"name": "Acme", "routing_policy": policy}
        response = client.post("/v1/accounts", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        self.client = client
        self.headers = {"Authorization": f"Bearer {response.json()['api_key']}"}

    def call(self, method: str, path: str, body: Any) -> dict[str, Any]:
        response = self.client.request(method, path, json=body, headers=self.headers)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def step(self, step: dict[str, Any]) -> None:
        ((kind, data),) = step.items()
        if kind == "number":
            body = {k: v for k, v in data.items() if k != "number"}
            self.call("PUT", f"/v1/inbound-numbers/{data['number']}", body)
        elif kind == "user":
            body = {k: v for k, v in data.items() if k != "user_id"}
            self.call("PUT", f"/v1/users/{data['user_id']}", body)
        elif kind == "contact":
            body = {k: v for k, v in data.items() if k != "contact_id"}
            self.call("PUT", f"/v1/contacts/{data['contact_id']}", body)
        elif kind in NOTES:
            self.call("POST", f"/v1/interactions/{NOTES[kind]}", data)
        elif kind == "inbound":
            self.call("POST", "/v1/inbound-sms", {"body": "hello", **data})
        elif kind == "handoff":
            body = {k: v for k, v in data.items() if k != "message_id"}
            path = f"/v1/routing-decisions/{data['message_id']}/handoffs"
            self.call("POST", path, body)
        else:
            raise AssertionError(f"unknown step {kind}")


@pytest.mark.parametrize(
    "case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]]
)
def test_worked_example_over_http(client: TestClient, case: dict[str, Any]) -> None:
    account = Account(client, case.get("policy", "sms_then_call"))
    for step in CASES["setup"] + case["given"]:
        account.step(step)

    decision = account.call(
        "POST", "/v1/inbound-sms", {**case["inbound"], "body": "hello"}
    )

    assert_as_expected(decision, case["expect"])
    replay = account.call(
        "POST", f"/v1/routing-decisions/{decision['message_id']}/replay", None
    )
    assert replay["consistent"], replay
