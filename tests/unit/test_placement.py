"""Which units lay under a scope unit on which days, worked by hand on the 2025 reorganisation."""

from datetime import date

from projections.placement import ALWAYS, UnitsUnder, holder_on

D = date.toordinal
CLOSED = D(date(2025, 7, 1))
# District "huyen" held commune "xa-a" from 2020 until it closed on 1 July 2025; the commune then
# moved under the successor "tinh-moi". Commune "xa-b" has lain under "tinh-moi" since 2024.
SPANS = {
    "xa-a": [("huyen", D(date(2020, 1, 1)), CLOSED), ("tinh-moi", CLOSED, ALWAYS[1])],
    "xa-b": [("tinh-moi", D(date(2024, 1, 1)), ALWAYS[1])],
    "huyen": [("tinh", D(date(2019, 1, 1)), CLOSED)],
}


def test_a_closed_district_keeps_its_history_up_to_the_closure():
    under = UnitsUnder("huyen", SPANS)
    assert under.holds("xa-a", D(date(2025, 6, 30)))
    assert not under.holds("xa-a", CLOSED)
    assert under.holds("huyen", D(date(2026, 1, 1)))  # the scope unit itself, on any day
    assert not under.holds("xa-b", D(date(2024, 6, 1)))
    assert under.ever() == {"huyen", "xa-a"}


def test_the_successor_reaches_what_moved_under_it_from_the_move():
    under = UnitsUnder("tinh-moi", SPANS)
    assert not under.holds("xa-a", D(date(2025, 6, 30)))
    assert under.holds("xa-a", CLOSED)
    assert under.holds("xa-b", D(date(2024, 1, 1)))
    assert under.holds("xa-b", D(date(2023, 1, 1)))  # before its life: where it began


def test_the_province_reaches_through_two_levels_until_the_district_closed():
    under = UnitsUnder("tinh", SPANS)
    assert under.holds("xa-a", D(date(2025, 6, 30)))
    assert not under.holds("xa-a", CLOSED)
    assert under.holds("huyen", D(date(2030, 1, 1)))  # after its closure: as on its last day


def test_the_holder_on_a_day_outside_a_life_is_the_nearest_one():
    spans = SPANS["xa-a"]
    assert holder_on(spans, D(date(2019, 5, 5))) == ("huyen", D(date(2020, 1, 1)))
    assert holder_on(spans, CLOSED) == ("tinh-moi", CLOSED)
    assert holder_on([], 5) == (None, 5)
