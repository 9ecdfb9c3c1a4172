"""Processes for fault tests: `scripts/serve` started, killed with SIGKILL and
started again; a PostgreSQL cluster of a test's own, stopped and started."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# A first run may still be installing the project into .venv.
START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    seconds: float


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    form: bytes | None = None,
    timeout: float = 30,
) -> Answer:
    """One HTTP request on a new connection; status 0 if none was answered."""
    headers = dict(headers or {})
    data = form
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        base + path, data=data, method=method, headers=headers
    )
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, got, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, got, raw = error.code, error.headers, error.read()
    except OSError:
        return Answer(0, {}, None, time.monotonic() - began)
    seconds = time.monotonic() - began
    kind = got.get("Content-Type", "")
    parsed = json.loads(raw) if "json" in kind and raw else raw.decode()
    return Answer(status, {k.lower(): v for k, v in got.items()}, parsed, seconds)


@dataclass
class Served:
    """`scripts/serve` in a process group of its own, on a port of its own."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PUBLIC_BASE_URL": self.base,
            **self.env,
        }
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "serve")],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group, so it is killed whole
            )

    def wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"scripts/serve exited:\n{self.log.read_text()}")
            if call(self.base, "GET", "/healthz", timeout=2).status == 200:
                return
            time.sleep(0.05)  # polling interval, not synchronisation
        raise AssertionError(f"scripts/serve not healthy:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL to the whole group: no shutdown, no flush, nothing."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def restart(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()
        self.start()
        self.wait_until_healthy()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def postgres_bin() -> Path:
    """The newest Debian PostgreSQL's programs, else pgserver's own."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1]
    import pgserver._commands  # a fresh machine with no PostgreSQL installed

    return Path(pgserver._commands.POSTGRES_BIN_PATH)


class Cluster:
    """A throwaway PostgreSQL server on 127.0.0.1, run as the postgres user,
    in a directory of its own that it owns: it may be stopped at will."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        # Not under pytest's tmp_path: its parents are closed to other users.
        self.home = Path(tempfile.mkdtemp(prefix="smsledger-pg-"))
        self.data = self.home / "data"
        self.port = free_port()
        shutil.chown(self.home, "postgres", "postgres")
        self._as_postgres(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.home} -c max_connections=30"
            " -c fsync=off"
        )
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", str(self.home / "log"),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown: every session is ended, as in an outage."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(
                "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
        shutil.rmtree(self.home, ignore_errors=True)

    def _as_postgres(self, program: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / program), *args],
            check=True,
            capture_output=True,
            cwd=self.home,
            timeout=120,
        )


NUMBER = "+14155550100"
JANE = "+14155550111"
TWILIO_TOKEN = "tw-token"


class Tenant:
    """An account on a served API with the seed's case 1 (Ann, Jane Roe and
    the team's number), and the requests a burst is made of."""

    def __init__(self, base: str, admin_token: str) -> None:
        self.base = base
        opened = call(
            base,
            "POST",
            "/v1/accounts",
            {"name": "Acme"},
            {"Authorization": f"Bearer {admin_token}"},
        )
        assert opened.status == 201, opened.body
        self.headers = {"Authorization": f"Bearer {opened.body['api_key']}"}
        self.ok("PUT", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "d@acme.test"})
        self.ok("PUT", "/v1/users/ann", {"email": "ann@acme.test", "name": "Ann"})
        self.ok("PUT", "/v1/contacts/c1", {"name": "Jane Roe", "phones": [JANE]})
        self.ok("PATCH", "/v1/account", {"twilio_auth_token": TWILIO_TOKEN})

    def call(self, method: str, path: str, body: Any = None) -> Answer:
        return call(self.base, method, path, body, self.headers)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.call(method, path, body)
        assert answer.status in (200, 201), answer
        return answer.body

    def note(self, interaction_id: str) -> Answer:
        """Ann texted Jane: a note with the client's own id."""
        return self.call(
            "POST",
            "/v1/interactions/sms",
            {
                "interaction_id": interaction_id,
                "user_id": "ann",
                "contact_id": "c1",
                "to": JANE,
                "from": NUMBER,
            },
        )

    def inbound(self, message_id: str) -> Answer:
        """Jane replies: routed, and its decision recorded."""
        return self.call(
            "POST",
            "/v1/inbound-sms",
            {"from": JANE, "to": NUMBER, "body": "hi", "message_id": message_id},
        )

    def webhook(self, message_sid: str) -> Answer:
        """Jane replies through Twilio's webhook, signed as Twilio signs."""
        from twilio.request_validator import RequestValidator

        form = {"MessageSid": message_sid, "From": JANE, "To": NUMBER, "Body": "hi"}
        url = f"{self.base}/v1/webhooks/twilio/sms"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
        return call(
            self.base,
            "POST",
            "/v1/webhooks/twilio/sms",
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            form=urllib.parse.urlencode(form).encode(),
        )

    def notes(self) -> list[str]:
        """The interaction ids of every note recorded to Jane, in order."""
        history = self.ok("GET", "/v1/contacts/c1/history")
        return [
            e["data"]["interaction_id"]
            for e in history
            if "interaction_id" in e["data"]
        ]

    def decisions(self) -> list[str]:
        """The message ids of every decision of the account."""
        ids: list[str] = []
        path = "/v1/routing-decisions?limit=200"
        while True:
            page = self.ok("GET", path)
            ids += [d["message_id"] for d in page["items"]]
            if page["next_cursor"] is None:
                return ids
            path = f"/v1/routing-decisions?limit=200&cursor={page['next_cursor']}"
