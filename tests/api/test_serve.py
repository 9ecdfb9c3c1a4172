"""`scripts/serve` as a person runs it: PostgreSQL, two worker processes, and a
whole scenario driven through it. Writes made on one worker are read on the
other, and a message sent to both at once is routed once."""

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from functools import partial
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psutil
import pytest
from twilio.request_validator import RequestValidator

from tests.api.conftest import ADMIN, JANE, NUMBER, without_delivery

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 90  # seconds: a first run may still be installing the project


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Connection:
    """One kept-alive TCP connection, so one worker, for its whole life."""

    def __init__(self, port):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # Never reconnect silently: a new connection may reach another worker.
        self.http.auto_open = 0
        self.http.connect()
        self.local_port = self.http.sock.getsockname()[1]
        self.headers = {}

    def call(self, method, path, body=None, headers=None, form=None):
        headers = {**self.headers, **(headers or {})}
        payload: str | None = None
        if form is not None:
            payload = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.http.request(method, path, body=payload, headers=headers)
        response = self.http.getresponse()
        data = response.read()
        is_json = "json" in response.getheader("Content-Type", "")
        return response.status, json.loads(data) if is_json else data.decode()

    def ok(self, method, path, body=None):
        status, data = self.call(method, path, body)
        assert status in (200, 201, 204), data
        return data

    def close(self):
        self.http.close()


def wait_until_healthy(process, port, log):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"scripts/serve exited early:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            connection = Connection(port)
            status, _ = connection.call("GET", "/healthz")
            connection.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)  # polling interval, not synchronisation
    pytest.fail(f"scripts/serve not healthy in {DEADLINE}s:\n{log.read_text()}")


def worker_of(server, connection, port):
    """The pid of the worker process holding this connection, if one does yet."""
    for child in server.children(recursive=True):
        try:
            conns = child.net_connections(kind="tcp")
        except psutil.Error:
            continue
        for conn in conns:
            if (
                conn.laddr.port == port
                and conn.raddr
                and (conn.raddr.port == connection.local_port)
            ):
                return child.pid
    return None


def one_connection_per_worker(process, port):
    """Open connections until two are held by two different workers."""
    server = psutil.Process(process.pid)
    by_worker: dict[int, Connection] = {}
    spare = []
    deadline = time.monotonic() + DEADLINE
    while len(by_worker) < 2 and time.monotonic() < deadline:
        connection = Connection(port)
        connection.call("GET", "/healthz")  # answered: accepted by a worker
        pid = worker_of(server, connection, port)
        if pid is not None and pid not in by_worker:
            by_worker[pid] = connection
        else:
            spare.append(connection)
    for connection in spare:
        connection.close()
    assert len(by_worker) == 2, "the requests never reached a second worker"
    return list(by_worker.values())


@pytest.fixture
def served(postgres_url, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "ADMIN_TOKEN": ADMIN["Authorization"].removeprefix("Bearer "),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "MAILDIR": str(tmp_path / "mail"),
    }
    env.pop("WORKERS", None)
    with log.open("w") as out:
        process = subprocess.Popen(
            [ROOT / "scripts" / "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so it can be stopped whole
        )
    try:
        wait_until_healthy(process, port, log)
        yield process, port, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def at_once(*calls):
    """Run the calls in threads released together; their results, in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.slow
def test_serve_runs_the_product_on_postgres_with_two_workers(served, postgres_url):
    process, port, log = served
    one, two = one_connection_per_worker(process, port)

    # An account made on one worker is known to the other.
    status, account = one.call("POST", "/v1/accounts", {"name": "Acme"}, ADMIN)
    assert status == 201
    for worker in (one, two):
        worker.headers = {"Authorization": f"Bearer {account['api_key']}"}
    assert two.ok("GET", "/v1/account")["account_id"] == account["account_id"]

    # A message to a number not yet configured is held, then released.
    held = two.ok(
        "POST",
        "/v1/inbound-sms",
        {"from": JANE, "to": NUMBER, "body": "anyone?", "message_id": "SM-held"},
    )
    assert held["status"] == "held"
    one.ok("PUT", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "desk@acme.test"})
    assert two.ok("GET", "/v1/routing-decisions/SM-held")["rule"] == "unknown_sender"

    # The seed's case 1, each write on one worker and the routing on the other.
    one.ok("PUT", "/v1/users/ann", {"email": "ann@acme.test", "name": "Ann"})
    two.ok("PUT", "/v1/users/bob", {"email": "bob@acme.test", "name": "Bob"})
    one.ok("PUT", "/v1/contacts/c1", {"name": "Jane Roe", "phones": [JANE]})
    for i, (writer, reader, user) in enumerate(
        [(one, two, "ann"), (two, one, "bob"), (one, two, "ann"), (two, one, "bob")]
    ):
        writer.ok(
            "POST",
            "/v1/interactions/sms",
            {"user_id": user, "contact_id": "c1", "to": JANE, "from": NUMBER},
        )
        decision = reader.ok(
            "POST",
            "/v1/inbound-sms",
            {"from": JANE, "to": NUMBER, "body": "hi", "message_id": f"SM{i}"},
        )
        assert decision["recipient"]["user_id"] == user, decision

    # The same message sent to both workers at once is routed once.
    for i in range(5):
        body = {"from": JANE, "to": NUMBER, "body": "race", "message_id": f"SM-r{i}"}
        results = at_once(
            partial(one.call, "POST", "/v1/inbound-sms", body),
            partial(two.call, "POST", "/v1/inbound-sms", body),
        )
        assert sorted(status for status, _ in results) == [200, 201]
        assert without_delivery(results[0][1]) == without_delivery(results[1][1])

    # So is a note retried on both workers at once.
    note = {
        "interaction_id": "i-race",
        "user_id": "ann",
        "contact_id": "c1",
        "to": JANE,
        "from": NUMBER,
    }
    results = at_once(
        partial(one.call, "POST", "/v1/interactions/sms", note),
        partial(two.call, "POST", "/v1/interactions/sms", note),
    )
    assert sorted(status for status, _ in results) == [200, 201]
    assert results[0][1]["position"] == results[1][1]["position"]

    # Twilio's webhook, signed by its SDK, and its retry on the other worker.
    one.ok("PATCH", "/v1/account", {"twilio_auth_token": "tw-token"})
    form = {"MessageSid": "SMtw1", "From": JANE, "To": NUMBER, "Body": "via twilio"}
    url = f"http://127.0.0.1:{port}/v1/webhooks/twilio/sms"
    signed = {
        "X-Twilio-Signature": RequestValidator("tw-token").compute_signature(url, form)
    }
    assert one.call("POST", "/v1/webhooks/twilio/sms", headers=signed, form=form) == (
        200,
        "<Response/>",
    )
    assert (
        two.call("POST", "/v1/webhooks/twilio/sms", headers=signed, form=form)[0] == 200
    )
    twilio_decision = one.ok("GET", "/v1/routing-decisions/SMtw1")
    assert twilio_decision["recipient"]["user_id"] == "ann"  # the race's note

    page = two.ok("GET", "/v1/routing-decisions?limit=200")
    ids = [d["message_id"] for d in page["items"]]
    assert len(ids) == len(set(ids)) == 1 + 4 + 5 + 1

    one.close()
    two.close()
    output = log.read_text()
    # The path, not the last "/": a socket's URL has one in its query.
    database = urlsplit(postgres_url).path.removeprefix("/")
    assert f"data: PostgreSQL database '{database}'" in output
    assert "create a first account: curl" in output
    assert "with 2 workers" in output
