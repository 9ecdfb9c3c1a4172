"""The OpenAPI schema and the docs describe every endpoint, with examples."""

import re

import pytest

ENDPOINTS = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/v1/accounts"),
    ("get", "/v1/account"),
    ("patch", "/v1/account"),
    ("post", "/v1/api-keys"),
    ("get", "/v1/api-keys"),
    ("delete", "/v1/api-keys/{key_id}"),
    ("post", "/v1/accounts/{account_id}/api-keys"),
    ("get", "/v1/users"),
    ("put", "/v1/users/{user_id}"),
    ("get", "/v1/users/{user_id}"),
    ("get", "/v1/users/{user_id}/alerts"),
    ("get", "/v1/contacts"),
    ("put", "/v1/contacts/{contact_id}"),
    ("get", "/v1/contacts/{contact_id}"),
    ("get", "/v1/contacts/{contact_id}/history"),
    ("put", "/v1/inbound-numbers/{number}"),
    ("get", "/v1/inbound-numbers/{number}"),
    ("delete", "/v1/inbound-numbers/{number}"),
    ("post", "/v1/interactions/sms"),
    ("post", "/v1/interactions/campaign-sms"),
    ("post", "/v1/interactions/calls"),
    ("post", "/v1/inbound-sms"),
    ("post", "/v1/webhooks/twilio/sms"),
    ("get", "/v1/routing-decisions/{message_id}"),
    ("get", "/v1/routing-decisions"),
    ("post", "/v1/routing-decisions/{message_id}/replay"),
    ("post", "/v1/routing-decisions/what-if"),
    ("post", "/v1/routing-decisions/{message_id}/handoffs"),
    ("post", "/v1/routing-decisions/{message_id}/replies"),
    ("get", "/v1/routing-decisions/{message_id}/replies"),
    ("post", "/v1/users/{user_id}/sign-in-links"),
    ("post", "/v1/imports"),
    ("get", "/v1/export"),
]


@pytest.fixture
def schema(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def resolve(schema, node):
    ref = node.get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def test_schema_lists_every_endpoint_and_no_other(schema):
    listed = {(method, path) for path, ops in schema["paths"].items() for method in ops}

    assert listed == set(ENDPOINTS)


@pytest.mark.parametrize(
    ("method", "path"), ENDPOINTS, ids=[" ".join(e) for e in ENDPOINTS]
)
def test_every_endpoint_is_described_with_examples(schema, method, path):
    operation = schema["paths"][path][method]

    assert operation["description"]
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            assert parameter["examples"], parameter["name"]
    for media_type, body in operation.get("requestBody", {}).get("content", {}).items():
        assert resolve(schema, body["schema"]).get("examples"), media_type
    success = [r for code, r in operation["responses"].items() if code < "300"]
    for response in success:
        for content in response.get("content", {}).values():
            body = resolve(schema, content["schema"])
            if body.get("type") == "array":
                body = resolve(schema, body["items"])
            assert body.get("examples") or body.get("type") == "string", path


def test_errors_are_documented_as_problem_json(schema):
    operation = schema["paths"]["/v1/inbound-sms"]["post"]

    for code in ("400", "401", "409", "413", "422"):
        content = operation["responses"][code]["content"]
        assert list(content) == ["application/problem+json"]
        assert resolve(schema, content["application/problem+json"]["schema"])[
            "properties"
        ].keys() == {"type", "title", "status", "detail", "errors"}


def test_keyed_endpoints_declare_bearer_auth(schema):
    for path, method in [("/v1/account", "get"), ("/v1/inbound-sms", "post")]:
        assert schema["paths"][path][method]["security"] == [{"HTTPBearer": []}]
    assert schema["paths"]["/v1/accounts"]["post"]["security"] == [{"AdminToken": []}]
    assert "security" not in schema["paths"]["/v1/webhooks/twilio/sms"]["post"]


def test_docs_page_is_served(client):
    response = client.get("/docs")

    assert response.status_code == 200
    assert "swagger" in response.text.lower()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_every_asset_from_the_app(client, page):
    """Offline, a page that loads its script from a CDN is blank."""
    html = client.get(page).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert assets
    for url in assets:
        assert url.startswith("/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content, url
