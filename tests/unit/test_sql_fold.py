"""When the rebuild may fold notes in SQL, and what that SQL relies on."""

from typing import Any

from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import JSONTranscoder, Mapper

from smsledger.domain.dispatches import Dispatch
from smsledger.domain.inbound import InboundSms
from smsledger.projections import sql_fold


class OtherTranscoder(JSONTranscoder):
    """Could write anything: SQL cannot know."""


class StandInCipher:
    """Never called: its presence alone turns SQL off."""


def test_plain_json_is_read_in_sql():
    assert sql_fold.usable(Mapper(transcoder=JSONTranscoder()))


def test_compressed_enciphered_or_otherwise_transcoded_state_is_not():
    compressed: Mapper[Any] = Mapper(JSONTranscoder(), compressor=ZlibCompressor())
    cipher: Any = StandInCipher()
    enciphered: Mapper[Any] = Mapper(JSONTranscoder(), cipher=cipher)
    other: Mapper[Any] = Mapper(OtherTranscoder())
    assert not any(sql_fold.usable(m) for m in (compressed, enciphered, other))


def test_the_events_read_in_sql_are_at_their_first_version():
    """The SQL reads these states as first stored: an upcaster would have to
    be written there too."""
    read = (*sql_fold.NOTED, InboundSms.HandedOff, Dispatch.Sent)
    assert [getattr(cls, "class_version", 1) for cls in read] == [1] * len(read)
