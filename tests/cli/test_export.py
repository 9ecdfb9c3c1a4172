"""`smsledger export`: the account's lines, how many, and how far it has read."""

from __future__ import annotations

import json

from smsledger.ledger import exporter
from smsledger.ledger.cli import main
from smsledger.ledger.exporter import export_chunks, export_lines


def test_export_to_a_file_writes_the_lines_and_says_how_many(
    history, database_url, tmp_path, capsys
):
    path = tmp_path / "history.jsonl"
    account_id = history.ctx.account_id

    code = main(["--database-url", database_url, "export", "--account", account_id,
                 "--output", str(path)])  # fmt: skip

    assert code == 0
    written = path.read_text().splitlines(keepends=True)
    assert written == list(export_lines(history.ledger, account_id))
    replies = [json.loads(x) for x in written if '"type":"inbound_sms"' in x]
    assert len(replies) == history.contacts
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"exported {len(written)} lines of account {account_id} to {path}\n"


def test_export_to_stdout_keeps_the_summary_off_it(history, database_url, capsys):
    account_id = history.ctx.account_id

    code = main(["--database-url", database_url, "export", "--account", account_id])

    assert code == 0
    out, err = capsys.readouterr()
    lines = out.splitlines(keepends=True)
    assert lines == list(export_lines(history.ledger, account_id))
    assert err == f"exported {len(lines)} lines of account {account_id}\n"


def test_export_tells_how_far_it_has_read_after_each_run_of_lines(history, monkeypatch):
    monkeypatch.setattr(exporter, "PAGE", 4)
    told: list[tuple[int, int]] = []
    runs = []

    for chunk in export_chunks(
        history.ledger, history.ctx.account_id, lambda *at: told.append(at)
    ):
        lines = chunk.splitlines()
        runs.append((len(lines), json.loads(lines[-1])["position"]))

    head = history.ledger.head()
    assert len(runs) > 2
    # After each full run, as far as its last line; at the end, the head.
    full = [(last, head) for size, last in runs if size == exporter.PAGE]
    assert told == [*full, (head, head)]
