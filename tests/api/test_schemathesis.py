"""Requests generated from the app's own OpenAPI schema: no 500, and every
answer is one the schema describes. Bounded to stay fast on each backend."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from smsledger.api.schemas.decisions import InboundSms
from tests.api.conftest import ADMIN, Tenant


@schemathesis.serializer("application/x-ndjson")
def _json_lines(ctx, value):
    """The import's body: the schema calls it a string of JSON Lines."""
    return value.encode() if isinstance(value, str) else str(value).encode()


EXAMPLES = 10  # per operation and mode: enough to find a 500, quick to run
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def keyed(client):
    """An account holding the ids the schema's examples use, so that the
    examples reach the success paths, not only 404s."""
    tenant = Tenant(client, "Acme")
    tenant.ok("put", "/v1/users/u-ann", {"email": "ann@example.com", "name": "Ann"})
    tenant.ok(
        "put",
        "/v1/contacts/c-42",
        {"name": "Jane Roe", "phones": ["+14155550111"], "owner_user_id": "u-ann"},
    )
    tenant.ok(
        "put", "/v1/inbound-numbers/+14155550100", {"backup_email": "desk@example.com"}
    )
    tenant.ok("post", "/v1/inbound-sms", InboundSms.model_json_schema()["examples"][0])
    tenant.ok("patch", "/v1/account", {"twilio_auth_token": "token"})
    return tenant


def call(case, tenant):
    admin = case.operation.path.startswith("/v1/accounts")
    if case.operation.path.endswith("/alerts"):
        # A live stream ends only when asked to; the test client waits for the end.
        case.query = {**(case.query or {}), "timeout": 0.1}
    case.call_and_validate(headers=ADMIN if admin else tenant.headers, checks=CHECKS)


def explore(strategy, tenant, max_examples):
    @given(case=strategy)
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def requests_get_documented_answers(case):
        call(case, tenant)

    requests_get_documented_answers()


def has_inputs(operation):
    parts = (operation.path_parameters, operation.query, operation.body)
    return any(len(part) for part in parts)


def test_generated_requests_get_documented_answers(app, keyed, subtests):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        with subtests.test(msg=operation.label):
            for example in schema.get_strategies_from_examples(operation):
                explore(example, keyed, max_examples=1)
            explore(operation.as_strategy(), keyed, max_examples=EXAMPLES)
            if has_inputs(operation):  # else no request can be invalid
                negative = operation.as_strategy(GenerationMode.NEGATIVE)
                explore(negative, keyed, max_examples=EXAMPLES)
