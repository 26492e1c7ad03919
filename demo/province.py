"""A demo province: a deterministic history of register commands, targets and reports.

Modelled on Quảng Trị and the 2023-2028 plan of seed 000: about 22,200 members at the end
of 2022 and 1,400-1,650 more each year after (the plan asks 28,437 by the end of 2028,
+1,300 a year); about 950 workplaces and 590 grassroots unions, covering about 89% of the
workplaces with 10 or more workers and 97% of those with 25 or more (the plan: 95% and 100%). Five district
federations close on 1 July 2025 into communes; a sector union and an economic-zone union
run throughout. The register opens in 2015, so 2015 holds the entry of the unions and
members that already existed.

Besides the register's history the stream carries the plan's targets (the whole term, each
year, each upper-level union) and the reports sent up (Decision 1454: 6-month figures as of
31 May, annual ones as of 30 November). All are honest except four that an inspector can
find with ``POST /reports/{id}/verification``:

- Hương Hóa's 2024-H1 report inflates its member figures (over_reported);
- Hương Hóa's 2024 report counts a new union's founding members whose admissions were
  entered into the register only after the report (backfilled);
- Gio Linh's first 2024 report is overtaken by a departure entered after it, back-dated
  to November (corrected_later); Gio Linh then sends a corrected report that replaces it (match).

Nothing here is verified: that is the inspector's part.

The plans' other records run alongside (``_Province.records``): yearly ratings, collective
agreements, women's committees, dues, officials' training, workers' conferences and cards for
the members admitted since 2024, up to the months before today; with the seeds' targets for
them (80% of state-sector and 60% of non-state unions rated good or better, set on the sector
union and the economic zone's; 80% of covered workplaces under an agreement by 2025; a women's
committee in every non-state union with 10 or more women; 90% of dues collected; every official
trained). The data meets some (state ratings, dues in 2025) and falls behind others (agreements,
committees, non-state ratings, training, dues in 2026).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.commands import (
    AdmitMember,
    AssignTarget,
    CloseUnit,
    Command,
    DissolveUnion,
    EstablishUnit,
    FoundUnion,
    FoundWomensCommittee,
    HoldConference,
    IssueCard,
    RateUnion,
    RecordDeparture,
    RecordDues,
    RecordTraining,
    RegisterWorkplace,
    ReviseTarget,
    SignAgreement,
    SubmitReport,
    SurveyWorkplace,
    TransferMember,
    TransferUnion,
)
from domain.indicators import SECTOR_GROUPS
from domain.members import DEPARTURE_REASONS
from domain.workplaces import SECTORS

OPENED = date(2015, 1, 1)  # the register opens; the unions of that day are entered in 2015
REORGANISED = date(2025, 7, 1)  # districts close, communes take over
LAST_DISTRICT_DAY = REORGANISED - timedelta(days=1)
LAST_REGISTRATION = date(2025, 6, 15)
LAST_FOUNDING = date(2025, 11, 20)
LAST_SURVEY = date(2025, 11, 30)
LAST_EVENT = date(2025, 12, 31)
WORKPLACES = 920  # registered by the districts, the sector and the zone; communes add a few in 2025
BASELINE_SHARE = 0.42  # of workplaces, entered in 2015 when the register opened
LATER_MAX_WORKERS = 300  # the big employers were there when the register opened
FEMALE_SHARE = 0.55
PROVINCE_CODE = "045"  # Quảng Trị's prefix in citizen id numbers

# Membership dynamics, calibrated so the figures fit the plan (module docstring).
CAP_SHARE = (0.68, 0.92)  # of its smallest workforce, the members a union aims at...
MEMBERS_AIMED = 30000  # ...scaled so that all unions together aim at about this many
WAVE_SHARE = (0.55, 0.8)  # of that aim, admitted within 90 days of the founding
FILL_YEARS = (2, 7)  # after its first 90 days, a union reaches its aim within this many years
LEAVE_RATE = 0.01  # departures per member and year
REPLACE_SHARE = 0.75  # of departures, followed by an admission in the same union
TRANSFER_RATE = 0.005  # of members, who move to another union once

# (id, district, communes after 2025 (the first succeeds the district), other places in it, weight)
DISTRICTS = tuple(
    (key, name, tuple(communes.split(", ")), tuple(places.split(", ")), weight)
    for key, name, communes, places, weight in (
        (
            "hh",
            "Hương Hóa",
            "Khe Sanh, Lao Bảo, Hướng Phùng, Tân Lập",
            "Hướng Tân, Tân Hợp, Tân Long, Tân Thành, Thuận, Thanh, A Túc, Xy, Hướng Lộc, A Dơi",
            0.26,
        ),
        (
            "dk",
            "Đakrông",
            "Đakrông, Ba Lòng, Tà Rụt",
            "Krông Klang, Mò Ó, Triệu Nguyên, Hướng Hiệp, Tà Long, Húc Nghì, A Ngo, A Vao, Ba Nang",
            0.11,
        ),
        (
            "gl",
            "Gio Linh",
            "Gio Linh, Cửa Việt, Cồn Tiên",
            "Gio Mỹ, Gio Phong, Gio Hải, Gio Việt, Gio Quang, Gio Sơn, Gio An, Trung Giang, Trung Hải",
            0.2,
        ),
        (
            "vl",
            "Vĩnh Linh",
            "Vĩnh Linh, Cửa Tùng, Vĩnh Hoàng",
            "Hồ Xá, Bến Quan, Vĩnh Thái, Vĩnh Tú, Vĩnh Giang, Vĩnh Kim, Vĩnh Long, Vĩnh Chấp, Vĩnh Lâm",
            0.23,
        ),
        (
            "tp",
            "Triệu Phong",
            "Triệu Phong, Ái Tử, Triệu Bình",
            "Triệu Thượng, Triệu Độ, Triệu Đại, Triệu Trạch, Triệu Thuận, Triệu Giang, Triệu Sơn, Triệu Long",
            0.2,
        ),
    )
)
SECTOR_UNIT, ZONE_UNIT = "u-giao-duc", "u-kkt"
ZONE_SHARE = {"fdi_enterprise": 0.7, "private_enterprise": 0.1}  # of a sector, placed in the economic zone
ISSUER = {SECTOR_UNIT: "CĐN", ZONE_UNIT: "CĐKKT"}  # who signs a founding decision; districts: LĐLĐ

# The plan (seed 000) and how the province hands it down.
PLAN_DECISION, PLAN_DAY = "130/KH-LĐLĐ", date(2023, 1, 15)
TERM = "2023-2028"
TERM_TARGETS = {"members_total": 28437, "coverage_pct": 95, "coverage_pct@25": 100, "members_net_growth": 7800}
YEARLY_NET_GROWTH = 1300
YEARLY_ADMISSIONS, YEARLY_FOUNDINGS = 1700, 35  # shared out by members and by unions (_Province._split)
# year: (day the yearly targets are assigned, decision)
YEARLY_DECISIONS = {
    2023: (date(2023, 1, 20), "12/QĐ-LĐLĐ"),
    2024: (date(2024, 1, 18), "08/QĐ-LĐLĐ"),
    2025: (date(2025, 1, 16), "10/QĐ-LĐLĐ"),
}
COMMUNE_DECISION = (date(2025, 7, 15), "95/QĐ-LĐLĐ")  # the new communes' targets for the rest of 2025
REVISION = (
    "u-dk",
    2024,
    date(2024, 7, 15),
    "Điều chỉnh sau sơ kết 6 tháng: hai doanh nghiệp trên địa bàn tạm ngừng hoạt động",
)

# Reports: cut-off dates per Decision 1454/QĐ-TLĐ; units send theirs on the 5th, the province on the 9th.
UNIT_CODES = ("members_total", "members_admitted", "members_left", "unions_total", "unions_founded", "coverage_pct")
TENANT_CODES = UNIT_CODES + ("members_net_growth",)
INFLATED = ("u-hh", "2024-H1", {"members_total": 1.06, "members_admitted": 1.08})
BACKFILLED = "u-hh"  # its 2024 report counts founding members entered after it
CORRECTED = "u-gl"  # a departure back-dated before its 2024 report, recorded after it; then a replacement
LATE_UNION_DAY = date(2024, 10, 18)  # the backfilled union's founding...
LATE_MEMBERS = 31  # ...and its members admitted before the cut-off, entered after the report

REPORT_DAY = date(2024, 12, 5)  # the 2024 annual reports are sent; the late entries follow them

# The plans' other records (module docstring). Chances by sector group: state, non-state.
RATED_YEARS = (2024, 2025)  # each rated in the January after it
GOOD_RATING = {"state": 0.86, "non_state": 0.56, "fdi": 0.62}  # rated good or excellent
AGREEMENT_SHARE = 0.74  # of covered workplaces, which sign one; it runs three years and is renewed
COMMITTEE_SHARE = 0.85  # of non-state and FDI unions at workplaces with 20 or more women
CONFERENCE_SHARE = {2026: 0.8}  # of covered workplaces with 10 or more workers
CARDED_FROM = date(2025, 7, 1)  # members admitted since then get a card (most of them)
# Ratings, dues and training are kept in the register by the sector and zone unions for all their
# unions, by the districts and communes for this share of theirs (the others still on paper).
RECORDING_SHARE = 0.3
DUES_PER_MEMBER = 30_000  # VND a month
# period: (collected share of what is due, low and high)
DUES_PERIODS = {"2025": (0.88, 1.03), "2026-H1": (0.76, 1.0)}
TRAINED_SHARE = {2025: (0.75, 1.0), 2026: (0.6, 1.0)}
PLAN_TARGETS_2025 = (date(2025, 1, 16), "11/QĐ-LĐLĐ")
PLAN_TARGETS_2026 = (date(2026, 1, 15), "09/QĐ-LĐLĐ")
# (unit, indicator, value): None is the whole province; ratings by the sector union (state) and the zone's (non-state).
PLAN_RECORD_TARGETS = (
    (SECTOR_UNIT, "unions_rated_good_pct", 80),
    (ZONE_UNIT, "unions_rated_good_pct", 60),
    (None, "cla_coverage_pct", 80),
    (None, "womens_committee_pct", 100),
    (None, "dues_collected_pct", 90),
    (None, "officials_trained_pct", 100),
)

# Commands issued on the same day run in this order; entries made late run after them all.
PHASE: dict[type[Command], int] = {
    command: i
    for i, command in enumerate(
        (
            EstablishUnit,
            CloseUnit,
            RegisterWorkplace,
            SurveyWorkplace,
            FoundUnion,
            TransferUnion,
            AdmitMember,
            TransferMember,
            RecordDeparture,
            DissolveUnion,
            RateUnion,
            FoundWomensCommittee,
            SignAgreement,
            HoldConference,
            IssueCard,
            RecordDues,
            RecordTraining,
            AssignTarget,
            ReviseTarget,
            SubmitReport,
        )
    )
}
LATE = len(PHASE)

# sector: (share of workplaces, median workers, spread, female share range, chance of a union
# at 10-24 workers, at 25 or more)
PROFILES = {
    "private_enterprise": (0.42, 11, 1.0, (0.25, 0.6), 0.82, 0.97),
    "public_service": (0.18, 32, 0.5, (0.55, 0.8), 0.98, 0.995),
    "state_agency": (0.10, 18, 0.45, (0.35, 0.55), 0.98, 0.995),
    "cooperative": (0.10, 9, 0.6, (0.3, 0.6), 0.7, 0.95),
    "fdi_enterprise": (0.035, 260, 1.0, (0.55, 0.85), 0.9, 0.99),
    "state_enterprise": (0.06, 70, 0.7, (0.2, 0.45), 0.95, 0.995),
    "other": (0.105, 6, 0.5, (0.3, 0.7), 0.65, 0.95),
}
assert set(PROFILES) == set(SECTORS)

TRADES = (
    "Xây dựng",
    "Thương mại",
    "Vận tải",
    "Chế biến gỗ",
    "Dịch vụ",
    "May mặc",
    "Nông sản",
    "Cà phê",
    "Du lịch",
    "Cơ khí",
    "Vật liệu xây dựng",
    "Thủy sản",
    "Khai thác đá",
)
BRANDS = (
    "Hoàng Long",
    "Minh Phát",
    "Trường Sơn",
    "Thành Đạt",
    "Phú Quý",
    "An Bình",
    "Hải Vân",
    "Tân Thành",
    "Bến Hải",
    "Quảng Phát",
    "Việt Lào",
    "Sao Mai",
    "Hưng Thịnh",
    "Nam Hải",
    "Phúc Lộc",
    "Đại Dương",
    "Thiên Ân",
    "Hiền Lương",
)
NAMES = {
    "private_enterprise": (
        "Công ty TNHH {trade} {brand}",
        "Công ty Cổ phần {trade} {brand}",
        "Công ty TNHH MTV {trade} {brand}",
        "Doanh nghiệp tư nhân {trade} {brand}",
    ),
    "fdi_enterprise": ("Công ty TNHH {foreign} {line} Việt Nam",),
    "state_enterprise": (
        "Công ty TNHH MTV Lâm nghiệp {place}",
        "Công ty TNHH MTV Thủy lợi {place}",
        "Công ty Cổ phần Môi trường đô thị {place}",
        "Công ty Cổ phần Cấp nước {place}",
    ),
    "public_service": (
        "Trường Mầm non {place}",
        "Trường Tiểu học {place}",
        "Trường THCS {place}",
        "Trường THPT {place}",
        "Trạm Y tế xã {place}",
        "Trung tâm Y tế huyện {district}",
    ),
    "state_agency": (
        "Ủy ban nhân dân xã {place}",
        "Phòng Giáo dục và Đào tạo huyện {district}",
        "Phòng Tài chính - Kế hoạch huyện {district}",
        "Bảo hiểm xã hội huyện {district}",
        "Kho bạc Nhà nước {district}",
        "Phòng Nội vụ huyện {district}",
        "Phòng Lao động - Thương binh và Xã hội huyện {district}",
        "Phòng Tài nguyên và Môi trường huyện {district}",
        "Chi cục Thuế huyện {district}",
        "Phòng Nông nghiệp và Phát triển nông thôn huyện {district}",
        "Trung tâm Văn hóa - Thể thao xã {place}",
    ),
    "cooperative": (
        "Hợp tác xã Nông nghiệp {place}",
        "Hợp tác xã Dịch vụ tổng hợp {place}",
        "Hợp tác xã Cà phê {place}",
        "Quỹ tín dụng nhân dân {place}",
    ),
    "other": (
        "Văn phòng Công chứng {brand}",
        "Văn phòng Luật sư {brand}",
        "Trung tâm Ngoại ngữ {brand}",
        "Phòng khám Đa khoa {brand}",
        "Nhà thuốc {brand}",
        "Trung tâm Tin học {brand}",
    ),
}
FOREIGN = (
    "Hanvina",
    "Koryo",
    "Sun Pacific",
    "Tokai",
    "Mekong Star",
    "Asia Wing",
    "Orient",
    "Golden Lotus",
    "Daewon",
    "Shinwon",
    "Jiahe",
    "Thai Union",
    "Lao Viet",
    "Pacific Rim",
)
LINES = ("Garment", "Wood", "Energy", "Footwear", "Food", "Electronics", "Cassava")

SURNAMES = (
    ("Nguyễn", 31),
    ("Trần", 11),
    ("Lê", 10),
    ("Hồ", 7),
    ("Phan", 5),
    ("Hoàng", 5),
    ("Võ", 5),
    ("Phạm", 5),
    ("Đặng", 3),
    ("Bùi", 3),
    ("Đỗ", 3),
    ("Ngô", 3),
    ("Dương", 2),
    ("Huỳnh", 2),
    ("Lương", 2),
    ("Trương", 2),
)
MIDDLE = {
    "female": ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Diệu"),
    "male": ("Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Xuân"),
}
GIVEN = {
    "female": (
        "Hoa",
        "Lan",
        "Hương",
        "Mai",
        "Linh",
        "Trang",
        "Thảo",
        "Hằng",
        "Nga",
        "Phương",
        "Thủy",
        "Hà",
        "Yến",
        "Nhung",
        "Loan",
        "Hạnh",
    ),
    "male": (
        "Hùng",
        "Dũng",
        "Nam",
        "Tuấn",
        "Minh",
        "Hải",
        "Long",
        "Sơn",
        "Thắng",
        "Cường",
        "Phúc",
        "Khánh",
        "Quân",
        "Trung",
        "Hiếu",
        "Bình",
    ),
}
REASON_WEIGHTS = {"changed_job": 40, "resigned": 25, "retired": 18, "other": 9, "deceased": 5, "expelled": 3}
assert set(REASON_WEIGHTS) == set(DEPARTURE_REASONS)


# ---- what build_demo fills in -----------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    """Stands for the id the service gave an earlier command's result (a target, a report),
    which that command named with its ``ref`` key."""

    name: str


@dataclass(frozen=True)
class Draft:
    """Stands for a report's figures: the ledger's own (``ledger.draft``) for the report's unit,
    period and ``as_of`` at that point of the stream, kept to ``codes``; ``plus`` adds to a
    figure (members counted before the register holds them), ``times`` inflates one."""

    codes: tuple[str, ...]
    plus: tuple[tuple[str, int], ...] = ()
    times: tuple[tuple[str, float], ...] = ()

    def figures(self, honest: dict[str, float]) -> dict[str, float]:
        out = {code: honest[code] for code in self.codes}
        for code, n in self.plus:
            out[code] += n
        for code, factor in self.times:
            out[code] = max(round(out[code] * factor), out[code] + 1)
        return out


# ---- the model the commands are drawn from ----------------------------------------------------
@dataclass
class _Workplace:
    id: str
    name: str
    sector: str
    unit_id: str
    workers: int
    as_of: date
    min_workers: int = 0


@dataclass
class _Union:
    id: str
    wp: _Workplace
    founded_on: date
    placements: list[tuple[date, str]]  # (from, unit), the founding first
    dissolved_on: date | None = None
    cap: int = 0  # members it aims at
    room: int = 0  # members it may still take by transfer, so members never outnumber workers
    late_until: date | None = None  # admissions up to this day are entered late (the backfill)

    @property
    def unit_id(self) -> str:
        return self.placements[-1][1]

    def unit_on(self, day: date, successors: dict[str, str]) -> str:
        unit = [u for start, u in self.placements if start <= day][-1]
        return successors.get(unit, unit) if day >= REORGANISED else unit


@dataclass
class _Member:
    id: str
    admitted_on: date
    birth_date: date
    unions: list[tuple[date, _Union]]  # (from, union), the admission first
    left_on: date | None = None
    reason: str | None = None
    admission_entered: date | None = None  # when later than the admission (the backfill)
    departure_entered: date | None = None  # when later than the departure (the correction)

    def union_on(self, day: date) -> _Union:
        return [u for start, u in self.unions if start <= day][-1]

    def active_on(self, day: date) -> bool:
        return self.admitted_on <= day and (self.left_on is None or self.left_on > day)


def _day(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randint(0, max(0, (hi - lo).days)))


def _workers(rng: random.Random, sector: str) -> int:
    _, median, spread, *_ = PROFILES[sector]
    return min(3000, max(3, round(median * math.exp(rng.gauss(0, spread)))))


def _female_workers(rng: random.Random, sector: str, workers: int) -> int:
    lo, hi = PROFILES[sector][3]
    return round(workers * rng.uniform(lo, hi))


def demo_commands(today: date, seed: int = 36) -> Iterator[tuple[type[Command], dict]]:
    """Yield (command, arguments) in a valid order, e.g. (EstablishUnit, {...}).

    Commands dated after ``today`` are left out. A few kwargs are for ``build_demo`` to fill
    in: a ``ref`` key names the id the command's result gets, a ``Ref`` value stands for
    such an id, ``figures=Draft(...)`` stands for the ledger's own figures at that point, and
    an ``actor`` key says who sent the command where it is not the default. Every command
    runs in the order of its business date, except the entries made late, which follow the
    report they were missing from.
    """
    province = _Province(random.Random(seed))
    province.units()
    province.workplaces()
    province.unions()
    province.members()
    province.records(today)
    province.plan()
    province.reports()
    province.events.sort(key=lambda e: e[:3])
    for day, _, _, command, kwargs in province.events:
        if day <= today:
            yield command, kwargs


class _Province:
    """The demo's history, drawn part by part; each part emits its commands."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.events: list[tuple[date, int, int, type[Command], dict[str, Any]]] = []
        self.district_ids = [f"u-{d[0]}" for d in DISTRICTS]
        self.successors = {f"u-{key}": f"u-{key}-1" for key, *_ in DISTRICTS}
        self.communes_of = {
            f"u-{key}": [f"u-{key}-{i}" for i in range(1, len(communes) + 1)] for key, _, communes, *_ in DISTRICTS
        }
        self.upper = [*self.district_ids, SECTOR_UNIT, ZONE_UNIT]  # the units before the reorganisation
        self.names: set[str] = set()
        self.workplace_list: list[_Workplace] = []
        self.union_list: list[_Union] = []
        self.member_list: list[_Member] = []
        self.dissolved: list[_Union] = []

    def emit(self, command: type[Command], day: date, *, late: bool = False, **kwargs: Any) -> None:
        """A command to run on ``day`` (after that day's others when ``late``)."""
        self.events.append((day, LATE if late else PHASE[command], len(self.events), command, kwargs))

    # ---- the register ------------------------------------------------------------------------
    def units(self) -> None:
        """Districts until the reorganisation, then communes; sector and zone throughout."""
        for key, district, communes, _, _ in DISTRICTS:
            self.emit(
                EstablishUnit,
                OPENED,
                id=f"u-{key}",
                name=f"LĐLĐ huyện {district}",
                kind="district",
                established_on=OPENED,
            )
            for i, commune in enumerate(communes, 1):
                self.emit(
                    EstablishUnit,
                    REORGANISED,
                    id=f"u-{key}-{i}",
                    name=f"Công đoàn xã {commune}",
                    kind="commune",
                    established_on=REORGANISED,
                )
            self.emit(CloseUnit, REORGANISED, unit_id=f"u-{key}", closed_on=REORGANISED, successor_id=f"u-{key}-1")
        self.emit(
            EstablishUnit, OPENED, id=SECTOR_UNIT, name="Công đoàn ngành Giáo dục", kind="sector", established_on=OPENED
        )
        self.emit(
            EstablishUnit,
            OPENED,
            id=ZONE_UNIT,
            name="Công đoàn Khu kinh tế tỉnh Quảng Trị",
            kind="industrial_zone",
            established_on=OPENED,
        )

    def _name(self, sector: str, district: tuple) -> str:
        rng = self.rng
        _, district_name, communes, places, _ = district
        for attempt in range(40):
            name = rng.choice(NAMES[sector]).format(
                trade=rng.choice(TRADES),
                brand=rng.choice(BRANDS),
                place=rng.choice(communes + places),
                district=district_name,
                foreign=rng.choice(FOREIGN),
                line=rng.choice(LINES),
            )
            if attempt >= 30:
                name = f"{name} số {attempt - 28}"
            if name not in self.names:
                break
        self.names.add(name)
        return name

    def _register(self, sector: str, unit_id: str, name: str, as_of: date, workers: int | None = None) -> _Workplace:
        workers = workers or _workers(self.rng, sector)
        wp = _Workplace(f"wp-{len(self.workplace_list) + 1:04d}", name, sector, unit_id, workers, as_of)
        self.workplace_list.append(wp)
        self.emit(
            RegisterWorkplace,
            as_of,
            id=wp.id,
            name=name,
            sector=sector,
            unit_id=unit_id,
            workers=workers,
            female_workers=_female_workers(self.rng, sector, workers),
            as_of=as_of,
        )
        return wp

    def workplaces(self) -> None:
        """Mostly small workplaces, the big employers there from the start, a few large FDI plants
        in the economic zone; after the reorganisation the new communes register what they find."""
        rng = self.rng
        sectors = list(PROFILES)
        shares = [p[0] for p in PROFILES.values()]
        weights = [d[4] for d in DISTRICTS]
        for n in range(1, WORKPLACES + 1):
            # Every sector appears at least once, the rest by share.
            sector = sectors[n - 1] if n <= len(sectors) else rng.choices(sectors, shares)[0]
            district = rng.choices(DISTRICTS, weights)[0]
            unit_id = f"u-{district[0]}"
            name = self._name(sector, district)
            workers = None
            if n <= len(sectors) and sector == "fdi_enterprise":
                workers = rng.randint(2000, 3000)  # the zone's anchor employer
                unit_id = ZONE_UNIT
            elif rng.random() < ZONE_SHARE.get(sector, 0):
                unit_id = ZONE_UNIT
            elif name.startswith("Trường") and rng.random() < 0.4:
                unit_id = SECTOR_UNIT  # schools may sit under the education union instead of the district
            if workers or rng.random() < BASELINE_SHARE:
                as_of = _day(rng, OPENED + timedelta(days=1), date(2015, 12, 31))
            else:
                as_of = _day(rng, date(2016, 1, 1), LAST_REGISTRATION)
                workers = min(LATER_MAX_WORKERS, _workers(rng, sector))
            self._register(sector, unit_id, name, as_of, workers)
        for district in DISTRICTS:
            for commune in self.communes_of[f"u-{district[0]}"][1:]:
                for _ in range(rng.randint(2, 4)):
                    sector = rng.choices(
                        ("private_enterprise", "public_service", "cooperative", "other"), (5, 2, 2, 1)
                    )[0]
                    self._register(
                        sector, commune, self._name(sector, district), _day(rng, date(2025, 7, 5), date(2025, 10, 15))
                    )
        # The workplace whose union's founding members reach the register late (the backfill).
        self.late_wp = self._register(
            "private_enterprise", BACKFILLED, "Công ty TNHH May xuất khẩu Lao Bảo", date(2024, 8, 20), 58
        )

    def unions(self) -> None:
        """Unions at nearly all public workplaces, most private ones with 25 or more workers and
        fewer small ones; a few dissolve, a few change upper-level union; later surveys."""
        rng = self.rng
        unions = self.union_list
        for wp in sorted(self.workplace_list, key=lambda w: w.as_of):
            if wp.workers < 10:
                continue
            below_25, from_25 = PROFILES[wp.sector][4:]  # the chances of a union at 10-24 workers, at 25 or more
            chance = below_25 if wp.workers < 25 else from_25
            if wp is self.late_wp:
                founded = LATE_UNION_DAY
            elif rng.random() >= chance:
                continue
            elif wp.as_of.year == 2015:
                founded = wp.as_of + timedelta(days=rng.randint(0, 120))  # existing unions, entered in turn
            elif wp.as_of >= REORGANISED:
                founded = wp.as_of + timedelta(days=rng.randint(20, 90))
            else:
                founded = wp.as_of + timedelta(days=int(rng.expovariate(1 / 150)))
            if founded > LAST_FOUNDING:
                continue
            unit = wp.unit_id
            if founded >= REORGANISED:
                unit = self.successors.get(unit, unit)
            unions.append(_Union(f"cd-{len(unions) + 1:04d}", wp, founded, [(founded, unit)]))
        unions.sort(key=lambda u: (u.founded_on, u.id))
        next(u for u in unions if u.wp is self.late_wp).late_until = date(2024, 11, 30)
        decisions: Counter[tuple[str, int]] = Counter()
        for u in unions:
            decisions[u.unit_id, u.founded_on.year] += 1
            issuer = ISSUER.get(u.unit_id, "LĐLĐ" if u.unit_id in self.district_ids else "CĐX")
            self.emit(
                FoundUnion,
                u.founded_on,
                id=u.id,
                name=f"Công đoàn cơ sở {u.wp.name}",
                workplace_id=u.wp.id,
                unit_id=u.unit_id,
                founded_on=u.founded_on,
                decision_no=f"{decisions[u.unit_id, u.founded_on.year]}/QĐ-{issuer}",
            )

        # Two or three small unions dissolve when their enterprise closes; their members go first.
        small = [
            u
            for u in unions
            if u.wp.workers < 25
            and u.wp.sector in ("private_enterprise", "cooperative")
            and u.founded_on <= date(2022, 6, 30)
        ]
        self.dissolved = rng.sample(small, rng.choice((2, 3)))
        for u in self.dissolved:
            u.dissolved_on = _day(rng, max(u.founded_on + timedelta(days=540), date(2022, 1, 1)), LAST_DISTRICT_DAY)
            self.emit(
                SurveyWorkplace, u.dissolved_on, workplace_id=u.wp.id, workers=0, female_workers=0, as_of=u.dissolved_on
            )
            self.emit(
                DissolveUnion,
                u.dissolved_on,
                union_id=u.id,
                dissolved_on=u.dissolved_on,
                reason="Doanh nghiệp giải thể, không còn người lao động",
            )
        self.open_unions = [u for u in unions if u.dissolved_on is None]

        # Later surveys change a third of the workforces; members are capped by the smallest figure.
        closing = {u.wp.id for u in self.dissolved}
        for wp in self.workplace_list:
            wp.min_workers = wp.workers
            if wp.id not in closing and wp is not self.late_wp and rng.random() < 0.33:
                as_of = _day(rng, wp.as_of + timedelta(days=90), LAST_SURVEY)
                if as_of > LAST_SURVEY:
                    continue
                workers = max(3, round(wp.workers * rng.uniform(0.75, 1.4)))
                wp.min_workers = min(wp.workers, workers)
                self.emit(
                    SurveyWorkplace,
                    as_of,
                    workplace_id=wp.id,
                    workers=workers,
                    female_workers=_female_workers(rng, wp.sector, workers),
                    as_of=as_of,
                )

        # A few unions change upper-level union before the reorganisation (never the reports' ones).
        movable = [
            u
            for u in self.open_unions
            if u.founded_on < date(2025, 1, 1) and u.unit_id not in (ZONE_UNIT, BACKFILLED, CORRECTED)
        ]
        for _ in range(6):
            u = rng.choice(movable)
            start = u.placements[-1][0] + timedelta(days=30)
            if start > LAST_DISTRICT_DAY:
                continue
            on = _day(rng, start, LAST_DISTRICT_DAY)
            to = rng.choice(
                [x for x in (*self.district_ids, SECTOR_UNIT) if x not in (u.unit_id, BACKFILLED, CORRECTED)]
            )
            u.placements.append((on, to))
            self.emit(TransferUnion, on, union_id=u.id, to_unit_id=to, effective_on=on)

    def _transfer_target(self, m: _Member, on: date) -> _Union | None:
        here = m.union_on(on)
        choices = [
            u for u in self.open_unions if u is not here and u.founded_on <= on and u.room > 0 and u.late_until is None
        ]
        return self.rng.choice(choices) if choices else None

    def members(self) -> None:
        """Each union admits most of its aim within 90 days of the founding and the rest over a few
        years; some members leave (most are replaced), a few move to another union. Members of a
        dissolving union go first; one departure reaches the register late (the correction)."""
        rng = self.rng
        members = self.member_list
        pending: list[tuple[date, _Union]] = []
        scale = MEMBERS_AIMED / (sum(u.wp.min_workers for u in self.union_list) * sum(CAP_SHARE) / 2)
        for u in self.union_list:
            u.cap = max(5, min(int(u.wp.min_workers * 0.95), int(u.wp.min_workers * rng.uniform(*CAP_SHARE) * scale)))
            u.room = u.wp.min_workers - u.cap
            last = u.dissolved_on - timedelta(days=60) if u.dissolved_on else LAST_EVENT
            wave = max(5, round(u.cap * rng.uniform(*WAVE_SHARE)))
            if u.late_until:  # the founding members, all before the report's cut-off; the rest from 2025
                dates = [u.founded_on] * 5 + [
                    _day(rng, u.founded_on, date(2024, 11, 28)) for _ in range(LATE_MEMBERS - 5)
                ]
                dates += [_day(rng, date(2025, 1, 1), LAST_EVENT) for _ in range(u.cap - LATE_MEMBERS)]
            else:
                dates = [
                    u.founded_on if i < 5 else _day(rng, u.founded_on, min(last, u.founded_on + timedelta(days=90)))
                    for i in range(wave)
                ]
                filled = u.founded_on + timedelta(days=90 + int(365 * rng.uniform(*FILL_YEARS)))
                dates += [_day(rng, u.founded_on + timedelta(days=90), filled) for _ in range(u.cap - wave)]
            pending.extend((on, u) for on in dates if on <= last)

        while pending:
            on, u = pending.pop()
            m = _Member(
                f"dv-{len(members) + 1:05d}", on, on - timedelta(days=rng.randint(18 * 366, 56 * 365)), [(on, u)]
            )
            members.append(m)
            if u.late_until and on <= u.late_until:
                # Entered late: nothing else may happen to it before it is in the register.
                m.admission_entered = REPORT_DAY
                if rng.random() < LEAVE_RATE:
                    m.left_on = _day(rng, date(2025, 1, 1), LAST_EVENT)
                continue
            if rng.random() < TRANSFER_RATE and on + timedelta(days=30) < LAST_SURVEY:
                t = _day(rng, on + timedelta(days=30), LAST_SURVEY)
                target = self._transfer_target(m, t)
                if target is not None and (u.dissolved_on is None or t < u.dissolved_on):
                    target.room -= 1
                    m.unions.append((t, target))
            left = on + timedelta(days=30 + int(rng.expovariate(LEAVE_RATE) * 365))
            if left <= LAST_EVENT and left > m.unions[-1][0]:
                m.left_on = left
                where = m.union_on(left)
                back = left + timedelta(days=rng.randint(10, 150))
                if where.dissolved_on is None and back <= LAST_EVENT and rng.random() < REPLACE_SHARE:
                    pending.append((back, where))

        # Members of a dissolving union leave or move before the dissolution date.
        for m in members:
            for u in self.dissolved:
                assert u.dissolved_on is not None  # unions() dated each dissolution
                eve = u.dissolved_on - timedelta(days=1)
                if m.admitted_on > eve or m.union_on(eve) is not u or (m.left_on and m.left_on <= eve):
                    continue
                placed = max(start for start, x in m.unions if x is u)
                del m.unions[1 + m.unions.index((placed, u)) :]
                on = _day(rng, placed + timedelta(days=1), eve)
                target = self._transfer_target(m, on) if rng.random() < 0.3 else None
                if target is not None:
                    target.room -= 1
                    m.unions.append((on, target))
                    m.left_on = None
                else:
                    m.left_on, m.reason = on, rng.choice(("changed_job", "resigned", "other"))

        # The departure recorded after Gio Linh's first 2024 report, back-dated to November.
        leaver = next(
            m
            for m in members
            if m.admitted_on < date(2024, 6, 1)
            and len(m.unions) == 1
            and m.left_on is None
            and m.unions[0][1].dissolved_on is None
            and m.unions[0][1].placements == [(m.unions[0][1].founded_on, CORRECTED)]
        )
        leaver.left_on, leaver.reason = date(2024, 11, 22), "changed_job"
        leaver.departure_entered = REPORT_DAY + timedelta(days=2)

        ids: set[str] = set()
        for m in members:
            gender = "female" if rng.random() < FEMALE_SHARE else "male"
            full_name = " ".join(
                (rng.choices(*zip(*SURNAMES))[0], rng.choice(MIDDLE[gender]), rng.choice(GIVEN[gender]))
            )
            personal: dict[str, Any] = {}
            if rng.random() < 0.9:
                personal["birth_date"] = m.birth_date
                if rng.random() < 0.95:
                    # Citizen id: province, century and gender, year of birth, serial.
                    century = (0 if m.birth_date.year < 2000 else 2) + (gender == "female")
                    prefix = f"{PROVINCE_CODE}{century}{m.birth_date.year % 100:02d}"
                    number = prefix + f"{rng.randrange(10**6):06d}"
                    while number in ids:
                        number = prefix + f"{rng.randrange(10**6):06d}"
                    ids.add(number)
                    personal["id_number"] = number
            late: dict[str, Any] = {"late": True, "actor": f"{BACKFILLED}:nhap-lieu"} if m.admission_entered else {}
            self.emit(
                AdmitMember,
                m.admission_entered or m.admitted_on,
                id=m.id,
                union_id=m.unions[0][1].id,
                admitted_on=m.admitted_on,
                full_name=full_name,
                gender=gender,
                **personal,
                **late,
            )
            for on, u in m.unions[1:]:
                self.emit(TransferMember, on, member_id=m.id, to_union_id=u.id, effective_on=on)
            if m.left_on is not None:
                late = {"actor": f"{CORRECTED}:nhap-lieu"} if m.departure_entered else {}
                self.emit(
                    RecordDeparture,
                    m.departure_entered or m.left_on,
                    member_id=m.id,
                    left_on=m.left_on,
                    reason=self._reason(m),
                    **late,
                )

    def _reason(self, m: _Member) -> str:
        assert m.left_on is not None  # asked only of a member who leaves
        reason = m.reason or self.rng.choices(*zip(*REASON_WEIGHTS.items()))[0]
        if reason == "retired" and (m.left_on - m.birth_date).days < 55 * 365:
            reason = "changed_job"  # too young to retire
        return reason

    # ---- the plans' other records ------------------------------------------------------------------
    def records(self, today: date) -> None:
        """Ratings, agreements, committees, dues, training, conferences and cards (module docstring),
        drawn from a generator of their own so the rest of the history stays as it was."""
        rng = random.Random("plan-records")
        groups = {sector: group for group, sectors in SECTOR_GROUPS.items() for sector in sectors}
        last = min(today, date(2026, 11, 30))

        def active(u: _Union, day: date) -> bool:
            return u.founded_on <= day and (u.dissolved_on is None or u.dissolved_on > day)

        women: Counter[str] = Counter()
        members: dict[tuple[str, int], int] = Counter()
        for m in self.member_list:
            for year in (2024, 2025):
                day = date(year, 12, 31)
                if m.active_on(day):
                    members[(m.union_on(day).id, year)] += 1
        for u in self.union_list:
            group = groups.get(u.wp.sector, "non_state")
            recording = u.placements[0][1] in (SECTOR_UNIT, ZONE_UNIT) or rng.random() < RECORDING_SHARE
            for year in RATED_YEARS if recording else ():
                decided = date(year + 1, 1, 10) + timedelta(days=rng.randint(0, 15))
                if u.founded_on.year <= year and active(u, decided) and decided <= last:
                    good = rng.random() < GOOD_RATING[group]
                    rating = rng.choice(("excellent", "good", "good")) if good else rng.choice(("fair", "fair", "poor"))
                    self.emit(RateUnion, decided, union_id=u.id, year=year, rating=rating, decided_on=decided)
            women[u.id] = round(u.wp.workers * FEMALE_SHARE)
            if group != "state" and women[u.id] >= 20 and rng.random() < COMMITTEE_SHARE:
                on = _day(rng, u.founded_on + timedelta(days=30), u.founded_on + timedelta(days=400))
                if active(u, on) and on <= last:
                    self.emit(FoundWomensCommittee, on, union_id=u.id, founded_on=on)
            for period, (lo, hi) in DUES_PERIODS.items() if recording else ():
                year = int(period[:4])
                span_end = date(year, 6, 30) if period.endswith("H1") else date(year, 12, 31)
                sent = span_end + timedelta(days=rng.randint(5, 25))
                if not (u.founded_on <= span_end and (u.dissolved_on is None or u.dissolved_on > date(year, 1, 1))):
                    continue
                if sent > today:
                    continue
                months = 6 if period.endswith("H1") else 12
                due = max(1, members.get((u.id, min(year, 2025)), 0)) * DUES_PER_MEMBER * months
                collected = round(due * rng.uniform(lo, hi), -3)
                self.emit(RecordDues, sent, union_id=u.id, period=period, due=due, collected=int(collected))
            for year, (lo, hi) in TRAINED_SHARE.items() if recording else ():
                sent = date(year, 10, 1) + timedelta(days=rng.randint(0, 30))
                if sent > today or not active(u, date(year, 1, 1)):
                    continue
                officials = 3 + min(12, members.get((u.id, 2025), 0) // 40)
                trained = min(officials, round(officials * rng.uniform(lo, hi)))
                self.emit(RecordTraining, sent, union_id=u.id, year=year, officials=officials, trained=trained)
            if u.wp.workers >= 10 and rng.random() < AGREEMENT_SHARE:
                signed = _day(rng, max(u.founded_on, date(2022, 7, 1)) + timedelta(days=60), date(2025, 10, 31))
                while signed <= last and (u.dissolved_on is None or signed < u.dissolved_on):
                    expires = signed + timedelta(days=3 * 365 - 1)
                    self.emit(SignAgreement, signed, workplace_id=u.wp.id, signed_on=signed, expires_on=expires)
                    signed = expires + timedelta(days=rng.randint(-20, 45))
            for year, share in CONFERENCE_SHARE.items():
                held = date(year, 1, 5) + timedelta(days=rng.randint(0, 85))
                if u.wp.workers >= 10 and active(u, held) and held <= last and rng.random() < share:
                    self.emit(HoldConference, held, workplace_id=u.wp.id, held_on=held)
        serial = 0
        for m in self.member_list:
            issued = m.admitted_on + timedelta(days=rng.randint(15, 75))
            if m.admitted_on < CARDED_FROM or m.admission_entered or issued > last or not m.active_on(issued):
                continue
            if rng.random() > 0.5:
                continue
            serial += 1
            card_no = f"QT-{issued.year % 100:02d}-{serial:06d}"
            self.emit(IssueCard, issued, member_id=m.id, card_no=card_no, issued_on=issued)

    def record_targets(self) -> None:
        """The seeds' targets for the plans' other indicators, for 2025 and 2026."""
        for year, (day, decision) in ((2025, PLAN_TARGETS_2025), (2026, PLAN_TARGETS_2026)):
            for unit_id, indicator, value in PLAN_RECORD_TARGETS:
                self._target(unit_id, indicator, str(year), value, day, decision)

    # ---- the plan ------------------------------------------------------------------------------
    def _target(
        self,
        unit_id: str | None,
        indicator: str,
        period: str,
        value: float,
        day: date,
        decision: str,
        ref: str | None = None,
    ) -> None:
        extra: dict[str, Any] = {"ref": ref} if ref else {}
        self.emit(
            AssignTarget,
            day,
            unit_id=unit_id,
            indicator=indicator,
            period=period,
            value=value,
            assigned_on=day,
            decision_no=decision,
            **extra,
        )

    def _split(self, units: list[str], day: date, share_of_year: float) -> dict[str, tuple[int, int]]:
        """Each unit's share of the province's yearly (admissions, foundings): admissions by its
        members on ``day``, foundings by its unions (membership would give the zone's few big
        plants most of them)."""
        members: Counter[str] = Counter()
        for m in self.member_list:
            if m.active_on(day):
                members[m.union_on(day).unit_on(day, self.successors)] += 1
        unions: Counter[str] = Counter(
            u.unit_on(day, self.successors)
            for u in self.union_list
            if u.founded_on <= day and (u.dissolved_on is None or u.dissolved_on > day)
        )
        all_members = sum(members.values()) or 1
        all_unions = sum(unions.values()) or 1
        return {
            u: (
                max(10, 5 * round(YEARLY_ADMISSIONS * share_of_year * members[u] / all_members / 5)),
                max(1, round(YEARLY_FOUNDINGS * share_of_year * unions[u] / all_unions)),
            )
            for u in units
        }

    def plan(self) -> None:
        """The term's targets for the province (seed 000), its yearly net growth, and each
        upper-level union's admissions and foundings, year by year, sized by its share."""
        self.record_targets()
        for indicator, value in TERM_TARGETS.items():
            self._target(None, indicator, TERM, value, PLAN_DAY, PLAN_DECISION)
        for year in (2023, 2024, 2025, 2026):
            self._target(None, "members_net_growth", str(year), YEARLY_NET_GROWTH, PLAN_DAY, PLAN_DECISION)
        for year, (day, decision) in YEARLY_DECISIONS.items():
            before = date(year - 1, 12, 31)
            sizes = self._split(self.upper, before, 1.0)
            for u in self.upper:
                period = str(year)
                if year == 2025 and u in self.district_ids:
                    period = f"{year}-H1"  # the districts close on 1 July
                    sizes[u] = self._split([u], before, 0.5)[u]
                admitted, founded = sizes[u]
                ref = f"target-{u}-{year}" if (u, year) == REVISION[:2] else None
                self._target(u, "members_admitted", period, admitted, day, decision, ref)
                self._target(u, "unions_founded", period, founded, day, decision)
        # The communes, for the second half: the successor carries on the district's unions,
        # the others start from nothing.
        day, decision = COMMUNE_DECISION
        halves = self._split(self.district_ids, LAST_DISTRICT_DAY, 0.5)
        for d in self.district_ids:
            for i, commune in enumerate(self.communes_of[d]):
                admitted, founded = (25, 1) if i else halves[d]
                self._target(commune, "members_admitted", "2025", admitted, day, decision)
                self._target(commune, "unions_founded", "2025", founded, day, decision)
        unit, year, day, reason = REVISION
        lowered = self._split([unit], date(year - 1, 12, 31), 0.8)[unit][0]
        self.emit(
            ReviseTarget, day, target_id=Ref(f"target-{unit}-{year}"), value=lowered, reason=reason, revised_on=day
        )

    # ---- reports ---------------------------------------------------------------------------------
    def _report(
        self,
        unit_id: str | None,
        period: str,
        as_of: date,
        on: date,
        *,
        ref: str | None = None,
        replaces: str | None = None,
        **adjust: dict,
    ) -> None:
        extra: dict[str, Any] = {"ref": ref} if ref else {}
        if replaces:
            extra["replaces"] = Ref(replaces)
        codes = TENANT_CODES if unit_id is None else UNIT_CODES
        self.emit(
            SubmitReport,
            on,
            unit_id=unit_id,
            period=period,
            as_of=as_of,
            figures=Draft(codes, **{k: tuple(v.items()) for k, v in adjust.items()}),
            actor=f"{unit_id or 'ldld-tinh'}:bao-cao",
            **extra,
        )

    def reports(self) -> None:
        """Six-month reports as of 31 May, annual ones as of 30 November, sent on the 5th (the
        province's on the 9th); the four an inspector should catch are in the module docstring."""
        for year in (2023, 2024, 2025):
            cut_off, sent = date(year, 11, 30), date(year, 12, 5)
            if year >= 2024:
                for d in self.district_ids:
                    inflated: dict[str, Any] = {"times": INFLATED[2]} if (d, f"{year}-H1") == INFLATED[:2] else {}
                    self._report(d, f"{year}-H1", date(year, 5, 31), date(year, 6, 5), **inflated)
            units = (
                self.upper
                if year < 2025
                else [*(c for d in self.district_ids for c in self.communes_of[d]), SECTOR_UNIT, ZONE_UNIT]
            )
            for u in units:
                if year == 2024 and u == BACKFILLED:
                    # Counts the late union's founding members, entered on REPORT_DAY after it.
                    self._report(
                        u,
                        str(year),
                        cut_off,
                        sent,
                        plus={"members_total": LATE_MEMBERS, "members_admitted": LATE_MEMBERS},
                    )
                elif year == 2024 and u == CORRECTED:
                    # Overtaken by the departure entered two days later; replaced the day after.
                    self._report(u, str(year), cut_off, sent, ref="report-corrected")
                    self._report(u, str(year), cut_off, sent + timedelta(days=3), replaces="report-corrected")
                else:
                    self._report(u, str(year), cut_off, sent)
            self._report(None, str(year), cut_off, date(year, 12, 9))


def build_demo(
    batch: Any, today: date, *, actor: str = "demo", progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Run every command of demo_commands through ``batch`` (Register.batch): its ``execute`` and
    its ``reads.draft(period, unit_id, as_of)``, the register's figures so far.

    Fills in what the stream leaves open (demo_commands): ``ref`` keeps a result's id,
    ``Ref`` values become those ids, ``Draft`` figures become the ledger's own, adjusted.
    A command's ``actor`` key overrides ``actor``. Returns counts per command; ``progress(done)``
    is called every 100 commands.
    """
    counts: Counter[str] = Counter()
    ids: dict[str, str] = {}
    for done, (command, kwargs) in enumerate(demo_commands(today), 1):
        kwargs = {k: ids[v.name] if isinstance(v, Ref) else v for k, v in kwargs.items()}
        ref = kwargs.pop("ref", None)
        kwargs.setdefault("actor", actor)
        if isinstance(kwargs.get("figures"), Draft):
            _question, honest = batch.reads.draft(kwargs["period"], kwargs["unit_id"], kwargs["as_of"])
            kwargs["figures"] = kwargs["figures"].figures(honest)
        result = batch.execute(command(**kwargs))
        if ref is not None:
            ids[ref] = getattr(result, type(result).id_attr)
        counts[command.__name__] += 1
        if progress is not None and done % 100 == 0:
            progress(done)
    return dict(counts)
