"""`smsledger audit verify|what-if`."""

import csv
import json

import pytest

from smsledger.ledger.commands import CHANGE_COLUMNS


def test_verify_of_a_clean_history_exits_0_with_a_summary(history, smsledger):
    code, out = smsledger("audit", "verify")

    assert code == 0
    assert out == "decisions checked: 4, consistent: 4, inconsistent: 0\n"


def test_verify_exits_1_listing_decisions_routed_after_the_view_was_altered(
    history, smsledger
):
    history.deactivate_in_view_only("ann")
    history.reply(1, "SM-late1")
    history.reply(3, "SM-late3")

    code, out = smsledger("audit", "verify")

    assert code == 1
    assert out.splitlines() == [
        "decisions checked: 6, consistent: 4, inconsistent: 2",
        "inconsistent: SM-late1",
        "inconsistent: SM-late3",
    ]


def test_verify_since_a_position_checks_only_later_decisions(history, smsledger):
    since = history.ledger.get_decision(history.ctx, "SM2")["position"]

    code, out = smsledger("audit", "verify", "--since", str(since))

    assert code == 0
    assert out == "decisions checked: 2, consistent: 2, inconsistent: 0\n"


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        if path.suffix == ".json":
            return json.load(f)
        return [{**row, "position": int(row["position"])} for row in csv.DictReader(f)]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_what_if_writes_exactly_the_changed_decisions(
    history, smsledger, tmp_path, suffix
):
    output = tmp_path / f"changes{suffix}"

    code, out = smsledger(
        "audit", "what-if", "--policy", "most_recent_interaction",
        "--output", str(output),
    )  # fmt: skip
    rows = read_rows(output)

    assert code == 0
    assert out.splitlines() == [
        "decisions checked: 4; under most_recent_interaction, "
        "2 would have gone to someone else",
        "  previous_sms -> previous_call: 2",
        f"changed decisions written to {output}",
    ]
    assert {row["message_id"] for row in rows} == history.newer_call
    for row in rows:
        recorded = history.ledger.get_decision(history.ctx, row["message_id"])
        assert row == {
            "message_id": recorded["message_id"],
            "account_id": history.ctx.account_id,
            "position": recorded["position"],
            "recorded_rule": "previous_sms",
            "recorded_recipient": "ann@example.org",
            "what_if_rule": "previous_call",
            "what_if_recipient": "bob@example.org",
        }
        assert list(row) == CHANGE_COLUMNS


def test_what_if_for_another_account_reports_none_of_this_ones(history, smsledger):
    other, _ = history.ledger.open_account("Globex")

    code, out = smsledger(
        "audit", "what-if", "--policy", "most_recent_interaction",
        "--account", other["account_id"],
    )  # fmt: skip

    assert code == 0
    assert out.splitlines()[0] == (
        "decisions checked: 0; under most_recent_interaction, "
        "0 would have gone to someone else"
    )
