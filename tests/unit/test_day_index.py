"""The members' records and flows by union and day count what a pass over every row counts:
on any day, as known at any instant (before, among and after the rows' recording)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from projections.columns import NO_DAY, OPEN
from projections.day_index import CardedRecords, DayIndex, Flows, Records

UNIONS = 7


def brute(holder, valid_from, valid_to, weights, d) -> np.ndarray:
    on = (valid_from <= d) & (valid_to > d)
    return np.bincount(holder[on], weights=weights[on], minlength=UNIONS + 1).astype(np.int64)


@pytest.fixture
def rows():
    rng = np.random.default_rng(7)
    n = 400
    holder = rng.integers(0, UNIONS, n).astype(np.int32)
    valid_from = rng.integers(date(2015, 1, 1).toordinal(), date(2026, 1, 1).toordinal(), n).astype(np.int32)
    ends = valid_from + rng.integers(-5, 2000, n)  # a few that count on no day
    valid_to = np.where(rng.random(n) < 0.6, OPEN, ends).astype(np.int32)
    at = rng.permutation(n).astype(np.int64) * 10 + 1_000  # recorded in another order than kept
    sign = np.where(rng.random(n) < 0.8, 1, -1).astype(np.int8)
    female = (rng.random(n) < 0.5).astype(np.int8)
    member = rng.integers(0, 150, n).astype(np.int32)
    return holder, valid_from, valid_to, at, sign, female, member


DAYS = [date(2014, 6, 1), date(2015, 1, 1), date(2019, 12, 31), date(2020, 1, 1), date(2026, 3, 5), date(2040, 1, 1)]
INSTANTS = [0, 1_000, 1_500, 2_990, 3_000, 4_990, 10**12]  # none, the first, a tenth, half, most, all


def test_one_union_by_hand():
    """Union 0: joined on day 10 and 20, the first left on day 30 (its record ends there)."""
    index = DayIndex(np.array([0, 0, 0]), np.array([10, 20, 30]), [np.array([1, 1, -1], np.int8)], size=2, beyond=OPEN)
    assert [int(index.upto(d)[0][0]) for d in (9, 10, 19, 20, 29, 30, 10**6)] == [0, 1, 1, 2, 2, 1, 1]


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("k", INSTANTS)
def test_members_as_known(rows, day, k):
    holder, valid_from, valid_to, at, sign, female, member = rows
    records = Records(holder, valid_from, valid_to, at, sign, female, member, UNIONS + 1, OPEN)
    d, known = day.toordinal(), at <= k
    members, women = records.known_counts(d, k)
    w = sign.astype(np.int64)
    assert members.tolist() == brute(holder[known], valid_from[known], valid_to[known], w[known], d).tolist()
    w = w * female
    assert women.tolist() == brute(holder[known], valid_from[known], valid_to[known], w[known], d).tolist()


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("k", INSTANTS)
def test_card_holders_as_known(rows, day, k):
    holder, valid_from, valid_to, at, sign, female, member = rows
    rng = np.random.default_rng(3)
    since = np.where(rng.random(120) < 0.7, rng.integers(valid_from.min(), valid_from.max(), 120), NO_DAY)
    since = since.astype(np.int32)  # members 120-149 beyond the cards' array: none
    records = Records(holder, valid_from, valid_to, at, sign, female, member, UNIONS + 1, OPEN)
    carded = CardedRecords(records, since)
    d, known = day.toordinal(), at <= k
    card_day = np.where(member < len(since), since[np.minimum(member, len(since) - 1)], NO_DAY)
    start = np.maximum(valid_from, card_day)
    expected = brute(holder[known], start[known], valid_to[known], sign[known].astype(np.int64), d)
    assert carded.known_counts(d, k).tolist() == expected.tolist()


def test_flows_by_union_and_window(rows):
    holder, valid_from, _valid_to, at, *_ = rows
    flows = Flows(holder, valid_from, at, UNIONS + 1)
    lo = np.full(UNIONS + 1, date(2018, 1, 1).toordinal())
    hi = lo + np.arange(UNIONS + 1) * 300
    unions = np.arange(UNIONS + 1)
    inside = (valid_from >= lo[holder]) & (valid_from < hi[holder])
    assert flows.index.between(unions, lo, hi) == int(np.count_nonzero(inside))
    first, last = date(2019, 3, 1).toordinal(), date(2021, 7, 1).toordinal()
    assert flows.index.days_between(first, last) == int(np.count_nonzero((valid_from >= first) & (valid_from < last)))
    rows_known, alone = flows.recorded.split(1_500)
    assert alone and sorted(flows.days[rows_known]) == sorted(valid_from[at <= 1_500])
