"""A tenant's ledger as the eventsourcing library keeps it: its recorder, mapper and repository."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoding
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EventStore(Application):
    """Where a tenant's events are stored and its aggregates loaded from. Its name makes the table's
    (``ledger_events`` on PostgreSQL), so it stays what the first version called it."""

    name = "Ledger"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # The library types its factory and recorder by their base classes; the persistence module
    # the environment names (PostgreSQL's or SQLite's) has these.
    @property
    def datastore(self) -> Any:
        """The persistence module's datastore: its connections (PostgreSQL) or transactions (SQLite)."""
        factory = self.factory
        assert isinstance(factory, (PostgresFactory, SQLiteFactory))
        return factory.datastore

    @property
    def events_table(self) -> str:
        """The table the events are stored in."""
        recorder = self.recorder
        assert isinstance(recorder, (PostgresApplicationRecorder, SQLiteApplicationRecorder))
        return recorder.events_table_name
