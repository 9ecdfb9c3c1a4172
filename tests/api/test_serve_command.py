"""`smsledger serve`: its flags reach every worker process, over what the
environment says, and it makes no ledger of its own before serving."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.api.conftest import ADMIN
from tests.api.test_serve import (
    free_port,
    one_connection_per_worker,
    wait_until_healthy,
)

SMSLEDGER = Path(sys.executable).parent / "smsledger"


def test_help_names_the_flags():
    shown = subprocess.run(
        [SMSLEDGER, "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout

    for flag in ("--host", "--port", "--workers"):
        assert flag in shown


def logged(log: Path, line: str, seconds: float = 15.0) -> bool:
    """Whether `line` appears in the log within `seconds`."""
    deadline = time.monotonic() + seconds
    while line not in log.read_text():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_flags_win_over_the_environment_in_every_worker(postgres_url, tmp_path):
    port = free_port()
    elsewhere = tmp_path / "elsewhere.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{elsewhere}",
        "ADMIN_TOKEN": ADMIN["Authorization"].removeprefix("Bearer "),
        "PORT": str(free_port()),
        "WORKERS": "1",
        "MAILDIR": str(tmp_path / "mail"),
    }
    log = tmp_path / "serve.log"
    command = [SMSLEDGER, "--database-url", postgres_url, "serve"]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_healthy(process, port, log)
        one, two = one_connection_per_worker(process, port)

        status, account = one.call("POST", "/v1/accounts", {"name": "Acme"}, ADMIN)
        assert status == 201
        key = {"Authorization": f"Bearer {account['api_key']}"}
        status, seen = two.call("GET", "/v1/account", headers=key)

        # Both workers use the database of the flag, not the environment's.
        assert status == 200
        assert seen["account_id"] == account["account_id"]
        assert not elsewhere.exists()
        # Said by the supervisor once both workers report ready, which may be
        # a moment after they first answer.
        assert logged(log, f"listening on http://127.0.0.1:{port} with 2 workers")
        one.close()
        two.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
