"""Reads that may lag go to a hot standby; a read that names the position of
its own write sees it; a standby that dies leaves the reads to the primary."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from smsledger.api.app import create_app
from smsledger.api.settings import Settings
from smsledger.ledger import audit
from smsledger.ledger.application import Ledger
from smsledger.ledger.replicas import Replicas
from tests.api.conftest import ADMIN_TOKEN, JANE, NUMBER, Tenant, seed_case_one


def served_by(where: str) -> float:
    count = REGISTRY.get_sample_value(
        "smsledger_lagging_reads_total", {"served_by": where}
    )
    return count or 0.0


@pytest.fixture
def client(pair):
    settings = Settings(
        database_url=pair.primary_url,
        database_replica_url=SecretStr(pair.standby_url),
        replica_wait_seconds=0.3,
        admin_token=SecretStr(ADMIN_TOKEN),
        delivery_worker=False,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def note(acme: Tenant, interaction_id: str) -> int:
    """Ann texts Jane again; the position it was recorded at."""
    body = {
        "interaction_id": interaction_id,
        "user_id": "ann",
        "contact_id": "c1",
        "to": JANE,
        "from": NUMBER,
    }
    return int(acme.ok("post", "/v1/interactions/sms", body)["position"])


def noted(history):
    return [
        e["data"]["interaction_id"] for e in history if "interaction_id" in e["data"]
    ]


def test_lagging_reads_go_to_the_standby_and_min_position_reads_your_write(
    pair, client
):
    acme = Tenant(client, "Acme")
    seed_case_one(acme)
    pair.wait_until_replayed(note(acme, "i2"))
    # The standby stops replaying: what is written now, only the primary has.
    pair.standby_sql("SELECT pg_wal_replay_pause()")
    position = note(acme, "i3")

    on_standby, on_primary = served_by("standby"), served_by("primary")
    stale = acme.get("/v1/contacts/c1/history")
    assert noted(stale.json()) == ["i1", "i2"]  # the standby's: a moment old
    assert served_by("standby") == on_standby + 1

    # Naming its write's position, the client reads it: the standby has not
    # replayed that far in the time allowed, so the primary serves.
    fresh = acme.get(f"/v1/contacts/c1/history?min_position={position}")
    assert noted(fresh.json()) == ["i1", "i2", "i3"]
    assert served_by("primary") == on_primary + 1

    # Once the standby replays that far, it serves the same read.
    pair.standby_sql("SELECT pg_wal_replay_resume()")
    again = acme.get(f"/v1/contacts/c1/history?min_position={position}")
    assert noted(again.json()) == ["i1", "i2", "i3"]
    assert served_by("standby") == on_standby + 2


def test_reads_fall_back_to_the_primary_when_the_standby_is_killed(pair, client):
    acme = Tenant(client, "Acme")
    seed_case_one(acme)
    for n in range(5):
        body = {"from": JANE, "to": NUMBER, "body": "hi", "message_id": f"SM{n}"}
        acme.ok("post", "/v1/inbound-sms", body)
    pair.wait_until_replayed(client.app.state.ledger.head())
    before = acme.ok("get", "/v1/routing-decisions")
    assert len(before["items"]) == 5

    on_primary = served_by("primary")
    pair.standby.kill()
    for _ in range(3):
        page = acme.get("/v1/routing-decisions")
        assert page.status_code == 200, page.text
        assert page.json() == before
    assert served_by("primary") == on_primary + 3


def test_audit_killed_standby_mid_run_finishes_on_the_primary(pair):
    ledger = Ledger(pair.primary_url)
    replicas = Replicas(ledger, [pair.standby_url])
    try:
        settings, _ = ledger.open_account("Acme")
        ctx = ledger.context(settings["account_id"])
        ledger.put_number(ctx, NUMBER, "desk@acme.test")
        ledger.put_user(ctx, "ann", "ann@acme.test", "Ann")
        ledger.put_contact(ctx, "c1", [JANE], "Jane Roe")
        ledger.record_interaction(
            ctx, "sms", contact_id="c1", to=JANE, from_number=NUMBER, user_id="ann"
        )
        for n in range(40):
            ledger.route_inbound_sms(ctx, JANE, NUMBER, "hi", f"SM{n}")
        pair.wait_until_replayed(ledger.head())

        killed = threading.Event()
        pages: list[str] = []

        def verify(on: Ledger) -> audit.VerifyReport:
            where = "standby" if on is not ledger else "primary"

            def progress(position: int, head: int) -> None:
                pages.append(where)
                if where == "standby" and not killed.is_set():
                    killed.set()
                    pair.standby.kill()  # between two pages of the standby's run

            return audit.verify(on, page_size=10, progress=progress)

        on_primary = served_by("primary")
        report = replicas.read(verify)
        assert killed.is_set()
        assert pages[0] == "standby"
        assert pages[-1] == "primary"
        assert report.checked == report.consistent == 40
        assert served_by("primary") == on_primary + 1
    finally:
        replicas.close()
        ledger.close()
