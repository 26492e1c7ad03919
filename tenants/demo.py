"""A demo province: a deterministic history of register commands, sized from the seeds.

Modelled on Quảng Trị (seeds 000/001): five district federations closed in the
2025 reorganisation, a sector and an economic-zone union, about 300 workplaces,
about 130 grassroots unions and about 4,000 admissions from 2018 to 2025.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from domain.members import DEPARTURE_REASONS
from domain.workplaces import SECTORS

OPENED = date(2015, 1, 1)
REORGANISED = date(2025, 7, 1)  # districts close, communes take over
LAST_FOUNDING = REORGANISED - timedelta(days=1)
REGISTERED_FROM, REGISTERED_TO = date(2018, 1, 1), date(2024, 12, 31)
LAST_SURVEY = date(2025, 11, 30)
LAST_EVENT = date(2025, 12, 31)
WORKPLACES = 300
ADMISSIONS = 4000
FEMALE_SHARE = 0.55
PROVINCE_CODE = "045"  # Quảng Trị's prefix in citizen id numbers

# (id, district, communes after 2025 (the first succeeds the district), other places in it)
DISTRICTS = tuple((key, name, tuple(communes.split(", ")), tuple(places.split(", ")))
                  for key, name, communes, places in (
    ("hh", "Hương Hóa", "Khe Sanh, Lao Bảo, Hướng Phùng, Tân Lập",
     "Hướng Tân, Tân Hợp, Tân Long, Tân Thành, Thuận, Thanh, A Túc, Xy, Hướng Lộc, A Dơi"),
    ("dk", "Đakrông", "Đakrông, Ba Lòng, Tà Rụt",
     "Krông Klang, Mò Ó, Triệu Nguyên, Hướng Hiệp, Tà Long, Húc Nghì, A Ngo, A Vao, Ba Nang"),
    ("gl", "Gio Linh", "Gio Linh, Cửa Việt, Cồn Tiên",
     "Gio Mỹ, Gio Phong, Gio Hải, Gio Việt, Gio Quang, Gio Sơn, Gio An, Trung Giang, Trung Hải"),
    ("vl", "Vĩnh Linh", "Vĩnh Linh, Cửa Tùng, Vĩnh Hoàng",
     "Hồ Xá, Bến Quan, Vĩnh Thái, Vĩnh Tú, Vĩnh Giang, Vĩnh Kim, Vĩnh Long, Vĩnh Chấp, Vĩnh Lâm"),
    ("tp", "Triệu Phong", "Triệu Phong, Ái Tử, Triệu Bình",
     "Triệu Thượng, Triệu Độ, Triệu Đại, Triệu Trạch, Triệu Thuận, Triệu Giang, Triệu Sơn, Triệu Long"),
))
SECTOR_UNIT, ZONE_UNIT = "u-giao-duc", "u-kkt"
ZONE_SHARE = {"fdi_enterprise": 0.7, "private_enterprise": 0.1}  # of a sector, placed in the economic zone
ISSUER = {SECTOR_UNIT: "CĐN", ZONE_UNIT: "CĐKKT"}  # who signs a founding decision; districts: LĐLĐ

# Verbs issued on the same business date run in this order.
PHASE = {verb: i for i, verb in enumerate((
    "establish_unit", "close_unit", "register_workplace", "survey_workplace", "found_union",
    "transfer_union", "admit_member", "transfer_member", "record_departure", "dissolve_union",
))}

# sector: (share of workplaces, median workers, spread, female share range)
PROFILES = {
    "private_enterprise": (0.44, 8, 1.0, (0.25, 0.6)),
    "public_service": (0.15, 28, 0.5, (0.55, 0.8)),
    "state_agency": (0.10, 14, 0.5, (0.35, 0.55)),
    "cooperative": (0.12, 7, 0.6, (0.3, 0.6)),
    "fdi_enterprise": (0.05, 300, 1.1, (0.55, 0.85)),
    "state_enterprise": (0.06, 60, 0.7, (0.2, 0.45)),
    "other": (0.08, 5, 0.5, (0.3, 0.7)),
}
assert set(PROFILES) == set(SECTORS)

TRADES = ("Xây dựng", "Thương mại", "Vận tải", "Chế biến gỗ", "Dịch vụ", "May mặc", "Nông sản",
          "Cà phê", "Du lịch", "Cơ khí", "Vật liệu xây dựng", "Thủy sản", "Khai thác đá")
BRANDS = ("Hoàng Long", "Minh Phát", "Trường Sơn", "Thành Đạt", "Phú Quý", "An Bình", "Hải Vân",
          "Tân Thành", "Bến Hải", "Quảng Phát", "Việt Lào", "Sao Mai", "Hưng Thịnh", "Nam Hải",
          "Phúc Lộc", "Đại Dương", "Thiên Ân", "Hiền Lương")
NAMES = {
    "private_enterprise": ("Công ty TNHH {trade} {brand}", "Công ty Cổ phần {trade} {brand}",
                           "Công ty TNHH MTV {trade} {brand}", "Doanh nghiệp tư nhân {trade} {brand}"),
    "fdi_enterprise": ("Công ty TNHH {foreign} {line} Việt Nam",),
    "state_enterprise": ("Công ty TNHH MTV Lâm nghiệp {place}", "Công ty TNHH MTV Thủy lợi {place}",
                         "Công ty Cổ phần Môi trường đô thị {place}", "Công ty Cổ phần Cấp nước {place}"),
    "public_service": ("Trường Mầm non {place}", "Trường Tiểu học {place}", "Trường THCS {place}",
                       "Trường THPT {place}", "Trạm Y tế xã {place}", "Trung tâm Y tế huyện {district}"),
    "state_agency": ("Ủy ban nhân dân xã {place}", "Phòng Giáo dục và Đào tạo huyện {district}",
                     "Phòng Tài chính - Kế hoạch huyện {district}", "Bảo hiểm xã hội huyện {district}",
                     "Kho bạc Nhà nước {district}"),
    "cooperative": ("Hợp tác xã Nông nghiệp {place}", "Hợp tác xã Dịch vụ tổng hợp {place}",
                    "Hợp tác xã Cà phê {place}", "Quỹ tín dụng nhân dân {place}"),
    "other": ("Văn phòng Công chứng {brand}", "Văn phòng Luật sư {brand}", "Trung tâm Ngoại ngữ {brand}"),
}
FOREIGN = ("Hanvina", "Koryo", "Sun Pacific", "Tokai", "Mekong Star", "Asia Wing", "Orient", "Golden Lotus")
LINES = ("Garment", "Wood", "Energy", "Footwear", "Food")

SURNAMES = (("Nguyễn", 31), ("Trần", 11), ("Lê", 10), ("Hồ", 7), ("Phan", 5), ("Hoàng", 5), ("Võ", 5),
            ("Phạm", 5), ("Đặng", 3), ("Bùi", 3), ("Đỗ", 3), ("Ngô", 3), ("Dương", 2), ("Huỳnh", 2),
            ("Lương", 2), ("Trương", 2))
MIDDLE = {"female": ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Diệu"),
          "male": ("Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Xuân")}
GIVEN = {"female": ("Hoa", "Lan", "Hương", "Mai", "Linh", "Trang", "Thảo", "Hằng", "Nga", "Phương",
                    "Thủy", "Hà", "Yến", "Nhung", "Loan", "Hạnh"),
         "male": ("Hùng", "Dũng", "Nam", "Tuấn", "Minh", "Hải", "Long", "Sơn", "Thắng", "Cường",
                  "Phúc", "Khánh", "Quân", "Trung", "Hiếu", "Bình")}
REASON_WEIGHTS = {"changed_job": 40, "resigned": 25, "retired": 18, "other": 9, "deceased": 5, "expelled": 3}
assert set(REASON_WEIGHTS) == set(DEPARTURE_REASONS)


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
    unit_id: str
    founded_on: date
    placed_on: date
    dissolved_on: date | None = None
    room: int = 0  # members it may still take, so members never outnumber workers
    members: list[_Member] = field(default_factory=list)


@dataclass
class _Member:
    id: str
    union: _Union
    placed_on: date
    birth_date: date


def _day(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


def _female_workers(rng: random.Random, sector: str, workers: int) -> int:
    lo, hi = PROFILES[sector][3]
    return round(workers * rng.uniform(lo, hi))


def demo_commands(today: date, seed: int = 2023) -> Iterator[tuple[str, dict]]:
    """Yield (verb_name, kwargs) in a valid order for Ledger verbs, e.g. ("establish_unit", {...})."""
    rng = random.Random(seed)
    events: list[tuple[date, int, int, str, dict[str, Any]]] = []

    def emit(verb: str, day: date, **kwargs: Any) -> None:
        events.append((day, PHASE[verb], len(events), verb, kwargs))

    # Units: districts until the reorganisation, then communes; sector and zone throughout.
    district_ids = [f"u-{d[0]}" for d in DISTRICTS]
    for key, district, communes, _ in DISTRICTS:
        emit("establish_unit", OPENED, id=f"u-{key}", name=f"LĐLĐ huyện {district}",
             kind="district", established_on=OPENED)
        for i, commune in enumerate(communes, 1):
            emit("establish_unit", REORGANISED, id=f"u-{key}-{i}", name=f"Công đoàn xã {commune}",
                 kind="commune", established_on=REORGANISED)
        emit("close_unit", REORGANISED, unit_id=f"u-{key}", closed_on=REORGANISED, successor_id=f"u-{key}-1")
    emit("establish_unit", OPENED, id=SECTOR_UNIT, name="Công đoàn ngành Giáo dục",
         kind="sector", established_on=OPENED)
    emit("establish_unit", OPENED, id=ZONE_UNIT, name="Công đoàn Khu kinh tế tỉnh Quảng Trị",
         kind="industrial_zone", established_on=OPENED)

    # Workplaces: mostly small, a few large FDI plants in the economic zone.
    names: set[str] = set()
    workplaces: list[_Workplace] = []
    sectors = list(PROFILES)
    shares = [p[0] for p in PROFILES.values()]
    for n in range(1, WORKPLACES + 1):
        # Every sector appears at least once, the rest by share.
        sector = sectors[n - 1] if n <= len(sectors) else rng.choices(sectors, shares)[0]
        _, median, spread, _ = PROFILES[sector]
        workers = min(3000, max(3, round(median * math.exp(rng.gauss(0, spread)))))
        if n <= len(sectors) and sector == "fdi_enterprise":
            workers = rng.randint(2000, 3000)  # the zone's anchor employer
        key, district, communes, places = rng.choice(DISTRICTS)
        for attempt in range(30):
            name = rng.choice(NAMES[sector]).format(
                trade=rng.choice(TRADES), brand=rng.choice(BRANDS), place=rng.choice(communes + places),
                district=district, foreign=rng.choice(FOREIGN), line=rng.choice(LINES))
            if attempt >= 20:
                name = f"{name} số {attempt - 18}"
            if name not in names:
                break
        names.add(name)
        unit_id = f"u-{key}"
        if rng.random() < ZONE_SHARE.get(sector, 0):
            unit_id = ZONE_UNIT
        elif name.startswith("Trường") and rng.random() < 0.5:
            unit_id = SECTOR_UNIT  # schools may sit under the education union instead of the district
        as_of = _day(rng, REGISTERED_FROM, REGISTERED_TO)
        wp = _Workplace(f"wp-{n:04d}", name, sector, unit_id, workers, as_of)
        workplaces.append(wp)
        emit("register_workplace", wp.as_of, id=wp.id, name=name, sector=sector, unit_id=unit_id,
             workers=workers, female_workers=_female_workers(rng, sector, workers), as_of=wp.as_of)

    # Unions at ~70% of workplaces with 10+ workers: nearly all public ones, more often the big ones.
    unions: list[_Union] = []
    for wp in sorted(workplaces, key=lambda w: w.as_of):
        if wp.workers < 10:
            continue
        chance = 0.95 if wp.sector in ("public_service", "state_agency") else 0.45 if wp.workers < 25 else 0.8
        if rng.random() < chance:
            # Most found within months of the workplace being surveyed and registered.
            founded = min(LAST_FOUNDING, wp.as_of + timedelta(days=int(rng.expovariate(1 / 200))))
            unions.append(_Union(f"cd-{len(unions) + 1:04d}", wp, wp.unit_id, founded, founded))
    unions.sort(key=lambda u: u.founded_on)
    decisions: Counter[tuple[str, int]] = Counter()
    for u in unions:
        decisions[u.unit_id, u.founded_on.year] += 1
        emit("found_union", u.founded_on, id=u.id, name=f"Công đoàn cơ sở {u.wp.name}", workplace_id=u.wp.id,
             unit_id=u.unit_id, founded_on=u.founded_on,
             decision_no=f"{decisions[u.unit_id, u.founded_on.year]}/QĐ-{ISSUER.get(u.unit_id, 'LĐLĐ')}")

    # Two or three small unions dissolve when their enterprise closes; their members go first.
    small = [u for u in unions if u.wp.workers < 25 and u.wp.sector in ("private_enterprise", "cooperative")
             and u.founded_on <= date(2022, 6, 30)]
    dissolved = rng.sample(small, min(len(small), rng.choice((2, 3))))
    for u in dissolved:
        u.dissolved_on = _day(rng, max(u.founded_on + timedelta(days=540), date(2022, 1, 1)), LAST_FOUNDING)
        emit("survey_workplace", u.dissolved_on, workplace_id=u.wp.id, workers=0, female_workers=0,
             as_of=u.dissolved_on)
        emit("dissolve_union", u.dissolved_on, union_id=u.id, dissolved_on=u.dissolved_on,
             reason="Doanh nghiệp giải thể, không còn người lao động")
    open_unions = [u for u in unions if u.dissolved_on is None]

    # Later surveys change a third of the workforces; members are capped by the smallest figure.
    closing = {u.wp.id for u in dissolved}
    for wp in workplaces:
        wp.min_workers = wp.workers
        if wp.id not in closing and rng.random() < 0.33:
            as_of = _day(rng, wp.as_of + timedelta(days=90), LAST_SURVEY)
            workers = max(3, round(wp.workers * rng.uniform(0.75, 1.4)))
            wp.min_workers = min(wp.workers, workers)
            emit("survey_workplace", as_of, workplace_id=wp.id, workers=workers,
                 female_workers=_female_workers(rng, wp.sector, workers), as_of=as_of)

    # A few unions change upper-level union before the reorganisation; one may move twice.
    movable = [u for u in open_unions if u.founded_on < date(2025, 1, 1) and u.unit_id != ZONE_UNIT]
    for _ in range(6):
        u = rng.choice(movable)
        if u.placed_on + timedelta(days=30) > LAST_FOUNDING:
            continue
        u.placed_on = _day(rng, u.placed_on + timedelta(days=30), LAST_FOUNDING)
        u.unit_id = rng.choice([x for x in (*district_ids, SECTOR_UNIT) if x != u.unit_id])
        emit("transfer_union", u.placed_on, union_id=u.id, to_unit_id=u.unit_id, effective_on=u.placed_on)

    # Members: ~4,000 admissions shared by workplace size, never more than the workforce.
    caps = {u.id: max(1, int(u.wp.min_workers * rng.uniform(0.6, 0.95))) for u in unions}
    scale = min(1.0, ADMISSIONS / sum(caps.values()))
    ids: set[str] = set()
    members: list[_Member] = []
    for u in unions:
        quota = min(caps[u.id], max(3, round(caps[u.id] * scale)))
        u.room = caps[u.id] - quota
        last = u.dissolved_on - timedelta(days=60) if u.dissolved_on else LAST_EVENT
        first = max(5, quota // 3)  # founders join on the day, most of the first drive within 90 days
        for i in range(quota):
            admitted = (u.founded_on if i < 5 else _day(rng, u.founded_on, u.founded_on + timedelta(days=90))
                        if i < first else _day(rng, u.founded_on, last))
            gender = "female" if rng.random() < FEMALE_SHARE else "male"
            full_name = " ".join((rng.choices(*zip(*SURNAMES))[0], rng.choice(MIDDLE[gender]),
                                  rng.choice(GIVEN[gender])))
            personal: dict[str, Any] = {}
            birth = admitted - timedelta(days=rng.randint(18 * 366, 60 * 365))
            if rng.random() < 0.9:
                personal["birth_date"] = birth
                if rng.random() < 0.95:
                    # Citizen id: province, century and gender, year of birth, serial.
                    century = (0 if birth.year < 2000 else 2) + (gender == "female")
                    prefix = f"{PROVINCE_CODE}{century}{birth.year % 100:02d}"
                    number = prefix + f"{rng.randrange(10**6):06d}"
                    while number in ids:
                        number = prefix + f"{rng.randrange(10**6):06d}"
                    ids.add(number)
                    personal["id_number"] = number
            m = _Member(f"dv-{len(members) + 1:05d}", u, admitted, birth)
            members.append(m)
            u.members.append(m)
            emit("admit_member", admitted, id=m.id, union_id=u.id, admitted_on=admitted,
                 full_name=full_name, gender=gender, **personal)

    def transfer(m: _Member, on: date) -> bool:
        """Move a member to an open union founded by ``on`` that still has room."""
        targets = [u for u in open_unions if u is not m.union and u.founded_on <= on and u.room > 0]
        if not targets:
            return False
        m.union = rng.choice(targets)
        m.union.room -= 1
        m.placed_on = on
        emit("transfer_member", on, member_id=m.id, to_union_id=m.union.id, effective_on=on)
        return True

    def leave(m: _Member, on: date, reason: str | None = None) -> None:
        reason = reason or rng.choices(*zip(*REASON_WEIGHTS.items()))[0]
        if reason == "retired" and (on - m.birth_date).days < 55 * 365:
            reason = "changed_job"  # too young to retire
        emit("record_departure", on, member_id=m.id, left_on=on, reason=reason)

    # Members of a dissolving union leave or move before the dissolution date.
    for u in dissolved:
        for m in u.members:
            on = _day(rng, m.placed_on + timedelta(days=1), u.dissolved_on - timedelta(days=1))
            if rng.random() > 0.3 or not transfer(m, on):
                leave(m, on, rng.choice(("changed_job", "resigned", "other")))

    # Elsewhere ~3% transfer and ~8% leave (some after a transfer).
    for m in members:
        if m.union.dissolved_on or m.placed_on > LAST_SURVEY - timedelta(days=60):
            continue
        if rng.random() < 0.03:
            transfer(m, _day(rng, m.placed_on + timedelta(days=30), LAST_SURVEY))
        if rng.random() < 0.09 and m.placed_on + timedelta(days=30) <= LAST_EVENT:
            leave(m, _day(rng, m.placed_on + timedelta(days=30), LAST_EVENT))

    events.sort(key=lambda e: e[:3])
    for day, _, _, verb, kwargs in events:
        if day <= today:
            yield verb, kwargs


def build_demo(ledger: Any, today: date, *, actor: str = "demo",
               progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Run every command of demo_commands through `ledger` (an object with the Ledger verbs).

    Returns counts per verb; `progress(done)` is called every 100 commands.
    """
    counts: Counter[str] = Counter()
    for done, (verb, kwargs) in enumerate(demo_commands(today), 1):
        getattr(ledger, verb)(**kwargs, actor=actor)
        counts[verb] += 1
        if progress is not None and done % 100 == 0:
            progress(done)
    return dict(counts)
