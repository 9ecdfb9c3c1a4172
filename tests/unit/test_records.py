"""Records: a batch's accepted mails appended on a thread of their own."""

import threading

import pytest

from smsledger.ledger.delivered import Records


class Appends:
    """Stands for the ledger's append: holds the first call until released."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, accepted):
        self.calls.append(list(accepted))
        self.started.set()
        self.release.wait(10)
        if self.fail:
            raise ConnectionError("the database is away")


def test_mails_accepted_during_a_commit_share_the_next_one():
    appends = Appends()
    with Records(appends) as records:
        records.put("m1")
        assert appends.started.wait(10)
        for m in ("m2", "m3", "m4"):
            records.put(m)
        appends.release.set()
    assert appends.calls == [["m1"], ["m2", "m3", "m4"]]


def test_leaving_waits_for_every_record():
    appends = Appends()
    appends.release.set()
    with Records(appends) as records:
        for m in ("m1", "m2"):
            records.put(m)
    assert [m for call in appends.calls for m in call] == ["m1", "m2"]


def test_a_failed_append_stops_the_batch_and_is_raised():
    appends = Appends(fail=True)
    records = Records(appends).__enter__()
    records.put("m1")
    appends.release.set()
    records._thread.join(10)  # the append has failed
    # The next mail's record is refused: the batch stops there.
    with pytest.raises(ConnectionError):
        records.put("m2")
    # And leaving the batch raises it too.
    with pytest.raises(ConnectionError, match="away"):
        records.__exit__(None, None, None)
    assert appends.calls == [["m1"]]
