"""The worked examples of routing-cases.json, and what each expects of a decision."""

import json
from pathlib import Path
from typing import Any

CASES = json.loads((Path(__file__).parent / "data/routing-cases.json").read_text())


def assert_as_expected(decision: dict[str, Any], expect: dict[str, Any]) -> None:
    """The decision is what the case's `expect` says, field by field."""
    if "rule" in expect:
        assert decision["rule"] == expect["rule"]
    if "status" in expect:
        assert decision["status"] == expect["status"]
    if "recipient_email" in expect:
        recipient = decision["recipient"]
        assert (recipient and recipient["email"]) == expect["recipient_email"]
    if "contact_ids" in expect:
        assert decision["contact_ids"] == expect["contact_ids"]
    skipped = {s["user_id"] for s in decision["skipped"]}
    assert skipped == set(expect.get("skipped_user_ids", []))
