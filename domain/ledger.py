"""The ledger of one tenant: one verb per register command.

Rules that need more than one aggregate ask ``RegisterQueries`` (answered from
the tenant's views, which the caller keeps current and serialises per tenant).
Personal data is sealed by a ``PersonalDataSealer`` before it enters an event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
import secrets
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Transcoder, Transcoding
from eventsourcing.utils import get_topic

from domain.base import RegisterAggregate, check_client_id
from domain.errors import AlreadyExists, Conflict, InvalidValue, NotFound
from domain.imports import ImportPlan
from domain.indicators import Indicator, parse_indicator
from domain.members import DEPARTURE_REASONS, GENDERS, Member
from domain.periods import parse_period
from domain.reports import Report
from domain.targets import Target
from domain.unions import Union
from domain.units import UNIT_KINDS, Unit
from domain.workplaces import SECTORS, Workplace, check_workforce

A = TypeVar("A", bound=RegisterAggregate)
_ADMITTED = Member.MemberAdmitted
ADMITTED_TOPIC = get_topic(_ADMITTED)

VIETNAM = timezone(timedelta(hours=7))


def vietnam_today() -> date:
    """Business dates are Vietnamese calendar days."""
    return datetime.now(VIETNAM).date()


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class RegisterQueries(Protocol):
    def active_members_in_union(self, union_id: str, on: date) -> int:
        """Members of the union active on ``on`` or at any later date."""

    def active_union_at_workplace(self, workplace_id: str, on: date) -> str | None:
        """Another union of the workplace active on ``on`` or later, if any."""

    def active_under_unit(self, unit_id: str, on: date) -> int:
        """Child units, unions and workplaces under the unit on ``on`` or later."""


class PersonalDataSealer(Protocol):
    """Seals personal data under a key of the member's own, kept outside the ledger."""

    def seal(self, member_id: str, data: dict[str, Any]) -> str: ...

    def seal_new(self, items: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], dict[str, bytes]]:
        """Seal for many new members; returns the sealed values and their keys, to be stored with
        the events that use them."""


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidValue(f"must be one of: {', '.join(allowed)}", field=field)
    return value


