"""The ledger's recorders, which write the audit trail's columns beside each event, pass the
library's own recorder test cases on both stores (events from outside the ledger's mapper have
no trail columns and are stored and read back all the same)."""

from __future__ import annotations

import tempfile
import threading
import uuid
from pathlib import Path

import psycopg
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase

from persistence.recorders import CopyingPostgresApplicationRecorder, EntrySQLiteApplicationRecorder
from projections.audit import ENTRY_COLUMNS
from tests.conftest import PG_URL, need_postgres


class TestPostgresRecorder(ApplicationRecorderTestCase):
    def setUp(self) -> None:
        need_postgres()
        self.schema = f"recorder_{uuid.uuid4().hex[:10]}"
        info = psycopg.conninfo.conninfo_to_dict(PG_URL)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.schema}"')
        self.datastore = PostgresDatastore(
            str(info.get("dbname", "test")),
            str(info.get("host", "127.0.0.1")),
            str(info.get("port", "5432")),
            str(info.get("user", "postgres")),
            str(info.get("password", "")),
            schema=self.schema,
            pool_size=4,
            max_overflow=10,
        )

    def tearDown(self) -> None:
        self.datastore.close()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')

    def create_recorder(self) -> CopyingPostgresApplicationRecorder:
        recorder = CopyingPostgresApplicationRecorder(self.datastore, events_table_name="ledger_events")
        recorder.create_table()
        return recorder

    def test_the_table_has_the_trail_columns(self) -> None:
        self.create_recorder()
        with psycopg.connect(PG_URL) as conn:
            columns = {
                name
                for (name,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                    " AND table_name = 'ledger_events'",
                    (self.schema,),
                )
            }
        assert set(ENTRY_COLUMNS) <= columns


class TestSQLiteRecorder(ApplicationRecorderTestCase):
    def setUp(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.datastore = SQLiteDatastore(str(Path(self.folder.name) / "ledger.sqlite"))
        self.threads_before = set(threading.enumerate())

    def tearDown(self) -> None:
        # The library's cases leave reader threads finishing: closing SQLite under a thread still
        # reading through it crashes the process, so they end first.
        for thread in set(threading.enumerate()) - self.threads_before:
            thread.join(30)
        self.datastore.close()
        self.folder.cleanup()

    def create_recorder(self) -> EntrySQLiteApplicationRecorder:
        recorder = EntrySQLiteApplicationRecorder(self.datastore, events_table_name="ledger_events")
        recorder.create_table()
        return recorder
