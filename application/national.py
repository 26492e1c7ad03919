"""The national level: every tenant's figures summed, targets handed to each province in a national
ledger of its own, and the provinces' reports verified against their own ledgers.

A national principal sees aggregates only: nothing here reads a member, and no answer carries
personal data or a list of members. Tenants are read concurrently, each through its own store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from eventsourcing import persistence

from application.reads import RegisterReads
from application.register import Register
from domain.clock import vietnam_today
from domain.commands import AssignNationalTarget
from domain.errors import InvalidValue, NotFound
from domain.indicators import BASE_CODES, Indicator, parse_indicator, percentage
from domain.periods import Period, parse_period
from persistence.connections import DatabaseUnreachable
from projections.indicators import Question
from projections.progress import elapsed_share, progress_line

T = TypeVar("T")
READERS = 8  # tenants read at once: each holds one of its pool's connections while it is read
# A tenant whose server does not answer: the national level answers for the others and names it.
UNREACHABLE = (DatabaseUnreachable, psycopg.OperationalError, persistence.OperationalError, persistence.InterfaceError)
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
NATIONAL_TARGET = "national_target"  # the national ledger's entity type (audit trail)


def _pool() -> ThreadPoolExecutor:
    """The threads reading tenants, made on first use (after a server has forked its workers)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="national")
        return _executor


class National:
    """``platform``: the registry, the tenant stores and the national ledger (tenants.bootstrap.Platform)."""

    def __init__(self, platform: Any, today: Callable[[], date] = vietnam_today):
        self.platform = platform
        self.today = today

    # ---- every tenant, concurrently -------------------------------------------------------------
    def _each(self, tenants: list[dict], read: Callable[[RegisterReads, dict], T]) -> tuple[list[T], list[dict]]:
        """``read`` for each tenant, on its own store, in the tenants' order: the answers of the
        tenants whose server answered, and the tenants whose server did not (id, name, server)."""

        def one(tenant: dict) -> T | None:
            try:
                with self.platform.stores.use(tenant["id"]) as store:
                    return read(RegisterReads(store), tenant)
            except UNREACHABLE:
                return None

        answers = [one(t) for t in tenants] if len(tenants) <= 1 else list(_pool().map(one, tenants))
        reached = [a for a in answers if a is not None]
        placed = {t["id"]: t for t in self.platform.registry.tenants()} if None in answers else {}
        missed = [
            {
                "tenant_id": t["id"],
                "name": placed.get(t["id"], t).get("name"),
                "server": placed.get(t["id"], t).get("server"),
            }
            for t, a in zip(tenants, answers)
            if a is None
        ]
        return reached, missed

    def _tenant(self, tenant_id: str, field: str = "tenant_id") -> dict:
        tenant = self.platform.registry.tenant(tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id!r} does not exist", field=field)
        return tenant

    def _as_of(self, span: Period, as_of: date | None) -> date:
        """The date asked, by default the period's last day or today while it runs; never in the future."""
        today = self.today()
        as_of = as_of or min(span.end, today)
        if as_of > today:
            raise InvalidValue("may not lie in the future", field="as_of")
        return as_of

    # ---- figures ---------------------------------------------------------------------------------
    def indicators(
        self, period: str, as_of: date | None = None, known_at: datetime | None = None, codes: str | None = None
    ) -> dict[str, Any]:
        """Each tenant's /indicators figures for the whole tenant, and their sum: counts added,
        percentages recomputed from the added numerators and denominators."""
        span = parse_period(period)
        as_of = self._as_of(span, as_of)
        wanted = [c.strip() for c in codes.split(",") if c.strip()] if codes else list(BASE_CODES)
        indicators = [parse_indicator(code, field="indicators") for code in wanted]

        def read(reads: RegisterReads, tenant: dict) -> tuple[dict, dict]:
            return reads.figures_and_parts(reads.question(period, None, as_of, known_at), indicators)

        tenants = self.platform.registry.tenants()
        answers, missed = self._each(tenants, read)
        skipped = {m["tenant_id"] for m in missed}
        reached = [t for t in tenants if t["id"] not in skipped]
        return {
            "period": span.code,
            "as_of": as_of,
            "known_at": known_at,
            "figures": summed(indicators, answers),
            "tenants": [
                {"tenant_id": t["id"], "name": t["name"], "figures": figures}
                for t, (figures, _parts) in zip(reached, answers)
            ],
            "unreachable": missed,
        }

    # ---- national targets ------------------------------------------------------------------------
    def assign_target(self, tenant_id: str, indicator: str, period: str, value: float, actor: str) -> dict:
        """Record a target for a whole province in the national ledger (NationalTargetAssigned)."""
        self._tenant(tenant_id)
        with self.platform.national() as store:
            register = Register(store)
            target = register.execute(
                AssignNationalTarget(tenant_id=tenant_id, indicator=indicator, period=period, value=value, actor=actor)
            )
            return next(t for t in _targets(register) if t["id"] == target.national_target_id)

    def targets(self, period: str | None = None) -> list[dict]:
        with self.platform.national() as store:
            return [t for t in _targets(Register(store)) if period is None or t["period"] == period]

    def progress(self, period: str, as_of: date | None = None) -> dict[str, Any]:
        """Each national target of the period against its province's own figure, as the
        province's /targets/progress reckons a target of the whole tenant."""
        span = parse_period(period)
        as_of = self._as_of(span, as_of)
        targets = self.targets(span.code)
        by_tenant: dict[str, list[dict]] = {}
        for target in targets:
            by_tenant.setdefault(target["tenant_id"], []).append(target)
        tenants = [{"id": t} for t in by_tenant]
        before = span.start - timedelta(days=1)

        def read(reads: RegisterReads, tenant: dict) -> tuple[dict, dict]:
            indicators = list(
                {t["indicator"]: parse_indicator(t["indicator"]) for t in by_tenant[tenant["id"]]}.values()
            )
            now = reads.figures(Question(span, None, as_of, None), indicators)
            stocks = [i for i in indicators if not i.is_flow]
            baseline = reads.figures(Question(span, None, before, None), stocks) if stocks else {}
            return now, baseline

        answers, missed = self._each(tenants, read)
        skipped = {m["tenant_id"] for m in missed}
        figures = dict(zip([t for t in by_tenant if t not in skipped], answers))
        elapsed = elapsed_share(span, as_of)
        lines = []
        for target in targets:
            if target["tenant_id"] in skipped:
                continue
            indicator = parse_indicator(target["indicator"])
            now, baseline = figures[target["tenant_id"]]
            start = 0 if indicator.is_flow else baseline[indicator.code]
            line = progress_line(indicator, target["value"], now[indicator.code], start, elapsed)
            lines.append({"target_id": target["id"], "tenant_id": target["tenant_id"], **line})
        return {"period": span.code, "as_of": as_of, "lines": lines, "unreachable": missed}

    # ---- reports ---------------------------------------------------------------------------------
    def reports(self, period: str | None = None) -> list[dict]:
        """The reports every tenant submitted for the whole tenant, by tenant, oldest first."""
        return self.reports_reached(period)[0]

    def reports_reached(self, period: str | None = None) -> tuple[list[dict], list[dict]]:
        """``reports``, and the tenants whose server did not answer."""
        tenants = self.platform.registry.tenants()
        found, missed = self._each(tenants, lambda reads, _t: reads.tenant_reports(period))
        skipped = {m["tenant_id"] for m in missed}
        reached = [t for t in tenants if t["id"] not in skipped]
        return [{"tenant_id": t["id"], **report} for t, reports in zip(reached, found) for report in reports], missed

    def verify_report(self, tenant_id: str, report_id: str, actor: str) -> dict:
        """Verify a tenant's report against that tenant's ledger, as its own verification does
        (ReportVerified in the tenant's ledger, by the national holder). Of the events recorded
        late, a national principal is told which and when, not which member they concern."""
        self._tenant(tenant_id, field="tenant")
        with self.platform.stores.use(tenant_id) as store:
            register = Register(store)
            report = register.reads.report(report_id)
            if report is None or report["unit_id"] is not None:
                raise NotFound(f"report {report_id!r} of tenant {tenant_id!r} does not exist", field="id")
            result = register.verify_report(report_id, actor)
        for line in result["lines"]:
            for late in line["late_events"]:
                if late["entity_type"] == "member":
                    late["entity_id"] = None
        return {"tenant_id": tenant_id, **result}