class Ledger(Application):
    """The tenant's register: commands in, events out."""

    name = "Ledger"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        queries: RegisterQueries,
        sealer: PersonalDataSealer,
        today: Callable[[], date] = vietnam_today,
    ):
        super().__init__(env)
        self.queries = queries
        self.sealer = sealer
        self.today = today
        self._collected: list[RegisterAggregate] | None = None
        self._preloaded: dict[UUID, RegisterAggregate | None] = {}

    def register_transcodings(self, transcoder: Transcoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # ---- helpers -------------------------------------------------------
    def _get(self, cls: type[A], client_id: str, field: str = "id") -> A:
        storage_id = cls.storage_id(client_id)
        try:
            if storage_id in self._preloaded:
                found = self._preloaded[storage_id]
                if found is None or not isinstance(found, cls):
                    raise AggregateNotFoundError(storage_id)
                return found
            return self.repository.get(storage_id)
        except AggregateNotFoundError:
            raise NotFound(f"{cls.KIND} {client_id!r} does not exist", field=field) from None

    @staticmethod
    def reads(verb: str, *args: Any, **kwargs: Any) -> list[UUID]:
        """The aggregates a member command reads or changes (to load them for a group at once)."""
        member_id = kwargs["id"] if verb == "admit_member" else args[0]
        union_id = kwargs.get("union_id") or kwargs.get("to_union_id")
        return [Member.storage_id(member_id)] + ([Union.storage_id(union_id)] if union_id else [])

    @contextmanager
    def preloaded(self, aggregates: dict[UUID, RegisterAggregate | None]) -> Iterator[None]:
        """Commands use these aggregates (None: does not exist) instead of reading the event store.
        The caller vouches that they are current: loaded under the tenant lock, and changed only
        by the commands that use them."""
        self._preloaded = aggregates
        try:
            yield
        finally:
            self._preloaded = {}

    def _require_new(self, cls: type[RegisterAggregate], client_id: str) -> None:
        check_client_id(client_id)
        storage_id = cls.storage_id(client_id)
        exists = self._preloaded[storage_id] is not None if storage_id in self._preloaded \
            else storage_id in self.repository
        if exists:
            raise AlreadyExists(f"{cls.KIND} {client_id!r} exists already", field="id", rule="unique_id")

    def _past(self, day: date, field: str) -> date:
        if day > self.today():
            raise InvalidValue("may not lie in the future", field=field)
        return day

    @contextmanager
    def collecting(self) -> Iterator[list[RegisterAggregate]]:
        """Commands decide but do not save: the aggregates they would save are collected, for the
        caller to save in one go (a group commit). Not thread-safe: one caller at a time."""
        self._collected = []
        try:
            yield self._collected
        finally:
            self._collected = None

    def _save(self, *aggregates: RegisterAggregate) -> None:
        if self._collected is not None:
            self._collected.extend(aggregates)
            return
        try:
            self.save(*aggregates)
        except IntegrityError:
            # Someone else wrote the same id (or version) first.
            raise AlreadyExists("the entity was written concurrently; nothing was changed", rule="unique_id") from None

    # ---- units ---------------------------------------------------------
    def establish_unit(
        self, *, id: str, name: str, kind: str, established_on: date,
        parent_id: str | None = None, actor: str,
    ) -> Unit:
        self._require_new(Unit, id)
        _choice(kind, UNIT_KINDS, "kind")
        self._past(established_on, "established_on")
        if parent_id is not None:
            if parent_id == id:
                raise Conflict("a unit cannot be its own parent", field="parent_id", rule="parent")
            parent = self._get(Unit, parent_id, "parent_id")
            parent.require_can_hold(established_on, "unit")
        unit = Unit(unit_id=id, name=name, kind=kind, established_on=established_on,
                    parent_id=parent_id, actor=actor)
        self._save(unit)
        return unit

    def close_unit(self, unit_id: str, *, closed_on: date, successor_id: str | None = None, actor: str) -> Unit:
        unit = self._get(Unit, unit_id)
        self._past(closed_on, "closed_on")
        successor = self._get(Unit, successor_id, "successor_id") if successor_id else None
        if successor is not None and successor.closed_on is not None:
            raise Conflict(f"successor {successor_id} is closed", field="successor_id", rule="unit_active")
        if successor is not None and unit_id in self._units_above(successor):
            raise Conflict(f"successor {successor_id} lies under unit {unit_id}: what is under {unit_id} would "
                           "move under itself", field="successor_id", rule="successor")
        active = 0 if successor else self.queries.active_under_unit(unit_id, closed_on)
        unit.close(closed_on, successor, active, actor)
        self._save(unit)
        return unit

    def _units_above(self, unit: Unit) -> list[str]:
        """The units a unit lies under, nearest first; a closed unit hands what it held to its successor."""
        above: list[str] = []
        current = unit.parent_id
        while current is not None and current not in above:
            above.append(current)
            parent = self._get(Unit, current)
            current = parent.successor_id or parent.parent_id
        return above

    # ---- workplaces ----------------------------------------------------
    def register_workplace(
        self, *, id: str, name: str, sector: str, unit_id: str, workers: int,
        female_workers: int, as_of: date, actor: str,
    ) -> Workplace:
        self._require_new(Workplace, id)
        _choice(sector, SECTORS, "sector")
        check_workforce(workers, female_workers)
        self._past(as_of, "as_of")
        self._get(Unit, unit_id, "unit_id").require_can_hold(as_of, "workplace")
        workplace = Workplace(workplace_id=id, name=name, sector=sector, unit_id=unit_id,
                              workers=workers, female_workers=female_workers, as_of=as_of, actor=actor)
        self._save(workplace)
        return workplace

    def survey_workplace(self, workplace_id: str, *, workers: int, female_workers: int, as_of: date, actor: str) -> Workplace:
        workplace = self._get(Workplace, workplace_id)
        self._past(as_of, "as_of")
        workplace.survey(workers, female_workers, as_of, actor)
        self._save(workplace)
        return workplace

    # ---- unions ----------------------------------------------------------
    def found_union(
        self, *, id: str, name: str, workplace_id: str, unit_id: str, founded_on: date,
        decision_no: str | None = None, actor: str,
    ) -> Union:
        self._require_new(Union, id)
        self._past(founded_on, "founded_on")
        workplace = self._get(Workplace, workplace_id, "workplace_id")
        if founded_on < workplace.registered_on:
            raise Conflict(
                f"workplace {workplace_id} was registered as of {workplace.registered_on.isoformat()}, "
                "after the founding date", field="founded_on", rule="date_order",
            )
        self._get(Unit, unit_id, "unit_id").require_can_hold(founded_on, "union")
        other = self.queries.active_union_at_workplace(workplace_id, founded_on)
        if other:
            raise Conflict(
                f"workplace {workplace_id} already has an active union ({other})",
                field="workplace_id", rule="one_union_per_workplace",
            )
        union = Union(union_id=id, name=name, workplace_id=workplace_id, unit_id=unit_id,
                      founded_on=founded_on, decision_no=decision_no, actor=actor)
        self._save(union)
        return union

    def transfer_union(self, union_id: str, *, to_unit_id: str, effective_on: date, actor: str) -> Union:
        union = self._get(Union, union_id)
        self._past(effective_on, "effective_on")
        self._get(Unit, to_unit_id, "to_unit_id").require_can_hold(effective_on, "union")
        union.transfer(to_unit_id, effective_on, actor)
        self._save(union)
        return union

    def dissolve_union(self, union_id: str, *, dissolved_on: date, reason: str, actor: str) -> Union:
        union = self._get(Union, union_id)
        self._past(dissolved_on, "dissolved_on")
        active = self.queries.active_members_in_union(union_id, dissolved_on)
        union.dissolve(dissolved_on, reason, active, actor)
        self._save(union)
        return union

    # ---- members ---------------------------------------------------------
    def admit_member(
        self, *, id: str, union_id: str, admitted_on: date, full_name: str, gender: str,
        birth_date: date | None = None, id_number: str | None = None, actor: str,
    ) -> Member:
        self._require_new(Member, id)
        _choice(gender, GENDERS, "gender")
        self._past(admitted_on, "admitted_on")
        if birth_date is not None and birth_date > admitted_on:
            raise InvalidValue("must be before the admission date", field="birth_date")
        self._get(Union, union_id, "union_id").require_open_to_members(admitted_on)
        personal = self.sealer.seal(id, personal_data(full_name, birth_date, id_number))
        member = Member(member_id=id, union_id=union_id, admitted_on=admitted_on,
                        gender=gender, personal=personal, actor=actor)
        self._save(member)
        return member

    def transfer_member(self, member_id: str, *, to_union_id: str, effective_on: date, actor: str) -> Member:
        member = self._get(Member, member_id)
        self._past(effective_on, "effective_on")
        self._get(Union, to_union_id, "to_union_id").require_open_to_members(effective_on)
        member.transfer(to_union_id, effective_on, actor)
        self._save(member)
        return member

    def record_departure(self, member_id: str, *, left_on: date, reason: str, actor: str) -> Member:
        member = self._get(Member, member_id)
        _choice(reason, DEPARTURE_REASONS, "reason")
        self._past(left_on, "left_on")
        member.leave(left_on, reason, actor)
        self._save(member)
        return member

    def erase_member_data(self, member_id: str, *, reason: str, actor: str) -> Member:
        """MemberDataErased; the tenant store then destroys the member's key."""
        member = self._get(Member, member_id)
        member.erase_personal_data(self.today(), reason, actor)
        self._save(member)
        return member

    # ---- bulk import -----------------------------------------------------
    def import_events(self, plan: ImportPlan, *, actor: str, chunk: int = 5000,
                      events: bool = True) -> Iterator[tuple[str, list[tuple[Any, Any, datetime]], dict[str, bytes]]]:
        """What a validated plan records, ``chunk`` aggregates at a time: ``(kind, built, keys)``,
        ``built`` holding each stored event with its event and the instant it records, ``keys``
        the new members' keys, for the caller to store with the events in one transaction.

        The events are the ones the single commands record. Without ``events`` the admissions
        are stored straight from their state, the bytes their events would be stored as, and
        their event is None: for a caller whose views read admissions from the ledger.
        """
        for kind in ("workplaces", "unions", "members"):
            rows = plan.creates[kind]
            for start in range(0, len(rows), chunk):
                part = rows[start:start + chunk]
                if kind == "members":
                    built, keys = self._admissions(part, actor, events)
                    yield kind, built, keys
                else:
                    yield kind, self._build(kind, part, actor), {}

    def _build(self, kind: str, rows: list[dict], actor: str) -> list[tuple[Any, Any, datetime]]:
        """The stored events that creating each row's workplace or union records, each with its event."""
        if kind == "workplaces":
            created = [Workplace(workplace_id=r["id"], name=r["name"], sector=r["sector"], unit_id=r["unit_id"],
                                 workers=r["workers"], female_workers=r["female_workers"], as_of=r["as_of"],
                                 actor=actor) for r in rows]
        else:
            created = [Union(union_id=r["id"], name=r["name"], workplace_id=r["workplace_id"], unit_id=r["unit_id"],
                             founded_on=r["founded_on"], decision_no=r["decision_no"], actor=actor) for r in rows]
        return [(self.mapper.to_stored_event(e), e, e.timestamp)
                for aggregate in created for e in aggregate.collect_events()]

    def _admissions(self, rows: list[dict], actor: str,
                    events: bool) -> tuple[list[tuple[Any, Any, datetime]], dict[str, bytes]]:
        sealed, keys = self.sealer.seal_new([(r["id"], personal_data(r["full_name"], r["birth_date"], r["id_number"]))
                                             for r in rows])
        stored_state = None if events else getattr(self.mapper, "stored_state", None)
        built = []
        for r, personal in zip(rows, sealed):
            if stored_state is not None:
                # The event's attributes, each made as the event would make it.
                timestamp = _ADMITTED.create_timestamp()
                stored = stored_state(ADMITTED_TOPIC, Member.create_id(r["id"]), Member.INITIAL_VERSION,
                                      Member.admission_state(member_id=r["id"], union_id=r["union_id"],
                                                             admitted_on=r["admitted_on"], gender=r["gender"],
                                                             personal=personal, actor=actor, timestamp=timestamp))
                if stored is not None:
                    built.append((stored, None, timestamp))
                    continue
            event = Member.admission(member_id=r["id"], union_id=r["union_id"], admitted_on=r["admitted_on"],
                                     gender=r["gender"], personal=personal, actor=actor)
            built.append((self.mapper.to_stored_event(event), event, event.timestamp))
        return built, keys

    # ---- targets ---------------------------------------------------------
    def _unit_or_tenant(self, unit_id: str | None) -> None:
        if unit_id is not None:
            self._get(Unit, unit_id, "unit_id")

    def assign_target(
        self, *, unit_id: str | None, indicator: str, period: str, value: float,
        assigned_on: date | None = None, decision_no: str | None = None, actor: str,
    ) -> Target:
        code = parse_indicator(indicator).code
        parse_period(period)
        value = figure_value(parse_indicator(indicator), value, "value")
        assigned_on = self._past(assigned_on or self.today(), "assigned_on")
        self._unit_or_tenant(unit_id)
        target = Target(target_id=new_id("tg"), unit_id=unit_id, indicator=code, period=period, value=value,
                        assigned_on=assigned_on, decision_no=decision_no, actor=actor)
        self._save(target)
        return target

    def revise_target(self, target_id: str, *, value: float, reason: str, revised_on: date | None = None,
                      actor: str) -> Target:
        target = self._get(Target, target_id)
        value = figure_value(parse_indicator(target.indicator), value, "value")
        target.revise(value, reason, self._past(revised_on or self.today(), "revised_on"), actor)
        self._save(target)
        return target

    # ---- reports ---------------------------------------------------------
    def submit_report(
        self, *, unit_id: str | None, period: str, figures: dict[str, float], as_of: date | None = None,
        replaces: str | None = None, actor: str,
    ) -> Report:
        span = parse_period(period)
        as_of = as_of or min(span.end, self.today())  # as the draft and the indicators default it
        self._past(as_of, "as_of")
        if as_of < span.start:
            raise InvalidValue("the cut-off date cannot precede the period", field="as_of")
        if not figures:
            raise InvalidValue("a report needs at least one figure", field="figures")
        figures = {code: figure_value(parse_indicator(code, field=f"figures.{code}"), value, f"figures.{code}")
                   for code, value in figures.items()}
        self._unit_or_tenant(unit_id)
        report = Report(report_id=new_id("rp"), unit_id=unit_id, period=period, as_of=as_of, figures=figures,
                        replaces=replaces, submitted_on=self.today(), actor=actor)
        if replaces is None:
            self._save(report)
            return report
        old = self._get(Report, replaces, "replaces")
        old.require_replaceable_by(unit_id, period)
        old.mark_replaced(report.report_id, actor, self.today())
        self._save(report, old)
        return report

    def record_verification(self, report_id: str, *, verdict: str, lines: list[dict], actor: str) -> Report:
        report = self._get(Report, report_id)
        report.record_verification(verdict, lines, self.today(), actor)
        self._save(report)
        return report


def personal_data(full_name: str, birth_date: date | None, id_number: str | None) -> dict[str, Any]:
    """What of a member is sealed: the data erasure destroys."""
    return {"full_name": full_name, "birth_date": birth_date.isoformat() if birth_date else None,
            "id_number": id_number}


MAX_COUNT = 10**12  # far beyond any real figure, and within what a float holds exactly
TOO_LARGE = f"may not exceed {MAX_COUNT:,} either way"


def figure_value(indicator: Indicator, value: float, field: str) -> float | int:
    """Counts are whole numbers; percentages lie between 0 and 100 (net growth may be negative)."""
    if indicator.is_percentage:
        if not 0 <= value <= 100:
            raise InvalidValue("a percentage must lie between 0 and 100", field=field)
        return float(value)
    if abs(value) > MAX_COUNT:
        raise InvalidValue(TOO_LARGE, field=field)
    if value != int(value):
        raise InvalidValue("a count must be a whole number", field=field)
    if value < 0 and indicator.base != "members_net_growth":
        raise InvalidValue("must be 0 or more", field=field)
    return int(value)


def new_id(prefix: str) -> str:
    """Ids the service gives (targets, reports): short, random, never reused."""
    return f"{prefix}-{secrets.token_hex(6)}"
