"""The members' records and flows by union and day count what a pass over every row counts:
on any day, as known at any instant (before, among and after the rows' recording)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from projections.columns import OPEN
from projections.day_index import CardedRecords, DayIndex, Flows, Records, first_held

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


@pytest.fixture
def cards():
    """Cards of members 0-119 (members 120-149 have none): one each for most, several (reprints,
    renewals: issued earlier or later than the first, recorded among the records) for some."""
    rng = np.random.default_rng(3)
    n = 220
    members = np.concatenate([np.arange(100), rng.integers(0, 120, n - 100)]).astype(np.int64)
    days = rng.integers(date(2014, 1, 1).toordinal(), date(2027, 1, 1).toordinal(), n).astype(np.int64)
    days[:5] = days[5:10]  # some cards of the same day
    at = rng.integers(900, 5_100, n).astype(np.int64)
    return members, days, at


def held_by_pass(members, days, at, member, d, k) -> np.ndarray:
    """By membership record: whether its member holds a card issued by ``d`` and recorded by ``k``."""
    issued = (days <= d) & (at <= k)
    return np.isin(member, members[issued])


@pytest.mark.parametrize("day", DAYS + [date(2016, 7, 1), date(2023, 2, 1)])
@pytest.mark.parametrize("k", INSTANTS + [2_000, 4_000])
def test_card_holders_as_known(rows, cards, day, k):
    holder, valid_from, valid_to, at, sign, female, member = rows
    records = Records(holder, valid_from, valid_to, at, sign, female, member, UNIONS + 1, OPEN)
    carded = CardedRecords(records, *cards)
    d, known = day.toordinal(), at <= k
    counted = known & held_by_pass(*cards, member, d, k)
    expected = brute(holder[counted], valid_from[counted], valid_to[counted], sign[counted].astype(np.int64), d)
    assert carded.known_counts(d, k).tolist() == expected.tolist()


def test_the_cards_that_decide():
    """Member 1: a card of day 10 recorded at 50, a reprint of day 20 recorded at 30 (it decides
    from day 20 on until day 10's card is known), one of day 30 recorded at 60 (never decides)."""
    members, days, at = np.array([1, 1, 1, 2]), np.array([10, 20, 30, 5]), np.array([50, 30, 60, 40])
    held, since, until, card_at = first_held(members, days, at)
    assert held.tolist() == [1, 1, 2]
    assert since.tolist() == [10, 20, 5] and card_at.tolist() == [50, 30, 40]
    assert until[0] == 20 and until[1] > 10**9 and until[2] > 10**9


def windows(first: date, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every union with a window of its own: from ``first``, union n's ``n * step`` days long."""
    lo = np.full(UNIONS + 1, first.toordinal())
    return np.arange(UNIONS + 1), lo, lo + np.arange(UNIONS + 1) * step


def test_flows_by_union_and_window(rows):
    holder, valid_from, _valid_to, at, *_ = rows
    flows = Flows(holder, valid_from, at, UNIONS + 1)
    unions, lo, hi = windows(date(2018, 1, 1), 300)
    inside = (valid_from >= lo[holder]) & (valid_from < hi[holder])
    assert flows.index.between(unions, lo, hi) == int(np.count_nonzero(inside))
    first, last = date(2019, 3, 1).toordinal(), date(2021, 7, 1).toordinal()
    assert flows.index.days_between(first, last) == int(np.count_nonzero((valid_from >= first) & (valid_from < last)))
    rows_known, alone = flows.recorded.split(1_500)
    assert alone and sorted(flows.days[rows_known]) == sorted(valid_from[at <= 1_500])


def test_every_instant_between_the_checkpoints(rows, cards):
    """Known at instants on, beside and between the recording blocks' cuts: the blocks' sums and
    the spans counted directly (added past a cut, taken off before one) give a pass's counts."""
    holder, valid_from, valid_to, at, sign, female, member = rows
    records = Records(holder, valid_from, valid_to, at, sign, female, member, UNIONS + 1, OPEN)
    carded = CardedRecords(records, *cards)
    w = sign.astype(np.int64)
    for k in range(995, 5_000, 35):
        for d in (date(2017, 5, 2).toordinal(), date(2024, 1, 1).toordinal()):
            known = at <= k
            members, women = records.known_counts(d, k)
            assert members.tolist() == brute(holder[known], valid_from[known], valid_to[known], w[known], d).tolist()
            women_w = (w * female)[known]
            assert women.tolist() == brute(holder[known], valid_from[known], valid_to[known], women_w, d).tolist()
            counted = known & held_by_pass(*cards, member, d, k)
            expected = brute(holder[counted], valid_from[counted], valid_to[counted], w[counted], d)
            assert carded.known_counts(d, k).tolist() == expected.tolist()


def test_flows_known_at_every_instant(rows):
    """The flows' blocks of recording and the rows counted directly give the flows known at K."""
    holder, valid_from, _valid_to, at, *_ = rows
    flows = Flows(holder, valid_from, at, UNIONS + 1)
    unions, lo, hi = windows(date(2017, 1, 1), 400)
    for k in range(995, 5_100, 35):
        indexes, rows_, sign = flows.known_at(k)
        counted = sum(way * index.between(unions, lo, hi) for index, way in indexes)
        if rows_ is not None:
            u, d = flows.unions[rows_], flows.days[rows_]
            counted += sign * int(np.count_nonzero((d >= lo[u]) & (d < hi[u])))
        known = at <= k
        inside = (valid_from >= lo[holder]) & (valid_from < hi[holder])
        assert counted == int(np.count_nonzero(inside & known))
