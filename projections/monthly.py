"""The members of every union at the end of every month, worked out once per view position.

A breakdown or a series asks the members of each union on one or a few dozen days. Counting the
membership records for each question is a pass over a million records; here they are counted
once per view position into a (unions x months) table of month-end stocks, with the changes kept
in order of day, so that the stock of every union on any day is a column of the table plus the
changes of that month up to the day: work in the unions and the month's changes, not the register.

Only for questions of everything recorded (no ``known_at``): a question as known at an earlier
instant counts the signed records by their recording instant, as before (``projections.indicators``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from projections.columns import OPEN, Snapshot

EPOCH = 719163  # date(1970, 1, 1).toordinal()
MAX_CELLS = 40_000_000  # above this (unions x months) the table is not kept: the records are counted


def months(days: np.ndarray) -> np.ndarray:
    """For day ordinals, their month as months since January 1970."""
    return (np.asarray(days, np.int64) - EPOCH).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_starts(month: np.ndarray) -> np.ndarray:
    """The ordinal of the first day of each month (months since January 1970)."""
    return np.asarray(month, np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + EPOCH


def month_ends(first: int, last: int) -> np.ndarray:
    """The last day of each month from that of day ``first`` to that of day ``last`` (ordinals)."""
    month = np.arange(int(months(np.array([first]))[0]), int(months(np.array([last]))[0]) + 1)
    return month_starts(month + 1) - 1


@dataclass(frozen=True)
class MonthlyStocks:
    """One kind of count (members, women, card holders) of each union code at each month's end.

    ``table[j, u]`` is union ``u``'s count at the end of month ``first + j - 1`` (row 0: before
    any change), a month's counts side by side so that a day's are one contiguous row;
    ``day``/``holder``/``weight`` are the changes (+1 from the day a record starts counting, -1
    from the day it stops) in order of day."""

    first: int
    table: np.ndarray
    day: np.ndarray
    holder: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, unions: int, holder: np.ndarray, start: np.ndarray, stop: np.ndarray, sign: np.ndarray):
        """From records counting ``sign`` for union ``holder`` on the days [start, stop) (OPEN: no
        end; a record whose start is not before its stop never counts). None where the table would
        be too large."""
        counts = start < stop
        ends = counts & (stop < OPEN)
        day = np.concatenate([start[counts], stop[ends]]).astype(np.int64)
        holder = np.concatenate([holder[counts], holder[ends]]).astype(np.int64)
        weight = np.concatenate([sign[counts], -sign[ends].astype(np.int64)]).astype(np.int64)
        order = np.argsort(day, kind="stable")
        day, holder, weight = day[order], holder[order], weight[order]
        first = int(months(day[:1])[0]) if len(day) else 0
        width = (int(months(day[-1:])[0]) - first + 2) if len(day) else 1
        if unions * width > MAX_CELLS:
            return None
        cells = (months(day) - first + 1) * unions + holder
        table = np.bincount(cells, weights=weight, minlength=unions * width)[: unions * width]
        table = np.cumsum(table.reshape(width, unions), axis=0).astype(np.int32)
        return cls(first, table, day.astype(np.int32), holder.astype(np.int32), weight.astype(np.int8))

    def on(self, days: np.ndarray) -> np.ndarray:
        """The count of each union code on each of ``days``: a (unions x days) array (a view of
        one row of counts per day)."""
        width, unions = self.table.shape
        days = np.asarray(days, np.int64)
        month = months(days)
        # the end of the month before the day's; of the day's own month where it is its last day
        month_end = month_starts(month + 1) - 1 == days
        row = np.clip(month - self.first + month_end, 0, width - 1)
        out = self.table[row].astype(np.float64)
        inside = (month >= self.first) & (month - self.first < width - 1) & ~month_end
        if inside.any():
            # the days sought in the changes' own type: another would make numpy convert the changes
            lows = np.searchsorted(self.day, month_starts(month[inside]).astype(self.day.dtype), "left")
            highs = np.searchsorted(self.day, days[inside].astype(self.day.dtype), "right")
            for i, lo, hi in zip(np.flatnonzero(inside).tolist(), lows.tolist(), highs.tolist()):
                if hi > lo:
                    out[i] += np.bincount(self.holder[lo:hi], weights=self.weight[lo:hi], minlength=unions)[:unions]
        return out.T


def monthly(snap: Snapshot, kind: str) -> MonthlyStocks | None:
    """The month-end table of ``kind`` (``members``, ``women`` or ``carded``) of the snapshot's
    position, every record known; worked out once per position. None where it is not kept."""

    def compute():
        unions = len(snap.unions) + 1
        start, sign = snap.valid_from, snap.sign
        if kind == "women":
            sign = sign * snap.female
        elif kind == "carded":  # counted from the later of its first day and its member's first card
            since = snap.card_since()
            member = snap.member
            card_day = since.take(member, mode="clip") if len(since) else np.full(len(member), OPEN, np.int32)
            if len(since) and int(member.max(initial=0)) >= len(since):
                card_day[member >= len(since)] = OPEN
            start = np.maximum(start, card_day)
        return MonthlyStocks.of(unions, snap.holder, start, snap.valid_to, sign) or False

    found = snap.once(("monthly", kind), compute)
    return found or None


def flows_by_day(snap: Snapshot, kind: int) -> tuple[np.ndarray, np.ndarray]:
    """The members' flows of one kind (``Snapshot.flows``) in order of day: their indices and days,
    worked out once per position, so that the flows of a period are a slice rather than a pass."""

    def compute():
        days = snap.flows(kind)[1]
        order = np.argsort(days, kind="stable")
        return order, days[order]

    return snap.once(("flows_by_day", kind), compute)


def flows_between(snap: Snapshot, kind: int, first: int, last: int) -> np.ndarray:
    """The indices (into ``Snapshot.flows``) of the flows of one kind on the days [first, last]."""
    order, days = flows_by_day(snap, kind)
    first, last = days.dtype.type(first), days.dtype.type(last)  # a Python int would convert every day
    return order[np.searchsorted(days, first, "left") : np.searchsorted(days, last, "right")]


def flow_counts(snap: Snapshot, kind: int, firsts: np.ndarray, lasts: np.ndarray) -> np.ndarray:
    """How many flows of one kind lie on the days [firsts[i], lasts[i]], for each i."""
    _order, days = flows_by_day(snap, kind)
    firsts, lasts = np.asarray(firsts).astype(days.dtype), np.asarray(lasts).astype(days.dtype)  # as in ``on``
    counts = np.searchsorted(days, lasts, "right") - np.searchsorted(days, firsts, "left")
    return np.maximum(counts, 0)
