"""Progress against targets, and the verification of a report's figures against the ledger."""

from __future__ import annotations

import json
from datetime import date, timedelta

from domain import verification
from domain.indicators import Indicator, parse_indicator, percentage
from domain.periods import Period, parse_period
from projections.base import Transaction, day, from_day, from_micros, micros
from projections.indicators import IndicatorCalculator, Question, UnitScope
from projections.ledger import Ledger

LATE_EVENTS_SHOWN = 50
# Which recorded events can move each kind of figure.
MEMBER_EVENTS = ("MemberAdmitted", "MemberTransferred", "MemberLeft", "MemberTransferredIn", "MemberTransferredOut")
UNION_EVENTS = ("UnionFounded", "UnionTransferred", "UnionDissolved")
WORKPLACE_EVENTS = ("WorkplaceRegistered", "WorkforceSurveyed")
STRUCTURE_EVENTS = ("UnitEstablished", "UnitClosed")
PLACEMENT_EVENTS = ("UnionTransferred",) + STRUCTURE_EVENTS  # change which unit holds a union
MOVERS = {
    "members_total": MEMBER_EVENTS + UNION_EVENTS + STRUCTURE_EVENTS,
    "members_female": MEMBER_EVENTS + UNION_EVENTS + STRUCTURE_EVENTS,
    "members_admitted": ("MemberAdmitted",) + PLACEMENT_EVENTS,
    "members_left": ("MemberLeft",) + PLACEMENT_EVENTS,
    "members_transferred_in": ("MemberTransferredIn",) + PLACEMENT_EVENTS,
    "members_transferred_out": ("MemberTransferredOut",) + PLACEMENT_EVENTS,
    "members_net_growth": ("MemberAdmitted", "MemberLeft", "MemberTransferredIn", "MemberTransferredOut")
    + PLACEMENT_EVENTS,
    "unions_total": UNION_EVENTS + STRUCTURE_EVENTS,
    "unions_founded": ("UnionFounded",) + PLACEMENT_EVENTS,
    "unions_dissolved": ("UnionDissolved",) + PLACEMENT_EVENTS,
    "workplaces_eligible": WORKPLACE_EVENTS + STRUCTURE_EVENTS,
    "workplaces_covered": WORKPLACE_EVENTS + UNION_EVENTS + STRUCTURE_EVENTS,
    "coverage_pct": WORKPLACE_EVENTS + UNION_EVENTS + STRUCTURE_EVENTS,
    "member_worker_ratio_pct": MEMBER_EVENTS + UNION_EVENTS + WORKPLACE_EVENTS + STRUCTURE_EVENTS,
    "unions_rated_good_pct": ("UnionRated",) + UNION_EVENTS + STRUCTURE_EVENTS,
    "cla_coverage_pct": ("CollectiveAgreementSigned",) + WORKPLACE_EVENTS + UNION_EVENTS + STRUCTURE_EVENTS,
    "womens_committee_pct": ("WomensCommitteeFounded",) + MEMBER_EVENTS + UNION_EVENTS + STRUCTURE_EVENTS,
    "members_with_card_pct": ("MemberCardIssued",) + MEMBER_EVENTS + UNION_EVENTS + STRUCTURE_EVENTS,
    "dues_collected_pct": ("DuesRecorded",) + PLACEMENT_EVENTS,
    "officials_trained_pct": ("OfficialsTrainingRecorded",) + PLACEMENT_EVENTS,
    "workers_conference_pct": ("WorkersConferenceHeld",) + WORKPLACE_EVENTS + UNION_EVENTS + STRUCTURE_EVENTS,
}


def _period_and_unit(period: str | None, unit_id: str | None, whole_tenant: bool) -> tuple[str, tuple]:
    """WHERE clause and parameters: a period, a unit, or (``whole_tenant``) the tenant's own rows."""
    clauses, params = [], []
    if period:
        clauses.append("period = ?")
        params.append(period)
    if unit_id:
        clauses.append("unit_id = ?")
        params.append(unit_id)
    elif whole_tenant:
        clauses.append("unit_id IS NULL")
    return " AND ".join(clauses) or "1 = 1", tuple(params)


def elapsed_share(period: Period, as_of: date) -> float:
    """The share of the period's days gone by ``as_of`` (its day included), from 0 to 1."""
    return min(max((as_of - period.start).days + 1, 0), period.days) / period.days


def progress_line(indicator: Indicator, goal: float, actual: float, start: float, elapsed: float) -> dict:
    """A target's progress: ``start`` is 0 for a flow, the figure on the day before the period
    for a stock; what is expected by now is pro rata of the way from there to the goal."""
    expected = round(start + (goal - start) * elapsed, 1)
    status = "achieved" if actual >= goal else "on_track" if actual >= expected else "behind"
    return {
        "indicator": indicator.code,
        "target": goal,
        "actual": actual,
        "achieved_pct": percentage(actual, goal) if goal else 100.0,
        "expected_to_date": expected,
        "status": status,
    }


