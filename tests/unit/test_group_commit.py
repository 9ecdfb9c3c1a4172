"""Group commit with an in-memory store: batching, positions, failures."""

import threading
import time
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from smsledger.ledger.commit import GroupCommit


class Store:
    """Appends events, failing any batch that holds a "bad" one."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.first_call = threading.Event()
        self.release = threading.Event()

    def save(self, events):
        if not self.batches:
            self.first_call.set()
            assert self.release.wait(10)
        if "bad" in events:
            raise IntegrityError("conflict")
        self.batches.append(list(events))
        start = sum(len(b) for b in self.batches[:-1])
        return [(start + i + 1, e) for i, e in enumerate(events)]


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.001)


def test_commands_arriving_during_a_commit_share_the_next_one():
    store = Store()
    commits = GroupCommit(store.save)
    results: dict[str, Any] = {}

    def append(name, events):
        try:
            results[name] = commits.append(events)
        except IntegrityError as error:
            results[name] = error

    first = threading.Thread(target=append, args=("first", ["a"]))
    first.start()
    assert store.first_call.wait(10)
    others = [
        threading.Thread(target=append, args=(f"t{i}", [f"e{i}", f"f{i}"]))
        for i in range(5)
    ]
    others.append(threading.Thread(target=append, args=("bad", ["bad"])))
    for thread in others:
        thread.start()
    wait_until(lambda: commits.waiting() == 6)
    store.release.set()
    for thread in [first, *others]:
        thread.join(10)

    assert results["first"] == [(1, "a")]
    assert isinstance(results["bad"], IntegrityError)
    # The batch with the conflict was retried one command at a time.
    assert [len(b) for b in store.batches] == [1, 2, 2, 2, 2, 2]
    for i in range(5):
        recordings = results[f"t{i}"]
        assert [e for _, e in recordings] == [f"e{i}", f"f{i}"]


def test_an_error_reaches_every_command_of_its_batch():
    def failing(events):
        raise RuntimeError("database down")

    commits = GroupCommit(failing)
    with pytest.raises(RuntimeError, match="database down"):
        commits.append(["a"])
