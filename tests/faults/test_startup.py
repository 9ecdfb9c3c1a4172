"""Start-up: a database that cannot be used is reported at once, by name and
with the real error; "listening" is logged only once the service serves."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.faults.harness import ROOT, Served, call, free_port

REPORTED_WITHIN = 30  # seconds, of which nearly all is starting Python


def start_failing(database_url: str) -> tuple[int, str, float]:
    began = time.monotonic()
    done = subprocess.run(
        [str(ROOT / "scripts" / "serve")],
        env={**os.environ, "DATABASE_URL": database_url, "PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=REPORTED_WITHIN * 2,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - began


def test_unreachable_postgres_is_reported_at_once() -> None:
    port = free_port()  # nothing listens there
    code, output, seconds = start_failing(f"postgresql://postgres@127.0.0.1:{port}/app")
    assert code != 0
    assert f"cannot open PostgreSQL database 'app' on 127.0.0.1:{port}" in output
    assert "Connection refused" in output
    assert "listening" not in output
    assert seconds < REPORTED_WITHIN


def test_missing_postgres_database_is_reported_at_once(postgres_admin_url: str) -> None:
    url = urlsplit(postgres_admin_url)._replace(path="/no_such_database").geturl()
    code, output, seconds = start_failing(url)
    assert code != 0
    assert "cannot open PostgreSQL database 'no_such_database'" in output
    assert 'database "no_such_database" does not exist' in output
    assert "listening" not in output
    assert seconds < REPORTED_WITHIN


def test_unusable_sqlite_file_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "ledger.db").write_text("not a database")
    code, output, _ = start_failing(f"sqlite:///{tmp_path}/ledger.db")
    assert code != 0
    assert f"cannot open SQLite file {tmp_path}/ledger.db" in output
    assert "file is not a database" in output
    assert "listening" not in output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_listening_is_logged_once_the_service_serves(
    postgres_url: str, tmp_path: Path, workers: str
) -> None:
    served = Served(
        {"DATABASE_URL": postgres_url, "WEB_CONCURRENCY": workers},
        tmp_path / "serve.log",
    )
    served.start()
    try:
        deadline = time.monotonic() + 90
        while "listening on" not in served.log.read_text():
            assert served.process is not None
            assert served.process.poll() is None
            assert time.monotonic() < deadline, served.log.read_text()
            time.sleep(0.01)  # polling the log, not synchronisation
        # At once, with no retry: it said it serves.
        assert call(served.base, "GET", "/readyz", timeout=5).status == 200
    finally:
        served.stop()
