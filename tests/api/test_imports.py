"""POST /v1/imports and GET /v1/export, over HTTP."""

from __future__ import annotations

import json

from smsledger.api.settings import Settings
from tests.api.conftest import Tenant
from tests.imports.history import history_lines


def body(lines):
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def test_an_import_reports_accepted_duplicates_and_rejected_lines(client):
    tenant = Tenant(client, "Acme")
    lines = history_lines(20, contacts=4)
    lines.insert(4, {"type": "user", "user_id": "x", "email": "nope"})
    headers = {**tenant.headers, "Content-Type": "application/x-ndjson"}

    first = client.post("/v1/imports", content=body(lines), headers=headers)
    again = client.post("/v1/imports", content=body(lines), headers=headers)

    assert first.status_code == 200, first.text
    rejected = [
        {"line": 5, "field": "email", "reason": first.json()["rejected"][0]["reason"]}
    ]
    assert first.json()["rejected"] == rejected
    assert first.json()["accepted"] + first.json()["duplicates"] == len(lines) - 1
    assert again.json()["accepted"] == 0
    assert again.json()["duplicates"] == len(lines) - 1


def test_export_streams_the_account_history_that_import_reads(client):
    tenant = Tenant(client, "Acme")
    lines = history_lines(10, contacts=3)
    client.post("/v1/imports", content=body(lines), headers=tenant.headers)

    response = tenant.get("/v1/export")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    exported = [json.loads(x) for x in response.text.splitlines()]
    assert exported[0]["type"] == "account"
    notes = [x["interaction_id"] for x in exported if "interaction_id" in x]
    assert notes == [x["interaction_id"] for x in lines if "interaction_id" in x]
    other = Tenant(client, "Other")
    assert len(other.get("/v1/export").text.splitlines()) == 1  # its own only


def test_an_import_over_its_limit_is_refused_with_413_and_records_nothing(
    settings: Settings, database_url
):
    from fastapi.testclient import TestClient

    from smsledger.api.app import create_app

    small = settings.model_copy(update={"max_import_bytes": 2000})
    with TestClient(create_app(small)) as client:
        tenant = Tenant(client, "Acme")
        response = client.post(
            "/v1/imports", content=body(history_lines(100)), headers=tenant.headers
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert len(tenant.get("/v1/export").text.splitlines()) == 1


def test_an_import_without_a_key_is_refused(client):
    assert client.post("/v1/imports", content=b"{}\n").status_code == 401
