"""Every read of a tenant's register, for the HTTP API, the command line and the demo alike.

The views are brought up to date with the ledger once per use case, before its first read (they
always are, but after a crash); members' personal data is opened here and nowhere else.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from domain.base import ID_PATTERN
from domain.errors import InvalidValue, NotFound
from domain.indicators import BASE_CODES, GROUP_BY, STEPS, Indicator, parse_indicator
from domain.members import PERSONAL_FIELDS
from domain.periods import parse_period, steps
from domain.text import search_words
from persistence.vault import PERSONAL_KEY_COLUMN, PERSONAL_KEY_JOIN, PERSONAL_KEY_MEMBER
from projections.base import from_day, micros
from projections.browse import RegisterLists
from projections.indicators import Question


def member_answer(row: dict, opened: dict | None) -> dict:
    """A member as answered: the view's row (without the sealed value) with the personal data as
    opened (None: erased)."""
    personal = opened or {}
    birth_date = personal.get("birth_date")
    answer = {k: v for k, v in row.items() if k != "personal"}
    return {
        **answer,
        "personal_data_erased": opened is None,
        "full_name": personal.get("full_name"),
        "birth_date": date.fromisoformat(birth_date) if birth_date else None,
        "id_number": personal.get("id_number"),
    }


LIMIT = 100  # items of a page unless asked otherwise


def cursor_of(last_id: str) -> str:
    """The ``next`` cursor of a page: opaque to clients, the page's last id underneath."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def after_cursor(cursor: str | None) -> str | None:
    """The id a cursor stands for; 422 naming ``after`` for one this service did not give."""
    if cursor is None:
        return None
    try:
        last_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        last_id = ""
    if not ID_PATTERN.match(last_id):
        raise InvalidValue("is not a cursor this service gave (pass the `next` of the page before)", field="after")
    return last_id


@dataclass(frozen=True)
class Page:
    items: Any  # a list of dicts as answered, or (a file's page) its rows, made as they are written
    next: str | None


# A member's fields as a file's columns (the JSON answer's, in this order), for ``member_rows``
MEMBER_COLUMNS = (
    "id",
    "union_id",
    "admitted_union_id",
    "admitted_on",
    "gender",
    "full_name",
    "birth_date",
    "id_number",
    "left_on",
    "leave_reason",
    "status",
    "personal_data_erased",
    "version",
    "recorded_at",
    "updated_at",
)


def iso_micros(value: int | None, seconds_seen: dict[int, str]) -> str | None:
    """An instant kept as microseconds, in ISO 8601 as the JSON answer writes it (UTC, the
    microseconds left out when 0); ``seconds_seen`` keeps each second's text, which an import's
    thousands of rows share."""
    if value is None:
        return None
    seconds, us = divmod(value, 1_000_000)
    prefix = seconds_seen.get(seconds)
    if prefix is None:
        prefix = seconds_seen[seconds] = datetime.fromtimestamp(seconds, tz=UTC).isoformat()[: -len("+00:00")]
    return f"{prefix}.{us:06d}+00:00" if us else f"{prefix}+00:00"


def _member_file_rows(
    rows: list[tuple], opening: Callable[[], dict[str, dict | None]], as_text: bool = False
) -> Iterator[tuple]:
    """A file's page of members as rows of MEMBER_COLUMNS, made as they are written: the page's
    personal data is waited for only then (``opening`` answers it), so the statement of the next
    page and the opening of this one overlap with the writing of the one before. ``as_text``: dates
    and booleans as a CSV writes them (ISO 8601, ``true``/``false`` as JSON does), not as objects."""
    opened = opening()
    days: dict[int | None, Any] = {None: None}
    seconds: dict[int, str] = {}
    born: dict[str, Any] = {}
    erased, kept = ("true", "false") if as_text else (True, False)
    made = date.isoformat if as_text else _same
    for member_id, union, first, admitted, gender, _sealed, left, reason, version, at, updated, _key in rows:
        personal = opened.get(member_id)
        if admitted not in days:
            days[admitted] = made(from_day(admitted))
        if left not in days:
            days[left] = made(from_day(left))
        if personal:
            birth = personal.get("birth_date")
            name, number = personal.get("full_name"), personal.get("id_number")
            birth_date = born.get(birth) or born.setdefault(birth, made(date.fromisoformat(birth))) if birth else None
        else:
            name = birth_date = number = None
        yield (
            member_id,
            union,
            first,
            days[admitted],
            gender,
            name,
            birth_date,
            number,
            days[left],
            reason,
            "active" if left is None else "left",
            erased if personal is None else kept,
            version,
            iso_micros(at, seconds),
            iso_micros(updated, seconds),
        )


