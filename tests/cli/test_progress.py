"""The progress bar: rate and ETA on a terminal, nothing anywhere else."""

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from smsledger.ledger.progress import ProgressBar

SMSLEDGER = Path(sys.executable).with_name("smsledger")


def drain(fd: int) -> str:
    """Everything written to a pty whose other end is closed."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: nothing more, the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def test_bar_on_a_terminal_draws_progress_rate_and_eta():
    controller, terminal = pty.openpty()
    with (
        os.fdopen(terminal, "w") as stream,
        ProgressBar("verify", unit="events", stream=stream) as bar,
    ):
        bar.update(0, 1000)
        bar.update(500, 1000)

    drawn = drain(controller)

    assert "\rverify [" + "#" * 15 + "." * 15 + "] 500/1,000 events" in drawn
    assert re.search(r"500/1,000 events  [\d,]+/s  ETA [\d,]+s", drawn)


def test_bar_elsewhere_draws_nothing():
    stream = io.StringIO()

    with ProgressBar("verify", unit="events", stream=stream) as bar:
        bar.update(0, 1000)
        bar.update(500, 1000)

    assert stream.getvalue() == ""


def test_command_draws_no_bar_when_stderr_is_not_a_terminal(history, smsledger, capsys):
    code, _ = smsledger("projections", "rebuild")

    assert code == 0
    assert capsys.readouterr().err == ""


def test_installed_command_run_on_a_terminal_draws_the_bar(history, database_url):
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [SMSLEDGER, "projections", "rebuild"],
            env={**os.environ, "DATABASE_URL": database_url},
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
    drawn = drain(controller)

    assert done.returncode == 0
    assert done.stdout.startswith("routing view rebuilt: version 1 -> 2")
    head = f"{history.ledger.head():,}"
    assert re.search(
        rf"rebuild \[#{{30}}\] {head}/{head} events  [\d,]+/s  ETA 0s", drawn
    )