class Plans:
    """Reads of targets and reports, with their figures from the indicator views."""

    def __init__(self, transaction: Transaction, calculator: IndicatorCalculator):
        self.transaction = transaction
        self.calculator = calculator
        self.ledger: Ledger | None = None  # where late events' data is read (its store sets it)

    # ---- targets -------------------------------------------------------------
    def target(self, target_id: str) -> dict | None:
        rows = self._targets("target_id = ?", (target_id,))
        return rows[0] if rows else None

    def _targets(self, where: str, params: tuple) -> list[dict]:
        with self.transaction() as cur:
            rows = cur.execute(
                "SELECT target_id, unit_id, indicator, period, value, assigned_on, decision_no, revisions, version,"
                f" created_at, updated_at FROM target_state WHERE {where} ORDER BY created_at, target_id",
                params,
            ).fetchall()
        return [
            {
                "id": t,
                "unit_id": u,
                "indicator": i,
                "period": p,
                "assigned_on": from_day(a),
                "value": v if parse_indicator(i).is_percentage else int(v),
                "decision_no": d,
                "revisions": r,
                "version": ver,
                "recorded_at": from_micros(c),
                "updated_at": from_micros(up),
            }
            for t, u, i, p, v, a, d, r, ver, c, up in rows
        ]

    def targets(self, period: str | None, unit_id: str | None, whole_tenant: bool) -> list[dict]:
        return self._targets(*_period_and_unit(period, unit_id, whole_tenant))

    def progress(self, period: Period, unit_id: str | None, as_of: date) -> list[dict]:
        """Each target's actual figure at ``as_of`` against what is expected by then, pro rata."""
        lines: list[dict] = []
        targets = self.targets(period.code, unit_id, whole_tenant=unit_id is None)
        if not targets:
            return lines
        indicators = [parse_indicator(t["indicator"]) for t in targets]
        now = self.calculator.figures(indicators, Question(period, unit_id, as_of, None))
        stocks = [i for i in indicators if not i.is_flow]
        baseline = {}
        if stocks:
            before = period.start - timedelta(days=1)
            baseline = self.calculator.figures(stocks, Question(period, unit_id, before, None))
        for target, indicator in zip(targets, indicators):
            start = 0 if indicator.is_flow else baseline[indicator.code]
            lines.append(
                {
                    "target_id": target["id"],
                    **progress_line(
                        indicator, target["value"], now[indicator.code], start, elapsed_share(period, as_of)
                    ),
                }
            )
        return lines

    # ---- reports -------------------------------------------------------------
    REPORT_COLS = (
        "report_id, unit_id, period, as_of, figures, submitted_at, submitted_by, replaces, replaced_by,"
        " verdict, verified_at, verified_by, verification, version, updated_at"
    )

    def _reports(self, where: str, params: tuple) -> list[dict]:
        with self.transaction() as cur:
            rows = cur.execute(
                f"SELECT {self.REPORT_COLS} FROM report_state WHERE {where} ORDER BY submitted_at, report_id", params
            ).fetchall()
        out = []
        for (
            rid,
            unit,
            period,
            as_of,
            figures,
            sub_at,
            sub_by,
            replaces,
            replaced_by,
            verdict,
            ver_at,
            ver_by,
            lines,
            version,
            updated,
        ) in rows:
            out.append(
                {
                    "id": rid,
                    "unit_id": unit,
                    "period": period,
                    "as_of": from_day(as_of),
                    "figures": json.loads(figures),
                    "submitted_at": from_micros(sub_at),
                    "submitted_by": sub_by,
                    "replaces": replaces,
                    "replaced_by": replaced_by,
                    "status": "replaced" if replaced_by else "current",
                    "verification": None
                    if verdict is None
                    else {
                        "verdict": verdict,
                        "verified_at": from_micros(ver_at),
                        "verified_by": ver_by,
                        "lines": json.loads(lines),
                    },
                    "version": version,
                    "recorded_at": from_micros(sub_at),
                    "updated_at": from_micros(updated),
                }
            )
        return out

    def placed(self, kind: str, ids: list[str]) -> dict[str, tuple[str | None, str, date | None]]:
        """Where targets or reports are placed, read at once: id -> (unit_id, period, as_of) (a
        target has no as_of). A scope reaches them through their unit."""
        if not ids:
            return {}
        table, as_of = ("target_state", "NULL") if kind == "target" else ("report_state", "as_of")
        with self.transaction() as cur:
            rows = cur.rows_for(
                f"SELECT {kind}_id, unit_id, period, {as_of} FROM {table} WHERE {kind}_id IN ({{ids}})", ids
            )
        return {i: (unit, period, from_day(d) if d is not None else None) for i, unit, period, d in rows}

    def report(self, report_id: str) -> dict | None:
        rows = self._reports("report_id = ?", (report_id,))
        return rows[0] if rows else None

    def reports(self, period: str | None, unit_id: str | None, whole_tenant: bool) -> list[dict]:
        return self._reports(*_period_and_unit(period, unit_id, whole_tenant))

    def verify(self, report: dict) -> dict:
        """Recompute every reported figure as the register stood at submission and as it stands now."""
        period = parse_period(report["period"])
        submitted = micros(report["submitted_at"])  # the stored instant: from_micros is exact
        indicators = [parse_indicator(code) for code in report["figures"]]
        base = Question(period, report["unit_id"], report["as_of"], None)
        then, now = self.calculator.figures_of(
            indicators, (Question(period, base.unit_id, base.as_of, submitted), base)
        )
        late = self._late_events(base, submitted)
        lines = []
        for ind in indicators:
            reported = report["figures"][ind.code]
            status = verification.line_status(reported, then[ind.code], now[ind.code])
            relevant = (
                []
                if status == verification.MATCH
                else [
                    e
                    for e in late
                    if e["event"] in MOVERS[ind.base] and (not ind.is_flow or e["business_date"] >= period.start)
                ]
            )
            lines.append(
                {
                    "indicator": ind.code,
                    "reported": reported,
                    "ledger_at_submission": then[ind.code],
                    "ledger_now": now[ind.code],
                    "status": status,
                    "late_events": relevant[:LATE_EVENTS_SHOWN],
                    "late_events_total": len(relevant),
                }
            )
        return {
            "report_id": report["id"],
            "verdict": verification.verdict([line["status"] for line in lines]),
            "lines": lines,
        }

    def _late_events(self, q: Question, submitted: int) -> list[dict]:
        """Events recorded after the submission about days up to the cut-off, within the report's unit."""
        assert self.ledger is not None  # set by the store with the views
        with self.transaction() as cur:
            key = "notification_id" if cur.dialect == "postgres" else "rowid"
            rows = cur.execute(
                f"SELECT {key}, recorded_at, actor, event, entity_type, entity_id, business_date"
                f" FROM {self.ledger.table} WHERE recorded_at > ? AND business_date <= ? AND entity_type IN"
                f" ('unit', 'workplace', 'union', 'member') ORDER BY {key}",
                (submitted, day(q.as_of)),
            ).fetchall()
            if q.unit_id is None:
                keep = rows
            else:
                scope = UnitScope.read(cur, q.unit_id, q.k)
                assert self.ledger is not None  # set by the store with the views
                data = self.ledger.data(cur, [r[0] for r in rows])
                keep = [r for r in rows if self._in_scope(cur, scope, (*r, data.get(r[0], {})))]
        return [
            {
                "position": p,
                "recorded_at": from_micros(r),
                "actor": a,
                "event": e,
                "entity_type": t,
                "entity_id": i,
                "business_date": from_day(b),
            }
            for p, r, a, e, t, i, b in keep
        ]

    @staticmethod
    def _in_scope(cur, scope: UnitScope, row: tuple) -> bool:
        _p, _r, _a, event, kind, entity, on, data = row
        if kind == "unit":
            units = {entity, data.get("successor_id"), data.get("parent_id")} - {None}
            return any(scope.covers(u, on) for u in units)
        if kind == "member":
            unions = {data.get("union_id"), data.get("to_union_id")} - {None}
            if event == "MemberTransferred":
                unions |= {
                    r[0]
                    for r in cur.execute(
                        "SELECT holder_id FROM member_spans WHERE entity_id = ? AND valid_to = ?", (entity, on)
                    ).fetchall()
                }
            return any(Plans._holder_in_scope(cur, scope, "union_spans", u, on) for u in unions)
        table = "union_spans" if kind == "union" else "workplace_spans"
        if event == "UnionTransferred":
            return scope.covers(data["to_unit_id"], on) or Plans._holder_in_scope(cur, scope, table, entity, on - 1)
        return Plans._holder_in_scope(cur, scope, table, entity, on)

    @staticmethod
    def _holder_in_scope(cur, scope: UnitScope, table: str, entity: str, on: int) -> bool:
        rows = cur.execute(
            f"SELECT holder_id FROM {table} WHERE entity_id = ? AND superseded_at IS NULL AND valid_from <= ?"
            " AND (valid_to IS NULL OR valid_to >= ?)",
            (entity, on, on),
        ).fetchall()
        return any(scope.covers(holder, on) for (holder,) in rows)
