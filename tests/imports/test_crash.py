"""An import killed mid-way (kill -9), then run again, records every line once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

from smsledger.ledger.exporter import export_lines
from tests.imports.history import history_lines

NOTES = ("sms", "call", "campaign_sms")


def smsledger(database_url, *args):
    command = [
        sys.executable,
        "-m",
        "smsledger.ledger.cli",
        "--database-url",
        database_url,
    ]
    return subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_an_import_killed_mid_way_then_run_again_records_every_line_once(
    ledger, account, database_url, tmp_path
):
    lines = history_lines(12_000, contacts=200)
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = ("import", str(path), "--account", account.account_id, "--chunk", "500")
    start = ledger.head()

    first = smsledger(database_url, *args)
    deadline = time.monotonic() + 60
    while ledger.head() < start + 2000 and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()
        time.sleep(0.01)  # polling the database, not waiting for the outcome
    first.kill()
    first.wait()
    recorded_before = ledger.head() - start
    assert 0 < recorded_before < len(lines)

    second = smsledger(database_url, *args)
    out, err = second.communicate(timeout=300)

    assert second.returncode == 0, err
    exported = [json.loads(x) for x in export_lines(ledger, account.account_id)]
    ids = Counter(x["interaction_id"] for x in exported if x["type"] in NOTES)
    assert ids == Counter(x["interaction_id"] for x in lines if x["type"] in NOTES)
    assert max(ids.values()) == 1
    assert "rejected: 0" in out
