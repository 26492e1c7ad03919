"""The single admissions the benchmarks send: a member of a random open union, admitted on a random
day after the union's founding and (where the clock allows) after the generated history, so that
however many a run admits, the figures of the generated years count the generated province alone."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from demo.generator import LAST_DAY, member_name
from projections.placement import Placements, holder_on


def admission_bodies(rng: random.Random, unions: list[tuple[str, date]], today: date) -> Callable[[str, int], dict]:
    """A function of a member id and a number giving an admission's body: ``unions`` are
    ``(id, founded)`` pairs; ``n`` makes the id number."""
    after = LAST_DAY + timedelta(days=1) if today > LAST_DAY else None
    last = today if after else LAST_DAY

    def admission(member_id: str, n: int) -> dict:
        union_id, founded = unions[rng.randrange(len(unions))]
        first = max(founded, after) if after else founded
        gender = rng.choice(("female", "male"))
        return {
            "id": member_id,
            "union_id": union_id,
            "admitted_on": (first + timedelta(days=rng.randint(0, (last - first).days))).isoformat(),
            "full_name": member_name(rng, gender),
            "gender": gender,
            "birth_date": "1990-05-17",
            "id_number": f"038190{n % 10**6:06d}",
        }

    return admission


def busiest_unit(store: Any, unions: list[tuple[str, date]], today: date) -> tuple[str, list[tuple[str, date]]]:
    """The unit holding the most of ``unions`` on ``today``, and the unions it holds: a scoped
    clerk's unit and where its admissions go."""
    spans = Placements(store.transaction).spans("union", [u for u, _f in unions])
    holder = {u: holder_on(spans.get(u, []), today.toordinal())[0] for u, _f in unions}
    unit = Counter(holder.values()).most_common(1)[0][0]
    return unit, [(u, f) for u, f in unions if holder[u] == unit]
