"""How a reported figure compares with the ledger at submission and now."""

from __future__ import annotations

MATCH = "match"
CORRECTED_LATER = "corrected_later"
BACKFILLED = "backfilled"
OVER = "over_reported"
UNDER = "under_reported"
CONSISTENT_STATUSES = (MATCH, CORRECTED_LATER)


def same(a: float, b: float) -> bool:
    """Figures agree to the one decimal percentages are given in."""
    return abs(round(float(a), 1) - round(float(b), 1)) < 0.05


def line_status(reported: float, at_submission: float, now: float) -> str:
    """A figure that differs from both sides counts as over- or under-reported against the ledger now."""
    if same(reported, at_submission):
        return MATCH if same(reported, now) else CORRECTED_LATER
    if same(reported, now):
        return BACKFILLED
    return OVER if reported > now else UNDER


def verdict(statuses: list[str]) -> str:
    return "consistent" if all(s in CONSISTENT_STATUSES for s in statuses) else "discrepant"
