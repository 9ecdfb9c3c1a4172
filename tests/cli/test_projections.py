"""`smsledger projections status|rebuild`."""

import re
from typing import Any

from tests.cli.conftest import History


def test_status_shows_the_live_version_its_position_the_head_and_no_lag(
    history, smsledger
):
    head = history.ledger.head()

    code, out = smsledger("projections", "status")

    assert code == 0
    assert out == (
        f"routing v1: live at position {head}, folded with each append; "
        f"head {head}, lag 0\n"
    )


def test_status_shows_a_version_being_rebuilt_with_its_lag(history, smsledger):
    head = history.ledger.head()
    seen = []

    def status_while_building(done, total):
        seen.append(smsledger("projections", "status"))

    history.ledger.rebuild_views(progress=status_while_building)

    code, out = seen[0]
    assert code == 0
    assert out.splitlines()[1] == f"routing v2: building at 0; head {head}, lag {head}"


def decisions(history: History) -> list[dict[str, Any]]:
    return [history.ledger.get_decision(history.ctx, m) for m in history.message_ids]


def test_rebuild_switches_the_version_and_routing_answers_the_same(history, smsledger):
    recorded = decisions(history)
    before = history.reply(0, "SM-before")

    code, out = smsledger("projections", "rebuild")
    after = history.reply(0, "SM-after")

    assert code == 0
    assert re.fullmatch(
        r"routing view rebuilt: version 1 -> 2, \d+ events, live at position \d+\n",
        out,
    )
    assert smsledger("projections", "status")[1].startswith("routing v2: live")
    assert decisions(history) == recorded
    for key in ("rule", "recipient", "evidence", "explanation"):
        assert after[key] == before[key]
