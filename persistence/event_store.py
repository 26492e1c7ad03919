"""A tenant's ledger as the eventsourcing library keeps it: its recorder, mapper and repository."""

from __future__ import annotations

from datetime import date

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoding


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
