"""Idempotency-Key across processes: the same request sent to two servers on
one database at once is recorded once, and both answer the same."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsledger.ledger.application import Ledger
from tests.api.conftest import ADMIN, ADMIN_TOKEN, JANE, NUMBER, without_delivery

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60  # seconds for a server to start
SERVE = [sys.executable, "-m", "uvicorn", "--factory", "smsledger.api.app:create_app"]
SERVE += ["--host", "127.0.0.1", "--log-level", "warning"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def small_pool(url: str) -> str:
    if not url.startswith("postgresql"):
        return url
    return url + ("&" if "?" in url else "?") + "pool_size=2"


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two server processes, each with its own ledger, on one database."""
    env = {
        **os.environ,
        "DATABASE_URL": small_pool(database_url),
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "DELIVERY_WORKER": "false",
        "ACCESS_LOG": "false",
    }
    started = []
    try:
        for n in range(2):
            port = free_port()
            log_path = tmp_path / f"server-{n}.log"
            log = log_path.open("w")
            process = subprocess.Popen(
                [*SERVE, "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            started.append((process, f"http://127.0.0.1:{port}", log_path))
        for process, url, log_path in started:
            wait_until_healthy(process, url, log_path)
        yield [url for _, url, _ in started]
    finally:
        for process, _, _ in started:
            process.terminate()
            process.wait(10)


def wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling interval, not synchronisation
    pytest.fail(f"the server did not start in {DEADLINE}s:\n{log.read_text()}")


def set_up(url: str) -> dict[str, str]:
    """An account with case 1's team; the headers of its key."""
    with httpx.Client(base_url=url, timeout=10) as client:
        created = client.post("/v1/accounts", json={"name": "Acme"}, headers=ADMIN)
        headers = {"Authorization": f"Bearer {created.json()['api_key']}"}
        for method, path, body in [
            ("PUT", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "d@acme.test"}),
            ("PUT", "/v1/users/ann", {"email": "ann@acme.test", "name": "Ann"}),
            ("PUT", "/v1/contacts/c1", {"name": "Jane Roe", "phones": [JANE]}),
        ]:
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 201, response.text
    return headers


def both_at_once(servers, path, body, headers):
    """The same request sent to each server at the same moment."""
    barrier = threading.Barrier(len(servers))
    answers: list[Any] = [None] * len(servers)

    def send(i: int) -> None:
        with httpx.Client(base_url=servers[i], timeout=30) as client:
            barrier.wait()
            answers[i] = client.post(path, json=body, headers=headers)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.parametrize(
    ("path", "body", "topic"),
    [
        (
            "/v1/interactions/sms",
            {"user_id": "ann", "contact_id": "c1", "to": JANE, "from": NUMBER},
            ":Interaction.SmsSent",
        ),
        (
            "/v1/inbound-sms",
            {"from": JANE, "to": NUMBER, "body": "Yes"},
            ":InboundSms.Routed",
        ),
    ],
    ids=["note", "inbound"],
)
def test_one_key_sent_to_two_processes_at_once_is_recorded_once(
    servers, database_url, path, body, topic
):
    headers = set_up(servers[0])
    for url in servers:  # each process has now seen the key: the hot routes answer
        httpx.get(url + "/v1/account", headers=headers).raise_for_status()

    for n in range(8):
        keyed = {**headers, "Idempotency-Key": f"retry-{n}"}
        first, second = both_at_once(servers, path, body, keyed)
        assert first.status_code == second.status_code == 201, (first, second.text)
        assert without_delivery(first.json()) == without_delivery(second.json())

    ledger = Ledger(small_pool(database_url))
    try:
        found = ledger.recorder.select_notifications(start=1, limit=10_000)
        assert sum(1 for n in found if n.topic.endswith(topic)) == 8
    finally:
        ledger.close()
