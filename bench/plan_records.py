"""The plans' records for a generated province, in proportions like a province's own: what the
bench's register carries beside its members so that /indicators asks every code over real rows.

Per union still standing: a rating for each year from its founding's next year to 2025 (excellent
15%, good 45%, fair 30%, poor 10%, decided on 15 December), dues for each quarter of 2024 and 2025
(collected 80-105% of what is due), a training record for 2024 and 2025 (3 to 9 officials, most
trained), a women's committee for 40% of them. Per workplace with a union: a collective agreement
for 70% (three years from a day in 2019-2024), a workers' conference in 60% of the years 2023-2025.
Per member: a card for 85%, issued within 60 days of admission.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

from demo.generator import LAST_DAY, Province
from domain.commands import (
    Command,
    FoundWomensCommittee,
    HoldConference,
    RateUnion,
    RecordDues,
    RecordTraining,
    SignAgreement,
)

RATINGS = (("excellent", 0.15), ("good", 0.45), ("fair", 0.30), ("poor", 0.10))
CARD_CHUNK = 200_000  # card rows per import
CARDED, COMMITTEES, AGREEMENTS, CONFERENCES = 0.85, 0.40, 0.70, 0.60
DUES_YEARS, TRAINING_YEARS, CONFERENCE_YEARS = (2024, 2025), (2024, 2025), (2023, 2024, 2025)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def plan_commands(province: Province, actor: str, today: date) -> Iterator[Command]:
    """The commands of unions and workplaces (the cards are imported: ``card_rows``)."""
    rng = random.Random(province.seed * 7 + 25)
    last = min(today, LAST_DAY)
    ratings, weights = zip(*RATINGS)
    for index, (union_id, _name, _workplace, _unit, founded_on, _decision) in enumerate(province.unions):
        if index in province.dissolved:
            continue
        founded = _day(founded_on)
        for year in range(founded.year + 1, last.year + 1):
            decided = date(year, 12, 15)
            if decided <= today:
                rating = rng.choices(ratings, weights)[0]
                yield RateUnion(union_id=union_id, year=year, rating=rating, decided_on=decided, actor=actor)
        if rng.random() < COMMITTEES:
            on = founded + timedelta(days=rng.randint(30, 700))
            if on <= last:
                yield FoundWomensCommittee(union_id=union_id, founded_on=on, actor=actor)
        for year in DUES_YEARS:
            for quarter in range(1, 5):
                if date(year, 3 * quarter - 2, 1) <= founded:
                    continue
                due = rng.randint(20, 400) * 10_000
                collected = due * rng.randint(80, 105) // 100
                yield RecordDues(
                    union_id=union_id, period=f"{year}-Q{quarter}", due=due, collected=collected, actor=actor
                )
        for year in TRAINING_YEARS:
            if founded.year < year:
                officials = rng.randint(3, 9)
                trained = max(0, officials - rng.choice((0, 0, 0, 1, 1, 2)))
                yield RecordTraining(union_id=union_id, year=year, officials=officials, trained=trained, actor=actor)
    unionised = {u[2]: _day(u[4]) for i, u in enumerate(province.unions) if i not in province.dissolved}
    for workplace in province.workplaces:
        workplace_id, since = workplace[0], unionised.get(workplace[0])
        if since is None:
            continue
        if rng.random() < AGREEMENTS:
            signed = max(since, date(2019, 1, 1)) + timedelta(days=rng.randint(0, 5 * 365))
            if signed <= last:
                # three years, less a day (one signed on 29 February runs to the last day of February)
                expires = date(signed.year + 3, signed.month, 1) + timedelta(days=signed.day - 2)
                yield SignAgreement(workplace_id=workplace_id, signed_on=signed, expires_on=expires, actor=actor)
        for year in CONFERENCE_YEARS:
            held = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
            if held > since and held <= last and rng.random() < CONFERENCES:
                yield HoldConference(workplace_id=workplace_id, held_on=held, actor=actor)


def card_rows(province: Province, today: date) -> Iterator[tuple[int, dict[str, Any]]]:
    """The card sheet's rows: a card for 85% of the members, issued within 60 days of admission
    (none for a member who had left by then)."""
    rng = random.Random(province.seed * 7 + 26)
    last = min(today, LAST_DAY)
    left = {a: day for day, _phase, _seq, verb, a, _b in province._followups if verb == "record_departure"}
    for i, admitted in enumerate(province.member_day):
        if rng.random() < CARDED:
            issued = int(admitted) + rng.randint(0, 60)
            if issued <= last.toordinal() and issued < left.get(i, issued + 1):
                row = {
                    "member_id": province.member_id(i),
                    "card_no": f"T{i + 1:08d}",
                    "issued_on": date.fromordinal(issued),
                }
                yield i + 2, row


# Each plan command as a row of its import sheet (domain/imports.py): the sheet, and the command's fields.
SHEETS: dict[type[Command], str] = {
    RateUnion: "ratings",
    FoundWomensCommittee: "womens_committees",
    RecordDues: "dues",
    RecordTraining: "training",
    SignAgreement: "agreements",
    HoldConference: "conferences",
}


def plan_sheets(province: Province, actor: str, today: date) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """The plan commands as the rows of their import sheets, each sheet's lines numbered from 2."""
    sheets: dict[str, list[tuple[int, dict[str, Any]]]] = {sheet: [] for sheet in SHEETS.values()}
    for command in plan_commands(province, actor, today):
        rows = sheets[SHEETS[type(command)]]
        fields = {k: v for k, v in dataclasses.asdict(command).items() if k != "actor"}
        rows.append((len(rows) + 2, fields))
    return sheets


def load_plan_records(
    register: Any, province: Province, actor: str, today: date, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Import the plan records' sheets (a row the register refuses, say a rating of a union
    dissolved since, is counted and left out, and the rest imported again), then the cards'
    sheet, a chunk at a time."""
    sheets = plan_sheets(province, actor, today)
    total = sum(len(rows) for rows in sheets.values())
    plan = register.import_rows({k: iter(v) for k, v in sheets.items()}, actor=actor, errors_kept=total)
    refused = plan.errors_total
    if refused:
        wrong = {(e.sheet, e.line) for e in plan.errors}
        kept = {k: [(line, r) for line, r in rows if (k, line) not in wrong] for k, rows in sheets.items()}
        plan = register.import_rows({k: iter(v) for k, v in kept.items()}, actor=actor)
        if plan.errors:
            shown = "; ".join(f"{e.sheet} line {e.line} {e.column}: {e.message}" for e in plan.errors[:5])
            raise ValueError(f"{plan.errors_total} plan rows were refused: {shown}")
    done = total - refused
    if progress is not None:
        progress(total)
    rows = card_rows(province, today)
    while chunk := list(itertools.islice(rows, CARD_CHUNK)):
        plan = register.import_rows({"cards": iter(chunk)}, actor=actor)
        if plan.errors:
            shown = "; ".join(f"line {e.line} {e.column}: {e.message}" for e in plan.errors[:5])
            raise ValueError(f"{plan.errors_total} card rows were refused: {shown}")
        done += len(chunk)
    return {"recorded": done, "refused": refused}
