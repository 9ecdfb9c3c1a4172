"""Every event class of every aggregate is folded or ignored, by each fold."""

from __future__ import annotations

import pytest

from smsledger.domain import history
from smsledger.domain.events import AGGREGATES, all_event_classes, event_classes
from smsledger.domain.interactions import Interaction
from smsledger.ledger.export_events import Lines
from smsledger.projections.persistence import RoutingView


def names(classes: object) -> list[str]:
    return sorted(c.__qualname__ for c in classes)  # type: ignore[attr-defined]


def test_every_aggregate_records_events() -> None:
    for aggregate in AGGREGATES:
        assert event_classes(aggregate), aggregate.__name__


def test_a_base_event_class_is_not_an_event_of_its_own() -> None:
    found = event_classes(Interaction)
    assert Interaction.Noted not in found
    assert Interaction.SmsSent in found


def test_view_folds_or_ignores_every_event_class() -> None:
    folded, ignored = set(RoutingView.HANDLERS), set(RoutingView.IGNORED)
    assert not folded & ignored
    assert names(all_event_classes() - folded - ignored) == []
    assert names((folded | ignored) - all_event_classes()) == []


def test_replay_folds_or_sets_aside_every_event_class() -> None:
    folded = set(history.FOLDS)
    aside = set(history.BESIDE_FACTS) | set(history.UNFOLDED)
    assert not folded & aside
    assert not history.BESIDE_FACTS & history.UNFOLDED
    assert names(all_event_classes() - folded - aside) == []


def test_replay_and_view_fold_the_same_events() -> None:
    """What the view folds beyond the facts is said once, beside the replay
    fold; anything else the view folds, replay must fold too."""
    view = set(RoutingView.HANDLERS)
    assert names(set(history.FOLDS) - view) == []
    assert names(view - set(history.FOLDS) - history.BESIDE_FACTS) == []
    assert names(history.BESIDE_FACTS - view) == []
    assert set(RoutingView.IGNORED) == set(history.UNFOLDED)


@pytest.mark.parametrize(
    "cls", sorted(all_event_classes(), key=str), ids=lambda c: c.__qualname__
)
def test_export_knows_each_event_class(cls: type) -> None:
    # Keys, secrets, sign-in links, hand-offs' mails and replies not sent make
    # no line; every other event does.
    quiet = {"ApiKeyIssued", "ApiKeyRevoked", "SecretsChanged", "SecretsResealed",
             "Used", "Issued", "HandoffMailAttempted", "HandoffMailed",
             "HandoffMailFailed", "Queued", "Attempted", "Failed"}  # fmt: skip
    assert (cls in Lines.FIELDS) != (cls.__name__ in quiet)
