"""The members' records and flows sorted by union and day, built once per view position, so
that one question counts them with a binary search per union rather than a pass over every row.

A membership record counts on day D where ``valid_from <= D < valid_to``: per union, the sum of
its weights over the records begun by D less the sum over those ended by D. A flow counts on
the days of a window: the flows of its union up to the window's last day less those before its
first. What is known at an instant K is what is known now less the rows recorded after K: the
rows are also kept in order of recording, and the tail after K is counted directly (or, where
that tail is the larger part, the head up to K alone).
"""

from __future__ import annotations

from datetime import date

import numpy as np

SHIFT = 32  # a key is union << SHIFT plus a day (days are ordinals; OPEN, the largest, under 2**31)


CHECKPOINTS = 16  # the rows in order of recording cut in as many blocks: see ``SpanIndex``


class DayIndex:
    """Rows by day, with each union's sums of their weights up to the first day of each year: a
    union's sum up to day D is its sum up to D's year plus the rows of that year up to D, counted
    in one pass over that year's rows alone. Rows of day ``beyond`` and later (spans that have not
    ended) are never counted and not kept. With ``blocks`` (each row's block of recording, of
    ``len(cuts) - 1`` blocks in order), the sums are kept for the rows of the first blocks as well:
    ``upto(d, c)`` counts the rows of blocks before ``c`` alone."""

    def __init__(
        self,
        unions: np.ndarray,
        days: np.ndarray,
        weights: list[np.ndarray],
        size: int,
        beyond: int,
        blocks: np.ndarray | None = None,
        count: int = 1,
    ):
        kept = np.flatnonzero(days < beyond)
        order = kept[np.argsort(days[kept], kind="stable")]
        self.days, self.unions = days[order].astype(np.int32), unions[order].astype(np.int32)
        self.weights = [w[order].astype(np.int8) for w in weights]
        self.size, self.count = size, count
        self.blocks = None if blocks is None else blocks[order].astype(np.int32)
        # the first day of each year (of every few years, where the days span centuries), and
        # the day after the last row
        bounds = [1]
        if len(order):
            first, last = date.fromordinal(int(self.days[0])).year, date.fromordinal(int(self.days[-1])).year
            step = 1 + (last - first) // 100
            bounds = [date(y, 1, 1).toordinal() for y in range(first, last + 1, step)] + [int(self.days[-1]) + 1]
        self.years = np.array(bounds, np.int64)
        self.cuts = np.searchsorted(self.days, self.years, "left")
        # before[b][j][u]: the union's sum over rows of blocks up to b before years[j]
        bucket = np.searchsorted(self.years, self.days, "right")  # 1.. : rows before years[bucket]
        flat = bucket.astype(np.int64) * size + self.unions
        if self.blocks is not None:
            flat += self.blocks.astype(np.int64) * (len(self.years) * size)
        shape = (count, len(self.years), size)
        cells = count * len(self.years) * size
        self.before = [
            np.cumsum(
                np.cumsum(np.bincount(flat, weights=w, minlength=cells)[:cells].reshape(shape), axis=1), axis=0
            ).astype(np.int32)
            for w in self.weights
        ]

    def upto(self, d: int, c: int | None = None) -> list[np.ndarray]:
        """Per union code, each weight's sum over the union's rows of day <= ``d`` (of the blocks
        before ``c`` alone, with ``c``)."""
        c = self.count if c is None else c
        j = int(np.searchsorted(self.years, d, "right")) - 1
        if j < 0 or c == 0:
            return [np.zeros(self.size, np.int64) for _ in self.weights]
        lo, hi = int(self.cuts[j]), int(np.searchsorted(self.days, self.days.dtype.type(d), "right"))
        unions, weights = self.unions[lo:hi], [w[lo:hi] for w in self.weights]
        if c < self.count:  # the rows of the blocks before c alone
            assert self.blocks is not None
            taken = self.blocks[lo:hi] < c
            unions, weights = unions[taken], [w[taken] for w in weights]
        return [
            b[c - 1, j] + np.bincount(unions, weights=w, minlength=self.size)[: self.size].astype(np.int64)
            for b, w in zip(self.before, weights)
        ]


