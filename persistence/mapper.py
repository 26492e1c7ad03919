"""The ledger's mapper: the library's, with the JSON of flat events written directly.

The library encodes an event's state with ``json.JSONEncoder`` and a callback per date and
instant, which weighs on an import of a million events. The register's events are flat
(strings, numbers, dates, instants, None), so their JSON can be joined from the same pieces
the encoder would write, in the same order, to the same bytes. An event with any other value
(a report's figures, a list) goes to the library's encoder as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from json.encoder import encode_basestring
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DatetimeAsISO, Mapper, StoredEvent
from eventsourcing.utils import TopicError, get_topic, resolve_topic

from persistence.event_store import DateAsISO
from projections.audit import entry, entry_of

_NAMED: dict[str, str] = {}  # an attribute's name as the JSON writes it, with its colon


@dataclass(frozen=True)
class EntryStoredEvent(StoredEvent):
    """A stored event with the audit trail's columns of its event (projections.audit.ENTRY_COLUMNS),
    which the ledger's recorder writes beside it."""

    entry: tuple | None = None


def entry_columns(stored: StoredEvent) -> tuple:
    """The trail's columns the recorder writes for ``stored``: None where the event did not come
    through the ledger's mapper (then a store's opening fills them from its state)."""
    return getattr(stored, "entry", None) or (None, None, None, None, None, None)


class RegisterMapper(Mapper):
    """``Mapper`` whose ``to_stored_event`` writes a flat event's JSON itself."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._topics: dict[type, str] = {}
        types = getattr(self.transcoder, "types", {})
        # Only with dates and instants transcoded as the ledger registers them.
        self._direct = type(types.get(date)) is DateAsISO and type(types.get(datetime)) is DatetimeAsISO

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = self._flat_json(domain_event) if self._direct else None
        if state is None:
            s = super().to_stored_event(domain_event)
            return EntryStoredEvent(s.originator_id, s.originator_version, s.topic, s.state, entry(domain_event))
        kind = type(domain_event)
        topic = self._topics.get(kind)
        if topic is None:
            topic = self._topics[kind] = get_topic(kind)
        return self._stored(
            topic, domain_event.originator_id, domain_event.originator_version, state, entry(domain_event)
        )

    def stored_state(
        self, topic: str, originator_id: UUID, originator_version: int, state: dict[str, Any]
    ) -> StoredEvent | None:
        """The stored event of ``topic`` whose attributes (but the originator's id and version,
        in the event's order) are ``state``: what ``to_stored_event`` writes for that event,
        without making it. None if the state is not flat (or the mapper does not write JSON itself)."""
        data = self.flat_json(state.items()) if self._direct else None
        if data is None:
            return None
        try:
            columns = entry_of(resolve_topic(topic), originator_id, state)
        except TopicError:  # not an event of the register's: stored without the trail's columns
            columns = None
        return self._stored(topic, originator_id, originator_version, data, columns)

    def _stored(
        self, topic: str, originator_id: UUID, originator_version: int, data: bytes, columns: tuple | None
    ) -> StoredEvent:
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return EntryStoredEvent(originator_id, originator_version, topic, data, columns)

    def _flat_json(self, event: Any) -> bytes | None:
        """The event's state as the library's encoder writes it, or None if it is not flat."""
        if getattr(type(event), "class_version", 1) > 1:
            return None
        return self.flat_json(
            (key, value) for key, value in vars(event).items() if key != "originator_id" and key != "originator_version"
        )

    @property
    def direct(self) -> bool:
        """Whether this mapper joins flat events' JSON itself (dates and instants transcoded as the
        ledger registers them): then ``flat_json`` writes what it stores."""
        return self._direct

    @staticmethod
    def flat_json(items: Iterable[tuple[str, Any]]) -> bytes | None:
        """A flat state's JSON as the library's encoder writes it (with the ledger's transcodings),
        or None if a value is not flat."""
        parts = []
        for key, value in items:
            named = _NAMED.get(key)
            if named is None:
                named = _NAMED[key] = encode_basestring(key) + ":"
            kind = type(value)
            if kind is str:
                text = encode_basestring(value)
            elif kind is datetime:
                text = '{"_type_":"datetime_iso","_data_":"' + value.isoformat() + '"}'
            elif kind is date:
                text = '{"_type_":"date_iso","_data_":"' + value.isoformat() + '"}'
            elif value is None:
                text = "null"
            elif kind is bool:
                text = "true" if value else "false"
            elif kind is int:
                text = int.__repr__(value)
            else:  # floats, lists, dicts, UUIDs...: the library's encoder
                return None
            parts.append(named + text)
        return ("{" + ",".join(parts) + "}").encode()