def summed(indicators: list[Indicator], answers: list[tuple[dict, dict]]) -> dict[str, float | int]:
    """Counts added; a percentage recomputed from its added parts, never an average of percentages."""
    total: dict[str, float | int] = {}
    for indicator in indicators:
        code = indicator.code
        if indicator.is_percentage:
            numerator = sum(parts[code][0] for _figures, parts in answers)
            denominator = sum(parts[code][1] for _figures, parts in answers)
            total[code] = percentage(numerator, denominator)
        else:
            total[code] = sum(int(figures[code]) for figures, _parts in answers)
    return total


def _targets(register: Register) -> list[dict]:
    """The national targets, in the order the national ledger recorded them (its audit trail)."""
    store = register.store
    store.fresh()
    entries, _next = store.views.audit(entity_type=NATIONAL_TARGET, limit=1_000_000)
    return [
        {
            "id": e["entity_id"],
            "tenant_id": e["data"]["tenant_id"],
            "indicator": e["data"]["indicator"],
            "period": e["data"]["period"],
            "value": e["data"]["value"]
            if parse_indicator(e["data"]["indicator"]).is_percentage
            else int(e["data"]["value"]),
            "assigned_on": e["business_date"],
            "assigned_by": e["actor"],
            "recorded_at": e["recorded_at"],
            "position": e["position"],
        }
        for e in entries
        if e["event"] == "NationalTargetAssigned"
    ]


def _value(indicator: str, value: float) -> float | int:
    """A target's value as answered: a whole number for a count."""
    return value if parse_indicator(indicator).is_percentage else int(value)
