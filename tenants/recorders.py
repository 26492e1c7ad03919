"""A PostgreSQL event recorder that writes large batches with COPY.

The library inserts a batch as one ``INSERT ... SELECT FROM unnest(...)`` in pipeline
mode, where COPY is not allowed. For a large batch (a bulk import) this recorder takes
the same ``EXCLUSIVE`` table lock, so notification ids stay in commit order, and streams
the rows with COPY; the batch's ids are then the last ``n`` of the sequence, since no
other writer can take ids while the lock is held.
"""

from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import errors
from psycopg.sql import SQL, Identifier

COPY_FROM = 200  # smaller batches gain nothing from COPY


class CopyingPostgresApplicationRecorder(PostgresApplicationRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if len(stored_events) < COPY_FROM:
            return super().insert_events(stored_events, **kwargs)
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        try:
            with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
                self._lock_table(curs)
                self._notify_channel(curs)
                with curs.copy(SQL("COPY {0} (originator_id, originator_version, topic, state) FROM STDIN")
                               .format(table)) as copy:
                    for e in stored_events:
                        copy.write_row((e.originator_id, e.originator_version, e.topic, e.state))
                curs.execute(SQL("SELECT MAX(notification_id) AS top FROM {0}").format(table))
                top = curs.fetchone()["top"]
        except errors.UniqueViolation as error:
            raise IntegrityError(str(error)) from error
        return list(range(top - len(stored_events) + 1, top + 1))
