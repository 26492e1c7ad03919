"""The dues and training records the latest known at an instant, picked by ``at <= K < later``,
are those a pass over the records known at K picks (each the last of its union and period)."""

from __future__ import annotations

import numpy as np
import pytest

from projections.indicators import ratings_by_union, records_in_order


def latest_by_pass(table: dict[str, np.ndarray], keys: tuple[str, ...], k: int) -> list[int]:
    order = table["order"]
    known = order[table["at"][order] <= k]
    last = np.ones(len(known), bool)
    if len(known) > 1:
        same = np.ones(len(known) - 1, bool)
        for key in keys:
            same &= table[key][known][1:] == table[key][known][:-1]
        last[:-1] = ~same
    return known[last].tolist()


@pytest.mark.parametrize("k", [0, 1_000, 1_450, 1_700, 2_000, 10**15, 2**62])
def test_latest_dues_and_training_as_known(k):
    rng = np.random.default_rng(5)
    n = 300
    table = {
        "union": rng.integers(0, 6, n),
        "start": rng.integers(0, 3, n) * 100,
        "end": rng.integers(0, 2, n) * 100 + 400,
        "year": rng.integers(2020, 2023, n),
        "pos": rng.permutation(n),
        "at": rng.integers(1_000, 2_000, n),  # not in the order of position: recorded concurrently
    }
    table["at"][:20] = 1_450  # some recorded at one instant
    for base, keys in (("dues_collected_pct", ("union", "start", "end")), ("officials_trained_pct", ("union", "year"))):
        table["order"] = np.lexsort((table["pos"], *(table[key] for key in reversed(keys))))
        c = records_in_order(table, base)
        picked = c["order"][(c["at"] <= k) & (c["later"] > k)]
        assert picked.tolist() == latest_by_pass(table, keys, k)


def test_ratings_by_union_places():
    ratings = {
        name: np.array(v) for name, v in {"union": [2, 0, 2, 2], "year": [1, 1, 2, 1], "good": [1, 0, 1, 0]}.items()
    }
    ratings.update(decided_on=np.zeros(4, np.int64), at=np.zeros(4, np.int64), pos=np.arange(4))
    ratings["order"] = np.lexsort((ratings["pos"], ratings["year"], ratings["union"]))
    r = ratings_by_union(ratings, 4)
    assert r["union"].tolist() == [0, 2, 2, 2] and r["first"].tolist() == [0, 1, 1, 4, 4]
