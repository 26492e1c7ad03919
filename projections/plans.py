"""Targets handed down and reports sent up: their current state, for progress and verification."""

from __future__ import annotations

import json
from typing import Any

from domain.periods import parse_period
from projections.base import Projection, ViewCursor, day, dumps, micros


class Targets(Projection):
    name = "targets"
    tables = ("target_state",)
    ddl = (
        "CREATE TABLE IF NOT EXISTS target_state ("
        " target_id TEXT PRIMARY KEY, unit_id TEXT, indicator TEXT NOT NULL, period TEXT NOT NULL,"
        " period_start INTEGER NOT NULL, period_end INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL,"
        " assigned_on INTEGER NOT NULL, decision_no TEXT, revisions INTEGER NOT NULL,"
        " version INTEGER NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS target_state_period ON target_state (period, unit_id)",
    )

    def on_TargetAssigned(self, cur: ViewCursor, e: Any, position: int) -> None:
        span, at = parse_period(e.period), micros(e.timestamp)
        cur.execute(
            "INSERT INTO target_state (target_id, unit_id, indicator, period, period_start, period_end, value,"
            " assigned_on, decision_no, revisions, version, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            (
                e.target_id,
                e.unit_id,
                e.indicator,
                e.period,
                day(span.start),
                day(span.end),
                e.value,
                day(e.assigned_on),
                e.decision_no,
                e.originator_version,
                at,
                at,
            ),
        )

    def on_TargetRevised(self, cur: ViewCursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE target_state SET value = ?, revisions = revisions + 1, version = ?, updated_at = ?"
            " WHERE target_id = ?",
            (e.value, e.originator_version, micros(e.timestamp), e.target_id),
        )


class Reports(Projection):
    name = "reports"
    tables = ("report_state",)
    ddl = (
        "CREATE TABLE IF NOT EXISTS report_state ("
        " report_id TEXT PRIMARY KEY, unit_id TEXT, period TEXT NOT NULL, as_of INTEGER NOT NULL,"
        " figures TEXT NOT NULL, submitted_at BIGINT NOT NULL, submitted_by TEXT NOT NULL,"
        " replaces TEXT, replaced_by TEXT, verdict TEXT, verified_at BIGINT, verified_by TEXT,"
        " verification TEXT, version INTEGER NOT NULL, updated_at BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS report_state_unit ON report_state (unit_id, period)",
    )

    def on_ReportSubmitted(self, cur: ViewCursor, e: Any, position: int) -> None:
        at = micros(e.timestamp)
        cur.execute(
            "INSERT INTO report_state (report_id, unit_id, period, as_of, figures, submitted_at, submitted_by,"
            " replaces, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.report_id,
                e.unit_id,
                e.period,
                day(e.as_of),
                dumps(e.figures),
                at,
                e.actor,
                e.replaces,
                e.originator_version,
                at,
            ),
        )

    def on_ReportReplaced(self, cur: ViewCursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE report_state SET replaced_by = ?, version = ?, updated_at = ? WHERE report_id = ?",
            (e.replaced_by, e.originator_version, micros(e.timestamp), e.report_id),
        )

    def on_ReportVerified(self, cur: ViewCursor, e: Any, position: int) -> None:
        at = micros(e.timestamp)
        cur.execute(
            "UPDATE report_state SET verdict = ?, verified_at = ?, verified_by = ?, verification = ?, version = ?,"
            " updated_at = ? WHERE report_id = ?",
            (e.verdict, at, e.actor, json.dumps(e.lines, ensure_ascii=False), e.originator_version, at, e.report_id),
        )
