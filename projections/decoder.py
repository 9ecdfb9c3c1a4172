"""Stored events to the very domain events the library's mapper makes, for
less CPU: what a rebuild and an export decode the ledger with."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from datetime import datetime
from json.scanner import make_scanner
from typing import Any, cast

from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic


class EventDecoder:
    """Stored events to the very domain events the mapper makes, for less CPU.

    The mapper's JSON transcoder decodes every JSON object through a method
    that tries and catches; here one plain hook does, and each topic is
    resolved once. A mapper that ciphers, compresses or transcodes otherwise
    is used as it is.
    """

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        self.plain = (
            isinstance(transcoder, JSONTranscoder)
            and mapper.cipher is None
            and mapper.compressor is None
        )
        names = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        decoders = {name: _decoder(t) for name, t in names.items()}

        def decode_object(obj: dict[str, Any]) -> Any:
            if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
                return decoders[obj["_type_"]](obj["_data_"])
            return obj

        self._json = json.JSONDecoder(object_hook=decode_object)
        # The scanner alone: what `decode` adds is for text with white space
        # around it, which the transcoder never writes.
        self._scan: Callable[[str, int], tuple[Any, int]] = cast(Any, make_scanner)(
            self._json
        )
        self._classes: dict[str, type[Any]] = {}

    def event_class(self, topic: str) -> type[Any]:
        cls = self._classes.get(topic)
        if cls is None:
            cls = self._classes[topic] = resolve_topic(topic)
        return cls

    def decode(
        self, topic: str, state: bytes, originator_id: Any, originator_version: int
    ) -> Any:
        """What `Mapper.to_domain_event` makes of the same stored event."""
        if not self.plain:
            stored = StoredEvent(originator_id, originator_version, topic, state)
            return self.mapper.to_domain_event(stored)
        cls = self.event_class(topic)
        text = bytes(state).decode("utf8")
        try:
            event_state, end = self._scan(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            event_state = self._json.decode(text)  # says what is wrong with it
        convert = find_id_convertor(
            cast(Hashable, cls), cast(Hashable, type(originator_id))
        )
        event_state["originator_id"] = convert(originator_id)
        event_state["originator_version"] = originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", event_state)
        return event


def _decoder(transcoding: Transcoding) -> Callable[[Any], Any]:
    """The library's own transcodings, without their checks' cost."""
    if type(transcoding) is DatetimeAsISO:
        return datetime.fromisoformat
    return transcoding.decode
