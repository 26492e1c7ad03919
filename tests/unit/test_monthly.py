"""The month-end tables of members by union: a union's count on any day, worked by hand."""

from datetime import date

import numpy as np

from projections.columns import OPEN
from projections.monthly import MonthlyStocks, month_ends


def d(text: str) -> int:
    return date.fromisoformat(text).toordinal()


def counts(table: MonthlyStocks, *days: str) -> list[list[int]]:
    return table.on(np.array([d(x) for x in days])).astype(int).tolist()


def test_a_unions_members_on_any_day_from_month_ends_and_the_months_changes():
    # union 0: a from 10 Jan 2024 (open), b 20 Jan - 5 Mar 2024; union 1: c from 31 Jan 2024,
    # superseded by a record ending 15 Feb (the -1 record cancels the open one)
    holder = np.array([0, 0, 1, 1, 1], np.int32)
    start = np.array([d("2024-01-10"), d("2024-01-20"), d("2024-01-31"), d("2024-01-31"), d("2024-01-31")], np.int32)
    stop = np.array([OPEN, d("2024-03-05"), OPEN, OPEN, d("2024-02-15")], np.int32)
    sign = np.array([1, 1, 1, -1, 1], np.int8)
    table = MonthlyStocks.of(3, holder, start, stop, sign)
    assert table is not None
    by_union = counts(table, "2023-12-31", "2024-01-09", "2024-01-10", "2024-01-30", "2024-01-31")
    assert by_union == [[0, 0, 1, 2, 2], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    by_union = counts(table, "2024-02-14", "2024-02-15", "2024-03-04", "2024-03-05", "2030-06-30")
    assert by_union == [[2, 2, 2, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]


def test_a_record_that_starts_on_or_after_its_end_never_counts():
    # a member's first card after the record ended: counted from the card, so never
    holder = np.array([0, 0], np.int32)
    start = np.array([d("2024-05-01"), OPEN], np.int32)  # the second: no card (never)
    stop = np.array([d("2024-04-01"), OPEN], np.int32)
    table = MonthlyStocks.of(1, holder, start, stop, np.array([1, 1], np.int8))
    assert table is not None
    assert counts(table, "2024-03-31", "2024-04-15", "2024-06-30") == [[0, 0, 0]]


def test_month_ends_are_the_last_days_of_the_months_between_two_days():
    ends = month_ends(d("2023-11-15"), d("2024-03-01"))
    assert [date.fromordinal(int(e)).isoformat() for e in ends] == [
        "2023-11-30",
        "2023-12-31",
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
    ]