class SpanIndex:
    """Spans [start, end) of a union, weighted, counted on any day as known at any instant. The
    spans are given in order of recording and cut in ``CHECKPOINTS`` blocks; their starts and ends
    are signed rows of one ``DayIndex`` that keeps each union's sums for the rows of the first
    blocks. Known at K: the sums of the blocks up to the cut nearest the spans known at K, and the
    spans between that cut and K counted directly (a block's half at most)."""

    def __init__(
        self,
        holder: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        weights: list[np.ndarray],
        at: np.ndarray,
        size: int,
        beyond: int,
    ):
        n = len(holder)
        self.holder, self.start, self.end, self.weights, self.at = holder, start, end, weights, at
        self.size = size
        count = max(1, min(CHECKPOINTS, n))
        self.cuts = (np.arange(count + 1, dtype=np.int64) * n) // count
        blocks = np.repeat(np.arange(count, dtype=np.int32), np.diff(self.cuts))
        self.index = DayIndex(
            np.concatenate([holder, holder]),
            np.concatenate([start, end]),
            [np.concatenate([w, -w]) for w in weights],
            size,
            beyond,
            np.concatenate([blocks, blocks]),
            count,
        )

    def counts(self, d: int) -> list[np.ndarray]:
        """Each weight's sum per union code over the spans on day ``d``, every span known."""
        return self.index.upto(d)

    def direct(self, rows: slice, d: int) -> list[np.ndarray]:
        """The same over some spans alone (places in order of recording), one pass over them."""
        on = (self.start[rows] <= d) & (self.end[rows] > d)
        holders = self.holder[rows][on]
        return [
            np.bincount(holders, weights=w[rows][on], minlength=self.size)[: self.size].astype(np.int64)
            for w in self.weights
        ]

    def known_counts(self, d: int, k: int) -> list[np.ndarray]:
        """Each weight's sum per union code over the spans on day ``d``, as known at ``k``."""
        known = int(np.searchsorted(self.at, k, "right"))
        if known == len(self.at):
            return self.counts(d)
        c = int(np.searchsorted(self.cuts, known))  # cuts[c - 1] < known <= cuts[c]
        if c > 0 and known - self.cuts[c - 1] < self.cuts[c] - known:
            c -= 1
        cut = int(self.cuts[c])
        counted = self.index.upto(d, c)
        if cut == known:
            return counted
        if cut < known:
            return [a + b for a, b in zip(counted, self.direct(slice(cut, known), d))]
        return [a - b for a, b in zip(counted, self.direct(slice(known, cut), d))]


