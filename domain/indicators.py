"""Indicator codes and what each one counts."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidValue

DEFAULT_MIN_WORKERS = 10

STOCKS = (
    "members_total",
    "members_female",
    "unions_total",
    "workplaces_eligible",
    "workplaces_covered",
    "coverage_pct",
    "member_worker_ratio_pct",
    # the plans' other indicators (docs/plan-indicators.md)
    "unions_rated_good_pct",
    "cla_coverage_pct",
    "womens_committee_pct",
    "members_with_card_pct",
    "officials_trained_pct",
    "workers_conference_pct",
)
FLOWS = (
    "members_admitted",
    "members_left",
    "members_transferred_in",  # moved here from another province (not admitted here)
    "members_transferred_out",  # moved to another province (not a departure)
    "members_net_growth",
    "unions_founded",
    "unions_dissolved",
    "dues_collected_pct",  # over the records whose period lies within the period asked
)
# Indicators about eligible workplaces take a workforce threshold, ``code@N``.
THRESHOLDED = (
    "workplaces_eligible",
    "workplaces_covered",
    "coverage_pct",
    "member_worker_ratio_pct",
    "cla_coverage_pct",
    "workers_conference_pct",
)
PERCENTAGES = (
    "coverage_pct",
    "member_worker_ratio_pct",
    "unions_rated_good_pct",
    "cla_coverage_pct",
    "womens_committee_pct",
    "members_with_card_pct",
    "dues_collected_pct",
    "officials_trained_pct",
    "workers_conference_pct",
)
# The plans' codes about unions (counted per union, under the unit holding it on the day that matters).
UNION_CODES = ("unions_rated_good_pct", "womens_committee_pct", "dues_collected_pct", "officials_trained_pct")
# Ratings are decided by the year; a union's standing is its rating for the year of as_of (or the latest
# year rated on or before it).
GOOD_RATINGS = ("excellent", "good")
# The sector groups whose unions the women's committee target is about, and the women it takes.
COMMITTEE_GROUPS = ("non_state", "fdi")
COMMITTEE_MIN_WOMEN = 10
# Percentages that may pass 100: dues collected above what is due (arrears paid late).
UNCAPPED = ("dues_collected_pct",)
BASE_CODES = STOCKS + FLOWS
# What the figures of /indicators can be broken down by (``group_by``).
GROUP_BY = ("unit", "union", "sector", "gender")
# The groups of ``group_by=sector``: the plans' split of workplaces by ownership.
SECTOR_GROUPS = {
    "state": ("state_agency", "public_service", "state_enterprise"),
    "non_state": ("private_enterprise", "cooperative", "other"),
    "fdi": ("fdi_enterprise",),
}
SECTOR_NAMES = {"state": "Khu vực nhà nước", "non_state": "Khu vực ngoài nhà nước", "fdi": "Khu vực có vốn FDI"}
GENDER_GROUPS = ("female", "male")
GENDER_NAMES = {"female": "Nữ", "male": "Nam"}
# Figures a breakdown leaves null: a workplace, or a union, has no gender; a union is no place of work.
NOT_BY = {
    "gender": ("unions_total", "unions_founded", "unions_dissolved", *THRESHOLDED, *UNION_CODES),
    "union": THRESHOLDED,
}
# The steps of /indicators/series.
STEPS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Indicator:
    code: str  # as asked, e.g. "coverage_pct@25"
    base: str  # e.g. "coverage_pct"
    min_workers: int

    @property
    def is_flow(self) -> bool:
        return self.base in FLOWS

    @property
    def is_percentage(self) -> bool:
        return self.base in PERCENTAGES


def parse_indicator(code: str, field: str = "indicator") -> Indicator:
    base, sep, suffix = (code or "").partition("@")
    if base not in BASE_CODES:
        raise InvalidValue(f"unknown indicator {code!r}; known: {', '.join(BASE_CODES)}", field=field)
    if not sep:
        return Indicator(code, base, DEFAULT_MIN_WORKERS)
    if base not in THRESHOLDED:
        raise InvalidValue(f"indicator {base} takes no @N threshold", field=field)
    if not suffix.isdigit() or not 1 <= int(suffix) <= 100000:
        raise InvalidValue("the @N threshold must be a whole number from 1 to 100000", field=field)
    return Indicator(code, base, int(suffix))


def percentage(numerator: float, denominator: float) -> float:
    """100 x n / d with one decimal; 0 where the denominator is 0."""
    if not denominator:
        return 0.0
    return round(100.0 * numerator / denominator + 1e-9, 1)


MAX_COUNT = 10**12  # far beyond any real figure, and within what a float holds exactly
TOO_LARGE = f"may not exceed {MAX_COUNT:,} either way"


def figure_value(indicator: Indicator, value: float, field: str) -> float | int:
    """Counts are whole numbers; percentages lie between 0 and 100 (net growth may be negative, dues
    collected may pass what was due)."""
    if indicator.base in UNCAPPED:
        if not 0 <= value <= MAX_COUNT:
            raise InvalidValue("a percentage must be 0 or more", field=field)
        return float(value)
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
