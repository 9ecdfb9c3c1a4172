"""`scripts/serve`'s log as an operator reads it: with LOG_FORMAT=json, every
line is a JSON object with a time and a level, uvicorn's own lines included,
and a request's lines carry the id it was answered with."""

from __future__ import annotations

import json

from tests.api.conftest import ADMIN
from tests.faults.harness import Served, call


def test_json_log_lines_carry_time_level_and_request_id(tmp_path):
    served = Served(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
            "ADMIN_TOKEN": ADMIN["Authorization"].removeprefix("Bearer "),
            "WEB_CONCURRENCY": "1",
            "LOG_FORMAT": "json",
            "DELIVERY_WORKER": "false",
        },
        tmp_path / "serve.log",
    )
    served.start()
    try:
        served.wait_until_healthy()
        opened = call(served.base, "POST", "/v1/accounts", {"name": "Acme"}, ADMIN)
        assert opened.status == 201
        asked = {"X-Request-ID": "r-1"}
        answered = call(served.base, "HEAD", "/healthz", headers=asked)
        assert answered.status == 200
        assert answered.headers["x-request-id"] == "r-1"
    finally:
        served.stop()
    lines = [json.loads(line) for line in served.log.read_text().splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any("listening on" in line["message"] for line in lines)
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    heads = [line for line in access if "HEAD /healthz" in line["message"]]
    assert [line["request_id"] for line in heads] == ["r-1"]
    created = [line for line in access if "POST /v1/accounts" in line["message"]]
    assert len(created) == 1
    assert len(created[0]["request_id"]) == 32