class UnionDays:
    """Rows keyed by (union code, day), sorted: the rows of a few unions over a window of days each,
    by a binary search per union."""

    def __init__(self, unions: np.ndarray, days: np.ndarray, size: int):
        self.keys = np.sort((unions.astype(np.int64) << SHIFT) + days)
        self.days = np.sort(days)
        self.size = size

    def between(self, unions: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> int:
        """The rows of ``unions`` (each once) on days in [lo, hi) (each union's own window)."""
        base = unions.astype(np.int64) << SHIFT
        ends = np.searchsorted(self.keys, base + hi, "left")
        return int((ends - np.searchsorted(self.keys, base + lo, "left")).sum())

    def days_between(self, lo: int, hi: int) -> int:
        """The rows of every union on days in [lo, hi)."""
        kind = self.days.dtype.type  # a day of the array's own type: the array is not converted
        return int(np.searchsorted(self.days, kind(hi), "left") - np.searchsorted(self.days, kind(lo), "left"))


class _ByRecording:
    """Instants of recording in ascending order: the rows known at an instant are a head, those
    recorded after it the tail."""

    def __init__(self, at: np.ndarray):
        self.at = at

    def split(self, k: int) -> tuple[slice | None, bool]:
        """The rows to count directly as known at ``k`` (places in order of recording), and whether
        they are the rows known (counted alone) rather than those recorded after ``k`` (taken
        from the index's count). None: every row is known at ``k``."""
        known = int(np.searchsorted(self.at, k, "right"))
        if known == len(self.at):
            return None, False
        if known <= len(self.at) // 2:
            return slice(0, known), True
        return slice(known, None), False


class Records:
    """Signed membership records (those that count on some day): their first and end days by
    union, weighted by sign and by sign of women; and, in order of recording, their columns, to
    count some of them directly."""

    def __init__(
        self,
        holder: np.ndarray,
        valid_from: np.ndarray,
        valid_to: np.ndarray,
        at: np.ndarray,
        sign: np.ndarray,
        female: np.ndarray,
        member: np.ndarray,
        size: int,
        beyond: int,
    ):
        rows = np.flatnonzero(valid_from < valid_to)
        holder, valid_from, valid_to = holder[rows], valid_from[rows], valid_to[rows]
        sign = sign[rows].astype(np.int8)
        female = female[rows].astype(np.int8)
        self.size, self.beyond = size, beyond
        o = np.argsort(at[rows], kind="stable")
        self.recorded = _ByRecording(at[rows][o])
        self.holder, self.valid_from, self.valid_to = holder[o], valid_from[o], valid_to[o]
        self.sign, self.female, self.member = sign[o], female[o], member[rows][o]
        weights = [self.sign, self.sign * self.female]
        self.spans = SpanIndex(self.holder, self.valid_from, self.valid_to, weights, self.recorded.at, size, beyond)

    def counts(self, d: int) -> list[np.ndarray]:
        """Members and women members of each union code on day ``d``, everything recorded."""
        return self.spans.counts(d)

    def known_counts(self, d: int, k: int) -> list[np.ndarray]:
        """Members and women members of each union code on day ``d``, as known at ``k``."""
        return self.spans.known_counts(d, k)


def first_held(members: np.ndarray, days: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each member's cards that decide when it holds one: on day D, as known at K, a member holds
    a card where one of them was issued by D and recorded by K. Kept: the cards no earlier-issued
    card (or one of the same day) precedes in recording, by member and day; each decides the days
    from its own to the next one's (the ``until`` returned), where it is the earliest recorded."""
    o = np.lexsort((at, days, members))
    members, days, at = members[o], days[o], at[o]
    n = len(members)
    first = np.ones(n, bool)
    first[1:] = members[1:] != members[:-1]
    # the earliest recording among each member's cards up to each one (the rank of its instant,
    # less n per member before it, so that a member's running least never reaches back to another's)
    rank = np.empty(n, np.int64)
    rank[np.argsort(at, kind="stable")] = np.arange(n)
    least = np.minimum.accumulate(rank - np.cumsum(first) * n)
    keep = first.copy()
    keep[1:] |= rank[1:] - np.cumsum(first)[1:] * n < least[:-1]
    members, days, at = members[keep], days[keep], at[keep]
    last = np.ones(len(members), bool)
    last[:-1] = members[1:] != members[:-1]
    until = np.empty(len(members), np.int64)
    until[:-1] = days[1:]
    until[last] = np.iinfo(np.int64).max
    return members, days, until, at


class CardedRecords:
    """Membership records counted while their member holds a card: each record split at its
    member's deciding cards (``first_held``) into pieces over [the later of its first day and the
    card's, the earlier of its end and the next deciding card's), each known from the later of the
    record's and the card's recording. A question at any day and instant is then a count of
    pieces as the records' (by day, those known after K counted directly)."""

    def __init__(self, records: Records, members: np.ndarray, days: np.ndarray, at: np.ndarray):
        held, since, until, card_at = first_held(members, days, at)
        size = int(max(held.max(initial=-1), records.member.max(initial=-1))) + 1
        count = np.bincount(held, minlength=size)
        start_of = np.cumsum(count) - count
        per = count[records.member]
        rows = np.repeat(np.arange(len(per)), per)
        cards = np.repeat(start_of[records.member], per) + np.arange(len(rows)) - np.repeat(np.cumsum(per) - per, per)
        start = np.maximum(records.valid_from[rows], since[cards])
        end = np.minimum(records.valid_to[rows], until[cards])
        kept = np.flatnonzero(start < end)
        rows, cards = rows[kept], cards[kept]
        known = np.maximum(records.recorded.at[rows], card_at[cards])
        o = np.argsort(known, kind="stable")
        rows = rows[o]
        self.size = records.size
        self.at = known[o]
        self.holder, self.sign = records.holder[rows], records.sign[rows]
        self.start, self.end = start[kept][o].astype(np.int32), end[kept][o].astype(np.int32)
        self.spans = SpanIndex(self.holder, self.start, self.end, [self.sign], self.at, self.size, records.beyond)

    def counts(self, d: int) -> np.ndarray:
        return self.spans.counts(d)[0]

    def known_counts(self, d: int, k: int) -> np.ndarray:
        """Members holding a card on day ``d`` of each union code, the records and cards known at ``k``."""
        return self.spans.known_counts(d, k)[0]


class Flows:
    """One kind of the members' flows: by union and day, and in order of recording, cut in
    ``CHECKPOINTS`` blocks each by union and day as well."""

    def __init__(self, unions: np.ndarray, days: np.ndarray, at: np.ndarray, size: int):
        self.size = size
        self.index = UnionDays(unions, days, size)
        o = np.argsort(at, kind="stable")
        self.recorded = _ByRecording(at[o])
        self.unions, self.days = unions[o], days[o]
        n = len(o)
        count = max(1, min(CHECKPOINTS, n))
        self.cuts = (np.arange(count + 1, dtype=np.int64) * n) // count
        self.blocks = [UnionDays(self.unions[a:b], self.days[a:b], size) for a, b in zip(self.cuts[:-1], self.cuts[1:])]

    def known_at(self, k: int) -> tuple[list[tuple[UnionDays, int]], slice | None, int]:
        """The flows known at ``k``: indexes to count (each with its sign), and the rows to count
        directly (places in order of recording) with theirs: the blocks up to the cut nearest the
        flows known at ``k`` (or every flow less the blocks after it, where those are fewer), and
        the flows between the cut and ``k``."""
        known = int(np.searchsorted(self.recorded.at, k, "right"))
        if known == len(self.recorded.at):
            return [(self.index, 1)], None, 1
        c = int(np.searchsorted(self.cuts, known))  # cuts[c - 1] < known <= cuts[c]
        if c > 0 and known - self.cuts[c - 1] < self.cuts[c] - known:
            c -= 1
        count = len(self.blocks)
        if c <= count - c:
            indexes = [(b, 1) for b in self.blocks[:c]]
        else:
            indexes = [(self.index, 1)] + [(b, -1) for b in self.blocks[c:]]
        cut = int(self.cuts[c])
        if cut < known:
            return indexes, slice(cut, known), 1
        return indexes, (slice(known, cut) if known < cut else None), -1