def _same(value: Any) -> Any:
    return value


class RegisterReads:
    """``personal``: whether the principal sees members' personal data (policy.SEES_PERSONAL_DATA);
    without it, ``full_name``, ``birth_date`` and ``id_number`` are null in every answer."""

    def __init__(self, store: Any, personal: bool = True):
        self.store = store
        self.personal = personal
        self._current = False
        self._lists = RegisterLists(store.transaction)

    @property
    def _views(self) -> Any:
        """The views, brought up to date before the first read of this use case."""
        if not self._current:
            self.store.fresh()
            self._current = True
        return self.store.views

    def _fresh(self) -> Any:
        return self._views

    def today(self) -> date:
        return self.store.today()

    # ---- entities ---------------------------------------------------------------------------------
    def unit(self, unit_id: str) -> dict | None:
        return self._views.unit(unit_id)

    def workplace(self, workplace_id: str) -> dict | None:
        return self._views.workplace(workplace_id)

    def union(self, union_id: str) -> dict | None:
        return self._views.union(union_id)

    def union_rating(self, union_id: str | None, on: date) -> str | None:
        """The union's rating standing on ``on`` (as ``unions_rated_good_pct`` takes it), or None."""
        self._fresh()
        return self._views.union_rating(union_id, on)

    def member(self, member_id: str) -> dict | None:
        return self.members([member_id]).get(member_id)

    def members(self, member_ids: list[str]) -> dict[str, dict]:
        """The members as answered, personal data opened, read at once."""
        rows = self._views.members(member_ids)
        opened = self.store.vault.unseal_many((m, row["personal"]) for m, row in rows.items())
        answers = {m: member_answer(row, opened.get(m)) for m, row in rows.items()}
        if not self.personal:
            for answer in answers.values():
                answer.update(dict.fromkeys(PERSONAL_FIELDS))
        return answers

    def entity(self, kind: str, entity_id: str) -> dict | None:
        """The current state of a unit, workplace, union, member, target or report (None: none)."""
        read = {
            "unit": self.unit,
            "workplace": self.workplace,
            "union": self.union,
            "member": self.member,
            "target": self.target,
            "report": self.report,
        }[kind]
        return read(entity_id)

    def history(self, kind: str, entity_id: str) -> list[dict]:
        """An entity's events, oldest first."""
        entries, _next = self._views.audit(entity_type=kind, entity_id=entity_id, limit=100_000)
        return self._opened(entries)

    # ---- the audit trail ---------------------------------------------------------------------------
    def audit(
        self,
        *,
        entity_type: str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> tuple[list[dict], int | None]:
        entries, cursor = self._views.audit(
            entity_type=entity_type,
            entity_id=entity_id,
            actor=actor,
            after=after,
            limit=limit,
            since=micros(since) if since else None,
            until=micros(until) if until else None,
        )
        return self._opened(entries), cursor

    def _opened(self, entries: list[dict]) -> list[dict]:
        """Audit entries with each admission's personal data opened (null once erased)."""
        sealed = [(e["entity_id"], e["data"]["personal"]) for e in entries if "personal" in e["data"]]
        opened = self.store.vault.unseal_many(sealed) if sealed else {}
        for entry in entries:
            data = entry["data"]
            if "personal" in data:
                personal = opened.get(entry["entity_id"])
                data.pop("personal")
                for key in PERSONAL_FIELDS:
                    data[key] = personal.get(key) if personal and self.personal else None
                data["personal_data_erased"] = personal is None
        return entries

    # ---- figures --------------------------------------------------------------------------------------
    def question(
        self, period: str, unit_id: str | None = None, as_of: date | None = None, known_at: datetime | None = None
    ) -> Question:
        """A question as the API asks it: ``as_of`` by default the period's last day, or today while
        it runs; never in the future; the unit must exist."""
        span = parse_period(period)
        today = self.today()
        as_of = as_of or min(span.end, today)
        if as_of > today:
            raise InvalidValue("may not lie in the future", field="as_of")
        if unit_id and self.unit(unit_id) is None:
            raise NotFound(f"unit {unit_id!r} does not exist", field="unit_id")
        return Question(span, unit_id, as_of, micros(known_at) if known_at else None)

    def figures(self, question: Question, indicators: Iterable[Indicator] | None = None) -> dict[str, float | int]:
        """Every indicator asked (default: every base code) for the question."""
        self._fresh()  # before the columns are read
        wanted = list(indicators) if indicators is not None else [parse_indicator(code) for code in BASE_CODES]
        return self.store.indicators.figures(wanted, question)

    def figures_and_parts(
        self, question: Question, indicators: list[Indicator]
    ) -> tuple[dict[str, float | int], dict[str, tuple[int, int]]]:
        """The figures as ``figures`` gives them, and each percentage's numerator and denominator."""
        self._fresh()
        return self.store.indicators.figures_and_parts(indicators, question)

    def indicators(
        self,
        period: str,
        unit_id: str | None = None,
        as_of: date | None = None,
        known_at: datetime | None = None,
        codes: str | None = None,
        group_by: str | None = None,
    ) -> dict[str, Any]:
        """The /indicators answer: the figures of the codes asked (comma-separated, default every
        base code) for the period, unit, cut-off and state of knowledge, with the question as read;
        with ``group_by``, the same figures for each unit, union, sector or gender as well."""
        if group_by is not None and group_by not in GROUP_BY:
            raise InvalidValue(f"must be one of {', '.join(GROUP_BY)}", field="group_by")
        question = self.question(period, unit_id, as_of, known_at)
        wanted = [parse_indicator(code, field="indicators") for code in self._codes(codes)]
        answer: dict[str, Any] = {
            "period": question.period.code,
            "unit_id": question.unit_id,
            "as_of": question.as_of,
            "known_at": known_at,
        }
        if group_by is None:
            return {**answer, "figures": self.figures(question, wanted)}
        self._fresh()  # before the columns are read
        figures, groups = self.store.indicators.breakdown(wanted, question, group_by)
        return {
            **answer,
            "figures": figures,
            "group_by": group_by,
            "groups": [{"key": g.key, "name": g.name, "figures": g.figures} for g in groups],
        }

    @staticmethod
    def _codes(codes: str | None) -> list[str]:
        return [c.strip() for c in codes.split(",") if c.strip()] if codes else list(BASE_CODES)

    def series(
        self,
        period: str,
        step: str,
        unit_id: str | None = None,
        known_at: datetime | None = None,
        codes: str | None = None,
        as_of: date | None = None,
    ) -> dict[str, Any]:
        """The /indicators/series answer: a point per month, quarter or year (``step``) of the period
        up to today (or the earlier ``as_of``), at the step's last day (that day for the running
        step): stocks on that day, flows over the step's own days."""
        if step not in STEPS:
            raise InvalidValue(f"must be one of {', '.join(STEPS)}", field="step")
        span = parse_period(period)
        wanted = [parse_indicator(code, field="indicators") for code in self._codes(codes)]
        if unit_id and self.unit(unit_id) is None:
            raise NotFound(f"unit {unit_id!r} does not exist", field="unit_id")
        last, k = min(as_of or self.today(), self.today()), micros(known_at) if known_at else None
        questions = [Question(s, unit_id, min(s.end, last), k) for s in steps(span, step) if s.start <= last]
        self._fresh()  # before the columns are read
        points = self.store.indicators.series(wanted, questions)
        return {
            "period": span.code,
            "unit_id": unit_id,
            "step": step,
            "known_at": known_at,
            "points": [{"as_of": q.as_of, "figures": f} for q, f in zip(questions, points)],
        }

    def draft(self, period: str, unit_id: str | None = None, as_of: date | None = None) -> tuple[Question, dict]:
        """A report's figures as the ledger has them: every base indicator for the unit (None: the
        whole tenant), the period and the cut-off, as recorded so far."""
        question = self.question(period, unit_id, as_of)
        return question, self.figures(question)

    # ---- targets and reports ---------------------------------------------------------------------------
    def target(self, target_id: str) -> dict | None:
        self._fresh()
        return self.store.plans.target(target_id)

    def targets(self, period: str | None, unit_id: str | None) -> list[dict]:
        self._fresh()
        return self.store.plans.targets(period, unit_id, whole_tenant=False)

    def progress(self, period: str, unit_id: str | None, as_of: date | None) -> dict[str, Any]:
        """Each target of the unit (None: the whole tenant) for the period, against the figure at
        ``as_of`` (default the period's last day, or today while it runs)."""
        span = parse_period(period)
        as_of = as_of or min(span.end, self.today())
        if unit_id and self.unit(unit_id) is None:
            raise NotFound(f"unit {unit_id!r} does not exist", field="unit_id")
        return {
            "period": span.code,
            "unit_id": unit_id,
            "as_of": as_of,
            "lines": self.store.plans.progress(span, unit_id, as_of),
        }

    def report(self, report_id: str) -> dict | None:
        self._fresh()
        return self.store.plans.report(report_id)

    def reports(self, period: str | None, unit_id: str | None) -> list[dict]:
        self._fresh()
        return self.store.plans.reports(period, unit_id, whole_tenant=False)

    def tenant_reports(self, period: str | None) -> list[dict]:
        """The reports for the whole tenant (no unit), oldest first."""
        self._fresh()
        return self.store.plans.reports(period, None, whole_tenant=True)

    def verification(self, report: dict) -> dict:
        """The report's figures recomputed as the register stood at its submission and stands now."""
        self._fresh()
        return self.store.plans.verify(report)

    # ---- lists ------------------------------------------------------------------------------------------
    def _day(self, as_of: date | None) -> date:
        """The date a list is about: today unless given; never in the future."""
        today = self.today()
        if as_of is not None and as_of > today:
            raise InvalidValue("may not lie in the future", field="as_of")
        return as_of or today

    def _under(self, unit_id: str | None, on: date) -> list[str] | None:
        """The unions under a unit on a date (None: no unit asked); 404 for a unit that does not exist."""
        if unit_id is None:
            return None
        if self.unit(unit_id) is None:
            raise NotFound(f"unit {unit_id!r} does not exist", field="unit_id")
        return self._lists.unions_under(self._lists.units_under(unit_id, on), on)

    def _page(self, ids: list[str], limit: int, items: dict[str, dict]) -> Page:
        more = len(ids) > limit
        ids = ids[:limit]
        return Page([items[i] for i in ids if i in items], cursor_of(ids[-1]) if more and ids else None)

    def unit_page(
        self,
        *,
        as_of: date | None = None,
        parent_id: str | None = None,
        after: str | None = None,
        limit: int = LIMIT,
        among: set[str] | None = None,
    ) -> Page:
        """Units active on ``as_of`` (default today), under ``parent_id`` that day if given, among
        ``among`` if given (a scope's units)."""
        on = self._day(as_of)
        self._fresh()
        if parent_id is not None and self.unit(parent_id) is None:
            raise NotFound(f"unit {parent_id!r} does not exist", field="parent_id")
        ids = self._lists.unit_ids(on, parent_id, after_cursor(after), limit + 1, among)
        return self._page(ids, limit, self.store.views.units(ids[:limit]))

    def unit_tree(self, as_of: date | None = None) -> dict[str, Any]:
        on = self._day(as_of)
        self._fresh()
        return {"as_of": on, "roots": self._lists.tree(on)}

    def workplace_page(
        self,
        *,
        as_of: date | None = None,
        unit_id: str | None = None,
        sector: str | None = None,
        min_workers: int | None = None,
        covered: bool | None = None,
        after: str | None = None,
        limit: int = LIMIT,
    ) -> Page:
        """Workplaces registered by ``as_of``: under a unit that day, of a sector, with at least
        ``min_workers`` at their latest survey by then, with or without an active union then."""
        on = self._day(as_of)
        self._fresh()
        units = None
        if unit_id is not None:
            if self.unit(unit_id) is None:
                raise NotFound(f"unit {unit_id!r} does not exist", field="unit_id")
            units = self._lists.units_under(unit_id, on)
        ids = self._lists.workplace_ids(
            on,
            units=units,
            sector=sector,
            min_workers=min_workers,
            covered=covered,
            after=after_cursor(after),
            limit=limit + 1,
        )
        return self._page(ids, limit, self.store.views.workplaces(ids[:limit]))

    def union_page(
        self,
        *,
        as_of: date | None = None,
        unit_id: str | None = None,
        status: str | None = None,
        after: str | None = None,
        limit: int = LIMIT,
    ) -> Page:
        """Unions founded by ``as_of``: under a unit that day, active or dissolved then."""
        on = self._day(as_of)
        self._fresh()
        ids = self._lists.union_ids(
            on, unions=self._under(unit_id, on), status=status, after=after_cursor(after), limit=limit + 1
        )
        return self._page(ids, limit, self.store.views.unions(ids[:limit]))

    def _member_filter(
        self,
        as_of: date | None,
        union_id: str | None,
        unit_id: str | None,
        q: str | None,
        id_number: str | None,
    ) -> tuple[date, list[str] | None, Sequence[str] | None] | None:
        """The day, the unions and the members found by a list's filters (None: none can match)."""
        on = self._day(as_of)
        self._fresh()
        unions = self._under(unit_id, on)
        if union_id is not None:
            if self.union(union_id) is None:
                raise NotFound(f"union {union_id!r} does not exist", field="union_id")
            unions = [union_id] if unions is None or union_id in unions else []
        among = self.store.vault.search(search_words(q or ""), id_number)
        if (among is not None and not among) or unions == []:
            return None
        return on, unions, among

    def member_page(
        self,
        *,
        as_of: date | None = None,
        union_id: str | None = None,
        unit_id: str | None = None,
        status: str | None = None,
        gender: str | None = None,
        q: str | None = None,
        id_number: str | None = None,
        after: str | None = None,
        limit: int = LIMIT,
    ) -> Page:
        """Members admitted by ``as_of``: in a union or under a unit that day, active then or gone by
        then, of a gender, whose name holds every word of ``q`` (case and diacritics aside) or whose
        id number is ``id_number``; found through the blind index, never by opening the register."""
        found = self._member_filter(as_of, union_id, unit_id, q, id_number)
        if found is None:
            return Page([], None)
        on, unions, among = found
        ids = self._lists.member_ids(
            on, unions=unions, status=status, gender=gender, among=among, after=after_cursor(after), limit=limit + 1
        )
        return self._page(ids, limit, self.members(ids[:limit]))

    def member_rows(
        self,
        *,
        as_of: date | None = None,
        union_id: str | None = None,
        unit_id: str | None = None,
        status: str | None = None,
        gender: str | None = None,
        q: str | None = None,
        id_number: str | None = None,
        after: str | None = None,
        limit: int = LIMIT,
        as_text: bool = False,
    ) -> Page:
        """``member_page``'s members as rows of MEMBER_COLUMNS (instants as ISO 8601 text; with
        ``as_text`` dates and booleans too, as a CSV writes them), read in one statement a page: a
        file of a million members is written from these, not from dicts."""
        found = self._member_filter(as_of, union_id, unit_id, q, id_number)
        if found is None:
            return Page([], None)
        on, unions, among = found
        rows = self._lists.member_rows(
            on,
            unions=unions,
            status=status,
            gender=gender,
            among=among,
            after=after_cursor(after),
            limit=limit + 1,
            key=(PERSONAL_KEY_JOIN, PERSONAL_KEY_COLUMN, PERSONAL_KEY_MEMBER),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        opening = self.store.vault.unseal_later((r[0], r[5], r[11]) for r in rows)
        return Page(_member_file_rows(rows, opening, as_text), cursor_of(rows[-1][0]) if more and rows else None)
