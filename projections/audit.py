"""The audit trail: every event, in ledger order, with who recorded it and when."""

from __future__ import annotations

import functools
import typing
from datetime import date, datetime
from typing import Any

from eventsourcing.utils import resolve_topic

from domain.base import BUSINESS_DATE, business_date
from projections.base import (
    META_FIELDS,
    Projection,
    StoredRun,
    ViewCursor,
    day,
    event_data,
    event_name,
    jsonb_text,
    micros,
    sql_day,
    sql_micros,
)

ENTITY_TYPES = {
    "Unit": "unit",
    "Workplace": "workplace",
    "Union": "union",
    "Member": "member",
    "Target": "target",
    "Report": "report",
    "NationalTarget": "national_target",
}


@functools.cache
def date_fields(event_class: type) -> tuple[str, ...]:
    """The fields of a derived event stored as dates or instants; any field that is not a
    string, number, date or instant is refused, as its JSON would not be derived as event_data makes it."""
    dates = []
    for field, hint in typing.get_type_hints(event_class).items():
        if field in META_FIELDS or typing.get_origin(hint) is typing.ClassVar or field == "originator_id":
            continue
        kinds = set(typing.get_args(hint)) - {type(None)} if typing.get_args(hint) else {hint}
        if kinds <= {date, datetime}:
            dates.append(field)
        elif not kinds <= {str, int, bool}:
            raise TypeError(f"{event_class.__name__}.{field} ({hint}) cannot be derived in SQL")
    return tuple(dates)


def entity_type_of(event_class: type) -> str:
    owner = event_class.__qualname__.split(".")[0]
    return ENTITY_TYPES.get(owner, owner.lower())


def entity_of(event: Any) -> tuple[str, str]:
    """(entity type, client id) of an event, from its aggregate class."""
    kind = entity_type_of(type(event))
    return kind, getattr(event, f"{kind}_id", None) or str(event.originator_id)


class Audit(Projection):
    name = "audit"
    tables = ("audit_entries",)
    ddl = (
        "CREATE TABLE IF NOT EXISTS audit_entries ("
        " position BIGINT PRIMARY KEY, recorded_at BIGINT NOT NULL, actor TEXT NOT NULL,"
        " event TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,"
        " business_date INTEGER, version INTEGER NOT NULL, data TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS audit_entity ON audit_entries (entity_type, entity_id, position)",
        "CREATE INDEX IF NOT EXISTS audit_actor ON audit_entries (actor, position)",
        "CREATE INDEX IF NOT EXISTS audit_recorded ON audit_entries (recorded_at)",
    )

    readers_indexes = ("audit_entity", "audit_actor", "audit_recorded")
    # A position of its own: a rebuild writes the audit entries beside the other views (PostgreSQL
    # then works on two cores), each lane committing its batches with its own position.
    lane = "audit"
    # The register's events, whose fields are strings, numbers and dates (a report's figures are not).
    derived = frozenset(
        {
            "UnitEstablished",
            "UnitClosed",
            "WorkplaceRegistered",
            "WorkforceSurveyed",
            "UnionFounded",
            "UnionTransferred",
            "UnionDissolved",
            "MemberAdmitted",
            "MemberTransferred",
            "MemberLeft",
            "MemberTransferredIn",
            "MemberTransferredOut",
            "MemberTransferProposed",
            "MemberTransferRefused",
            "MemberTransferWithdrawn",
            "MemberDataErased",
        }
    )

    COLUMNS = (
        "position",
        "recorded_at",
        "actor",
        "event",
        "entity_type",
        "entity_id",
        "business_date",
        "version",
        "data",
    )

    @staticmethod
    def row(event: Any, position: int) -> tuple:
        kind, entity_id = entity_of(event)
        return (
            position,
            micros(event.timestamp),
            getattr(event, "actor", ""),
            event_name(event),
            kind,
            entity_id,
            day(business_date(event)),
            event.originator_version,
            jsonb_text(event_data(event)),
        )

    @classmethod
    def handles(cls, name: str) -> bool:
        return True

    def derive(self, cur: ViewCursor, run: StoredRun) -> None:
        for topic in run.topics:  # a run holds one or a few kinds of event
            select, params = run.select(topic)  # each event parsed once, not once per topic of the run
            event_class = resolve_topic(topic)
            name, kind = event_class.__name__, entity_type_of(event_class)
            dates = date_fields(event_class)
            # The data as event_data makes it: no metadata, dates as their ISO text.
            data = "j - ?::text[]" + (
                " || jsonb_build_object(" + ", ".join(f"'{field}', j->'{field}'->'_data_'" for field in dates) + ")"
                if dates
                else ""
            )
            business = BUSINESS_DATE.get(name)
            cur.execute(
                f"INSERT INTO audit_entries ({', '.join(self.COLUMNS)})"
                f" SELECT position, {sql_micros('timestamp')}, coalesce(j->>'actor', ''), ?, ?,"
                f" coalesce(nullif(j->>'{kind}_id', ''), originator_id::text),"
                f" {sql_day(business) if business else 'NULL'}, version, ({data})::text"
                f" FROM ({select}) s",
                [name, kind, list(META_FIELDS), *params],
            )

    def process_event(self, cur: ViewCursor, event: Any, position: int) -> None:
        cur.insert_rows("audit_entries", self.COLUMNS, [self.row(event, position)])

    def process_batch(self, cur: ViewCursor, items) -> None:
        cur.insert_rows("audit_entries", self.COLUMNS, [self.row(e, p) for e, p in items])
