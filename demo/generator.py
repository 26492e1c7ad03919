"""A synthetic province of any size, for demos and benchmarks.

``generate_province(n_members, seed, today)`` draws a province with exactly ``n_members``
admissions: districts (closed on 1 July 2025 into communes, the first commune succeeding
its district), sector unions and industrial zones; workplaces of every sector and size;
grassroots unions from a few members to several thousand (log-normal sizes, plus a few
large anchor employers); admissions spread over 2015-2025, most of a union's within 90
days of its founding; and the follow-ups: member transfers (~1.5%), departures (~8%), a few
unions moving to another upper-level union, a few dissolutions (their members leave or move
first) and the 2025 reorganisation.

Everything depends only on ``seed`` and ``today``. Members are kept as two integer arrays
(union and admission day) and their rows are drawn lazily, so a million members take a few
tens of megabytes until they are imported.

``load_province(register, province)`` establishes the units, imports the workplace and union
sheets, then the member sheet (``Register.import_rows``), then runs the follow-ups in one
batch (``Register.batch``): straight to the ledger under the tenant's lock, the views caught
up before the commands whose rules read them and once at the end.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import random
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from demo.province import BRANDS, FOREIGN, GIVEN, LINES, MIDDLE, NAMES, PROFILES, REASON_WEIGHTS, SURNAMES, TRADES
from domain.commands import (
    CloseUnit,
    Command,
    DissolveUnion,
    EstablishUnit,
    RecordDeparture,
    SurveyWorkplace,
    TransferMember,
    TransferUnion,
)
from domain.errors import AlreadyExists
from domain.workplaces import SECTORS
from projections.runner import ANALYZE_AFTER

OPENED = date(2015, 1, 1)
REORGANISED = date(2025, 7, 1)
LAST_DAY = date(2025, 12, 31)
PROVINCE_CODE = "038"  # prefix of the citizen id numbers

# Thanh Hóa's districts, and places that become communes or name workplaces.
DISTRICT_NAMES = (
    "Đông Sơn",
    "Hoằng Hóa",
    "Quảng Xương",
    "Nga Sơn",
    "Hậu Lộc",
    "Thọ Xuân",
    "Yên Định",
    "Vĩnh Lộc",
    "Thiệu Hóa",
    "Triệu Sơn",
    "Nông Cống",
    "Tĩnh Gia",
    "Như Thanh",
    "Như Xuân",
    "Thạch Thành",
    "Cẩm Thủy",
    "Ngọc Lặc",
    "Lang Chánh",
    "Bá Thước",
    "Quan Hóa",
    "Quan Sơn",
    "Mường Lát",
    "Thường Xuân",
    "Hà Trung",
)
PLACES = (
    "Tân Phúc",
    "Xuân Lập",
    "Đông Tiến",
    "Hải Bình",
    "Minh Sơn",
    "Quảng Lợi",
    "Thiệu Đô",
    "Yên Trường",
    "Nga Thạch",
    "Hoằng Lộc",
    "Thọ Lập",
    "Vĩnh Hùng",
    "Định Tân",
    "Triệu Thành",
    "Cẩm Tú",
    "Ngọc Trung",
    "Bá Thiện",
    "Xuân Bái",
    "Hà Long",
    "Hậu Hiền",
    "Tĩnh Hải",
    "Nông Trường",
    "Thạch Quảng",
    "Như Lăng",
    "Lam Sơn",
    "Sao Vàng",
    "Bến Én",
    "Nghi Sơn",
    "Mai Lâm",
    "Trúc Lâm",
    "Hải Yến",
    "Thành Vân",
)
SECTOR_UNITS = (
    ("u-s-gd", "Công đoàn ngành Giáo dục"),
    ("u-s-yt", "Công đoàn ngành Y tế"),
    ("u-s-ct", "Công đoàn ngành Công Thương"),
)
SECTOR_HOME = {"public_service": ("u-s-gd", "u-s-yt"), "state_enterprise": ("u-s-ct",)}  # may sit under a sector union

# Sector mix of unionised workplaces by size of the union, and of the workplaces without one.
BIG, MID, SMALL, BARE = (
    {"fdi_enterprise": 50, "private_enterprise": 25, "state_enterprise": 20, "public_service": 5},
    {
        "private_enterprise": 35,
        "public_service": 25,
        "state_enterprise": 15,
        "fdi_enterprise": 10,
        "state_agency": 10,
        "other": 3,
        "cooperative": 2,
    },
    {
        "private_enterprise": 30,
        "public_service": 25,
        "state_agency": 20,
        "cooperative": 10,
        "other": 10,
        "state_enterprise": 5,
    },
    {
        "private_enterprise": 45,
        "other": 20,
        "cooperative": 15,
        "public_service": 5,
        "state_agency": 5,
        "state_enterprise": 5,
        "fdi_enterprise": 5,
    },
)
SIZE_MEDIAN, SIZE_SIGMA, SIZE_MAX = 18, 1.35, 8000  # members of a union: log-normal, 3..8000
ANCHOR_EVERY = 100_000  # one anchor employer of 2,000-6,000 members per this many members
EXISTING_SHARE = 0.35  # of unions, there when the register opened (entered in early 2015)
BARE_SHARE = 0.4  # workplaces without a union, per union
TRANSFER_RATE, LEAVE_RATE = 0.015, 0.08  # of members
PHASE = {
    verb: i
    for i, verb in enumerate(
        ("transfer_union", "survey_workplace", "transfer_member", "record_departure", "dissolve_union", "close_unit")
    )
}
FOLLOWUPS: dict[str, type[Command]] = {
    "transfer_union": TransferUnion,
    "survey_workplace": SurveyWorkplace,
    "transfer_member": TransferMember,
    "record_departure": RecordDeparture,
    "dissolve_union": DissolveUnion,
    "close_unit": CloseUnit,
}

_SURNAMES = [name for name, weight in SURNAMES for _ in range(weight)]
_REASONS = [reason for reason, weight in REASON_WEIGHTS.items() for _ in range(weight)]


def member_name(rng: random.Random, gender: str) -> str:
    """A member's full name as the province's registers hold them: surname, middle name, given name."""
    return f"{rng.choice(_SURNAMES)} {rng.choice(MIDDLE[gender])} {rng.choice(GIVEN[gender])}"


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(tuple(weights), tuple(weights.values()))[0]


class _Draft(NamedTuple):
    """A union to draw, with its workplace (days as ordinals)."""

    size: int  # members
    sector: str
    workers: int
    female: int
    wp_unit: str
    as_of: int  # the workplace's registration
    union_unit: str
    founded: int
    district: str


class _Bare(NamedTuple):
    """A workplace without a union (days as ordinals)."""

    sector: str
    workers: int
    female: int
    unit: str
    as_of: int
    district: str


def _birth(i: int, admitted: int) -> int:
    """A member's birth day (ordinal), 18-57 years before admission, fixed by the member's index."""
    h = (i * 2654435761 + 97) & 0xFFFFFFFF
    return admitted - 18 * 365 - h % (39 * 365)


@dataclass
class Province:
    """A drawn province: units, sheets to import, follow-up commands (all lazily turned into rows)."""

    seed: int
    today: date
    units: list[dict[str, Any]]  # establish_unit kwargs, in order
    workplaces: list[tuple]  # (id, name, sector, unit_id, workers, female_workers, as_of)
    unions: list[tuple]  # (id, name, workplace_id, unit_id, founded_on, decision_no)
    union_female: array  # each union's share of women, for its members' genders
    member_union: array  # union index of each member, members in admission order
    member_day: array  # admission day (ordinal) of each member
    dissolved: set[int] = field(default_factory=set)  # union indices
    _followups: list[tuple] = field(default_factory=list)  # (day, phase, seq, verb, a, b), sorted

    @property
    def n_members(self) -> int:
        return len(self.member_day)

    def member_id(self, i: int) -> str:
        return f"dv-{i + 1:07d}"

    def counts(self) -> dict[str, int]:
        verbs = Counter(f[3] for f in self._followups)
        return {
            "units": len(self.units),
            "workplaces": len(self.workplaces),
            "unions": len(self.unions),
            "members": self.n_members,
            **verbs,
        }

    @property
    def steps(self) -> int:
        """Everything load_province records (for a progress bar)."""
        return len(self.units) + len(self.workplaces) + len(self.unions) + self.n_members + len(self._followups)

    # ---- import sheets ({kind: [(line, {column: value})]}, lazily) ------------------------
    def workplace_rows(self) -> Iterator[tuple[int, dict]]:
        keys = ("id", "name", "sector", "unit_id", "workers", "female_workers", "as_of")
        for line, w in enumerate(self.workplaces, 2):
            yield line, dict(zip(keys, w))

    def union_rows(self) -> Iterator[tuple[int, dict]]:
        keys = ("id", "name", "workplace_id", "unit_id", "founded_on", "decision_no")
        for line, u in enumerate(self.unions, 2):
            yield line, dict(zip(keys, u))

    def member_rows(self) -> Iterator[tuple[int, dict]]:
        """Members with names, genders and (mostly) birth dates and citizen id numbers."""
        rng = random.Random(self.seed * 1009 + 1)
        unions, female = self.unions, self.union_female
        for i, (u, on) in enumerate(zip(self.member_union, self.member_day)):
            gender = "female" if rng.random() < female[u] else "male"
            row = {
                "id": self.member_id(i),
                "union_id": unions[u][0],
                "admitted_on": date.fromordinal(on),
                "full_name": member_name(rng, gender),
                "gender": gender,
            }
            if rng.random() < 0.9:
                born = date.fromordinal(_birth(i, on))
                row["birth_date"] = born
                if rng.random() < 0.94:
                    # Citizen id: province, century and gender, year of birth, a serial unique per member.
                    century = (0 if born.year < 2000 else 2) + (gender == "female")
                    serial = (i * 7919 + self.seed) % 10**6
                    row["id_number"] = f"{PROVINCE_CODE}{century}{born.year % 100:02d}{serial:06d}"
            yield i + 2, row

    def sheets(self) -> dict[str, Iterator[tuple[int, dict]]]:
        return {"workplaces": self.workplace_rows(), "unions": self.union_rows(), "members": self.member_rows()}

    # ---- follow-ups ---------------------------------------------------------------------
    def followups(self, actor: str) -> Iterator[Command]:
        """The follow-up commands, in business-date order."""
        for verb, kwargs in self._followup_arguments():
            yield FOLLOWUPS[verb](**kwargs, actor=actor)

    def _followup_arguments(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for day, _, _, verb, a, b in self._followups:
            on = date.fromordinal(day)
            if verb == "transfer_member":
                yield verb, {"member_id": self.member_id(a), "to_union_id": self.unions[b][0], "effective_on": on}
            elif verb == "record_departure":
                reason = _REASONS[b]
                if reason == "retired" and day - _birth(a, self.member_day[a]) < 55 * 365:
                    reason = "changed_job"  # too young to retire
                yield verb, {"member_id": self.member_id(a), "left_on": on, "reason": reason}
            elif verb == "transfer_union":
                yield verb, {"union_id": self.unions[a][0], "to_unit_id": b, "effective_on": on}
            elif verb == "survey_workplace":
                yield verb, {"workplace_id": a, "workers": 0, "female_workers": 0, "as_of": on}
            elif verb == "dissolve_union":
                yield (
                    verb,
                    {
                        "union_id": self.unions[a][0],
                        "dissolved_on": on,
                        "reason": "Doanh nghiệp giải thể, không còn người lao động",
                    },
                )
            elif verb == "close_unit":
                yield verb, {"unit_id": a, "closed_on": on, "successor_id": b}

    def open_unions(self) -> list[tuple[str, date]]:
        """(id, founded_on) of the unions never dissolved."""
        return [(u[0], u[4]) for k, u in enumerate(self.unions) if k not in self.dissolved]


def generate_province(n_members: int, seed: int = 1, today: date | None = None) -> Province:
    """Draw a province with exactly ``n_members`` admissions (see the module docstring)."""
    if n_members < 1:
        raise ValueError("n_members must be at least 1")
    today = today or date.today()
    if today < date(2016, 1, 1):
        raise ValueError("the province's history runs 2015-2025; today must be 2016 or later")
    rng = random.Random(seed)
    last = min(today, LAST_DAY).toordinal()
    reorganised = today >= REORGANISED
    reorg = REORGANISED.toordinal()

    # ---- units --------------------------------------------------------------------------------
    n_districts = max(4, min(len(DISTRICT_NAMES), round(n_members / 40_000) + 3))
    n_zones = max(1, min(6, n_members // 150_000 + 1))
    districts = [(f"u-d{k + 1:02d}", DISTRICT_NAMES[k]) for k in range(n_districts)]
    district_weight = {d: rng.uniform(0.5, 2.0) for d, _ in districts}
    communes: dict[str, list[str]] = {}
    units = [
        {"id": d, "name": f"LĐLĐ huyện {name}", "kind": "district", "established_on": OPENED} for d, name in districts
    ]
    units += [{"id": s, "name": name, "kind": "sector", "established_on": OPENED} for s, name in SECTOR_UNITS]
    zones = [f"u-kcn{k + 1}" for k in range(n_zones)]
    units += [
        {
            "id": z,
            "name": f"Công đoàn Khu công nghiệp {PLACES[-1 - k]}",
            "kind": "industrial_zone",
            "established_on": OPENED,
        }
        for k, z in enumerate(zones)
    ]
    places = list(PLACES)
    rng.shuffle(places)
    if reorganised:
        for k, (d, name) in enumerate(districts):
            communes[d] = [f"{d}-c{i}" for i in range(1, rng.randint(2, 4) + 1)]
            for i, c in enumerate(communes[d]):
                label = name if i == 0 else places[(3 * k + i) % len(places)]
                units.append(
                    {"id": c, "name": f"Công đoàn xã {label}", "kind": "commune", "established_on": REORGANISED}
                )
    district_ids = [d for d, _ in districts]
    district_name = dict(districts)

    def district() -> str:
        return rng.choices(district_ids, [district_weight[d] for d in district_ids])[0]

    def home(sector: str, d: str, on: int) -> str:
        """The unit a workplace of ``sector`` in district ``d`` registered on day ``on`` is placed under."""
        if sector == "fdi_enterprise" and rng.random() < 0.7:
            return rng.choice(zones)
        if sector in SECTOR_HOME and rng.random() < 0.35:
            return rng.choice(SECTOR_HOME[sector])
        return rng.choice(communes[d]) if reorganised and on >= reorg else d

    def day_between(lo: int, hi: int) -> int:
        return lo + rng.randint(0, max(0, hi - lo))

    # ---- unions and their workplaces ------------------------------------------------------
    sizes = [rng.randint(2000, 6000) for _ in range(n_members // ANCHOR_EVERY)]
    total = sum(sizes)
    if total > n_members:
        sizes, total = [], 0
    while total < n_members:
        s = min(SIZE_MAX, max(3, round(math.exp(rng.gauss(math.log(SIZE_MEDIAN), SIZE_SIGMA)))))
        s = min(s, n_members - total)
        sizes.append(s)
        total += s
    rng.shuffle(sizes)
    opened, first_late, last_registration = OPENED.toordinal(), date(2015, 3, 1).toordinal(), last - 60
    drafts: list[_Draft] = []
    for s in sizes:
        sector = _pick(rng, BIG if s >= 500 else MID if s >= 50 else SMALL)
        workers = math.ceil(s / rng.uniform(0.55, 0.95))
        female = round(workers * rng.uniform(*PROFILES[sector][3]))
        d = district()
        if s >= 2000 or rng.random() < EXISTING_SHARE:
            as_of = opened + rng.randint(1, 60)
            founded = as_of + rng.randint(0, 120)
        else:
            as_of = day_between(first_late, last_registration)
            founded = min(as_of + int(rng.expovariate(1 / 150)), max(as_of, last - 45))
        wp_unit = home(sector, d, as_of)
        # The union sits where its workplace is; founded after the reorganisation, under the district's successor.
        union_unit = communes[d][0] if wp_unit == d and reorganised and founded >= reorg else wp_unit
        drafts.append(_Draft(s, sector, workers, female, wp_unit, as_of, union_unit, founded, d))
    bare: list[_Bare] = []
    for k in range(round(BARE_SHARE * len(drafts)) or 1):
        sector = SECTORS[k] if k < len(SECTORS) else _pick(rng, BARE)  # every sector at least once
        workers = min(400, max(1, round(math.exp(rng.gauss(math.log(8), 0.9)))))
        d = district()
        as_of = day_between(opened + 1, last_registration)
        bare.append(
            _Bare(sector, workers, round(workers * rng.uniform(*PROFILES[sector][3])), home(sector, d, as_of), as_of, d)
        )

    # Workplaces and unions get ids in order of registration and founding.
    names: Counter[str] = Counter()

    def workplace_name(sector: str, d: str) -> str:
        name = rng.choice(NAMES[sector]).format(
            trade=rng.choice(TRADES),
            brand=rng.choice(BRANDS),
            place=rng.choice(PLACES),
            district=district_name[d],
            foreign=rng.choice(FOREIGN),
            line=rng.choice(LINES),
        )
        names[name] += 1
        return name if names[name] == 1 else f"{name} số {names[name]}"

    everything = [(dr.as_of, 0, k) for k, dr in enumerate(drafts)] + [(b.as_of, 1, k) for k, b in enumerate(bare)]
    everything.sort()
    workplaces: list[tuple] = []
    wp_at: dict[int, tuple[str, int]] = {}  # draft -> (workplace id, workers)
    for n, (as_of, is_bare, k) in enumerate(everything, 1):
        wid = f"wp-{n:06d}"
        if is_bare:
            sector, workers, female, unit, _, d = bare[k]
        else:
            _, sector, workers, female, unit, _, _, _, d = drafts[k]
            wp_at[k] = (wid, workers)
        workplaces.append((wid, workplace_name(sector, d), sector, unit, workers, female, date.fromordinal(as_of)))
    del bare, everything
    order = sorted(range(len(drafts)), key=lambda k: (drafts[k].founded, k))
    drafts = [drafts[k] for k in order]
    wp_of = [wp_at[k] for k in order]
    unions: list[tuple] = []
    decisions: Counter[tuple[str, int]] = Counter()
    for n, dr in enumerate(drafts):
        unit, founded_on = dr.union_unit, date.fromordinal(dr.founded)
        decisions[unit, founded_on.year] += 1
        issuer = (
            "LĐLĐ"
            if unit.startswith("u-d") and "-c" not in unit
            else "CĐN"
            if unit.startswith("u-s")
            else "CĐKCN"
            if unit.startswith("u-kcn")
            else "CĐX"
        )
        wid = wp_of[n][0]
        unions.append(
            (
                f"cd-{n + 1:06d}",
                f"Công đoàn cơ sở {workplaces[int(wid[3:]) - 1][1]}",
                wid,
                unit,
                founded_on,
                f"{decisions[unit, founded_on.year]}/QĐ-{issuer}",
            )
        )
    union_female = array("d", (dr.female / dr.workers if dr.workers else 0.5 for dr in drafts))
    founded_days = [dr.founded for dr in drafts]

    # ---- dissolutions and union transfers --------------------------------------------------
    followups: list[tuple] = []

    def follow(day: int, verb: str, a: Any, b: Any = None) -> None:
        followups.append((day, PHASE[verb], len(followups), verb, a, b))

    cutoff = date(2021, 6, 30).toordinal()
    small = [k for k, dr in enumerate(drafts) if dr.size <= 30 and dr.founded <= cutoff]
    dissolved_on: dict[int, int] = {}
    for k in rng.sample(small, min(len(small), max(2 if len(drafts) >= 50 else 0, len(drafts) // 1000))):
        on = day_between(max(drafts[k].founded + 540, date(2021, 1, 1).toordinal()), min(last, reorg - 1))
        dissolved_on[k] = on
        follow(on, "survey_workplace", wp_of[k][0])
        follow(on, "dissolve_union", k)
    movable_to = district_ids + [s for s, _ in SECTOR_UNITS]
    movable = [
        k
        for k, dr in enumerate(drafts)
        if k not in dissolved_on and dr.founded < date(2024, 6, 1).toordinal() and dr.union_unit in movable_to
    ]
    for k in rng.sample(movable, min(len(movable), max(3, len(drafts) // 400))):
        on = day_between(drafts[k].founded + 30, min(last, reorg - 1))
        follow(on, "transfer_union", k, rng.choice([u for u in movable_to if u != drafts[k].union_unit]))
    if reorganised:
        for d in district_ids:
            follow(reorg, "close_unit", d, communes[d][0])

    # ---- members: a wave at the founding, the rest over a few years -----------------------------
    days = array("l")
    member_union = array("l")
    for k, dr in enumerate(drafts):
        s, founded = dr.size, dr.founded
        until = dissolved_on[k] - 60 if k in dissolved_on else last
        wave = round(s * rng.uniform(0.5, 0.8))
        filled = min(until, founded + 90 + int(365 * rng.uniform(2, 7)))
        for n in range(s):
            if n < wave or founded + 90 >= until:
                days.append(day_between(founded, min(until, founded + 90)))
            else:
                days.append(day_between(founded + 90, filled))
            member_union.append(k)
    by_day = sorted(range(len(days)), key=days.__getitem__)
    member_day = array("l", (days[i] for i in by_day))
    member_union = array("l", (member_union[i] for i in by_day))
    del by_day, days

    # ---- member transfers and departures -------------------------------------------------------
    def target(on: int, here: int) -> int | None:
        """A union founded by ``on``, never dissolved, other than ``here``."""
        limit = bisect.bisect_right(founded_days, on)
        for _ in range(10):
            k = rng.randrange(limit) if limit else None
            if k is not None and k != here and k not in dissolved_on:
                return k
        return None

    for i, (k, on) in enumerate(zip(member_union, member_day)):
        placed = on
        if k in dissolved_on:  # leave or move before the dissolution
            moved = day_between(on + 1, dissolved_on[k] - 1)
            other = target(moved, k) if rng.random() < 0.25 else None
            if other is None:
                follow(moved, "record_departure", i, rng.randrange(len(_REASONS)))
                continue
            follow(moved, "transfer_member", i, other)
            placed = moved
        elif rng.random() < TRANSFER_RATE and on + 30 < last:
            moved = day_between(on + 30, last)
            other = target(moved, k)
            if other is not None:
                follow(moved, "transfer_member", i, other)
                placed = moved
        if rng.random() < LEAVE_RATE and placed < last:
            follow(day_between(placed + 1, last), "record_departure", i, rng.randrange(len(_REASONS)))
    followups.sort()
    return Province(
        seed, today, units, workplaces, unions, union_female, member_union, member_day, set(dissolved_on), followups
    )


# ---- loading ------------------------------------------------------------------------------------
def load_province(
    register: Any, province: Province, actor: str = "generator", progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Record ``province`` through a tenant's register; returns counts and the seconds of each phase.

    Phases: ``units`` (EstablishUnit; existing ones are kept), ``structure`` (one import of
    the workplace and union sheets), ``members`` (one import of the member sheet; the views
    are current when it returns), ``followups`` (one batch: each command recorded straight to
    the ledger, the views caught up before each command whose rules read them, and at the
    end). ``progress(n)`` is told of every n things recorded.
    """
    seconds: dict[str, float] = {}
    tick = progress or (lambda _n: None)

    started = time.perf_counter()
    for kwargs in province.units:
        with contextlib.suppress(AlreadyExists):
            register.execute(EstablishUnit(**kwargs, actor=actor))
        tick(1)
    seconds["units"] = time.perf_counter() - started

    for phase, sheets in (
        ("structure", {"workplaces": province.workplace_rows(), "unions": province.union_rows()}),
        ("members", {"members": province.member_rows()}),
    ):
        started = time.perf_counter()
        plan = register.import_rows(sheets, actor=actor, progress=tick)
        seconds[phase] = time.perf_counter() - started
        if plan.errors:
            shown = "; ".join(f"{e.sheet} line {e.line} {e.column}: {e.message}" for e in plan.errors[:5])
            raise ValueError(f"{plan.errors_total} generated rows were refused: {shown}")

    started = time.perf_counter()
    done = 0
    with register.batch() as batch:
        for command in province.followups(actor):
            batch.execute(command)
            done += 1
            if done % 100 == 0:
                tick(100)
    if done >= ANALYZE_AFTER:
        register.store.analyze()
    tick(done % 100)
    seconds["followups"] = time.perf_counter() - started
    return {"counts": province.counts(), "seconds": seconds}
