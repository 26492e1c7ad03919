"""Lists of the register as it stood on a date: units and their tree, workplaces, unions and
members, filtered, in id order, a page at a time (``after``: the last id of the page before).

A unit filter means the unit and everything under it on that date: child units through the
unit placements, unions placed under those units on the date (a union dissolved by then counts
under the unit that held it on its last day), and members in those unions. Members are those
admitted by the date: active on it, or gone by it (placed by the union they left).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from projections.base import Transaction, ViewCursor, day

# Up to this many unions, a page of a unit's members is read union by union (see _page_by_union).
FEW_UNIONS = 64
# Each union's first this many members (or more, for a page) are read first (see _page_by_union).
UNION_FIRSTS = 8
# A page of the members a search found is looked for among this many of them first (see _slices).
AMONG_SLICE = 400


@dataclass(frozen=True)
class UnitOnDay:
    id: str
    name: str
    kind: str
    parent_id: str | None


class RegisterLists:
    def __init__(self, transaction: Transaction):
        self.transaction = transaction

    # ---- the structure -----------------------------------------------------------------------------
    def units_on(self, on: date) -> dict[str, UnitOnDay]:
        """Every unit active on ``on``, with the unit it was placed under that day."""
        d = day(on)
        with self.transaction() as cur:
            units = cur.execute(
                "SELECT unit_id, name, kind FROM unit_state WHERE established_on <= ?"
                " AND (closed_on IS NULL OR closed_on > ?)",
                (d, d),
            ).fetchall()
            parents = dict(
                cur.execute(
                    "SELECT entity_id, holder_id FROM unit_spans WHERE superseded_at IS NULL AND valid_from <= ?"
                    " AND (valid_to IS NULL OR valid_to > ?)",
                    (d, d),
                ).fetchall()
            )
        active = {u for u, _n, _k in units}
        return {
            u: UnitOnDay(u, name, kind, parents.get(u) if parents.get(u) in active else None) for u, name, kind in units
        }

    def tree(self, on: date) -> list[dict[str, Any]]:
        """The units active on ``on`` as a tree: roots (no parent that day) with their children, by id."""
        units = self.units_on(on)
        children: dict[str | None, list[UnitOnDay]] = defaultdict(list)
        for unit in sorted(units.values(), key=lambda u: u.id):
            children[unit.parent_id].append(unit)

        def node(unit: UnitOnDay) -> dict[str, Any]:
            return {
                "id": unit.id,
                "name": unit.name,
                "kind": unit.kind,
                "children": [node(c) for c in children[unit.id]],
            }

        return [node(root) for root in children[None]]

    def units_under(self, unit_id: str, on: date) -> list[str]:
        """The unit and every unit under it on ``on``."""
        children: dict[str, list[str]] = defaultdict(list)
        for unit in self.units_on(on).values():
            if unit.parent_id is not None:
                children[unit.parent_id].append(unit.id)
        found: list[str] = []
        waiting = [unit_id]
        while waiting:
            current = waiting.pop()
            if current not in found:
                found.append(current)
                waiting.extend(children[current])
        return found

    def unions_under(self, unit_ids: list[str], on: date) -> list[str]:
        """Unions placed under these units on ``on``, and those dissolved by then whose last day was
        under one of them."""
        d = day(on)
        with self.transaction() as cur:
            holders, params = _member_of(cur, "holder_id", unit_ids)
            rows = cur.execute(
                "SELECT entity_id FROM union_spans WHERE superseded_at IS NULL AND valid_from <= ?"
                f" AND (valid_to IS NULL OR valid_to > ?) AND {holders}"
                " UNION SELECT s.entity_id FROM union_spans s JOIN union_state u ON u.union_id = s.entity_id"
                " WHERE u.dissolved_on <= ? AND s.superseded_at IS NULL AND s.terminal = 1"
                f" AND s.valid_to = u.dissolved_on AND s.{holders}",
                (d, d, *params, d, *params),
            ).fetchall()
        return [u for (u,) in rows]

    # ---- pages ----------------------------------------------------------------------------------------
    def unit_ids(
        self, on: date, parent_id: str | None, after: str | None, limit: int, among: set[str] | None = None
    ) -> list[str]:
        units = self.units_on(on).values()
        chosen = sorted(
            u.id for u in units if (parent_id is None or u.parent_id == parent_id) and (among is None or u.id in among)
        )
        return [u for u in chosen if after is None or u > after][:limit]

    def workplace_ids(
        self,
        on: date,
        *,
        units: list[str] | None,
        sector: str | None,
        min_workers: int | None,
        covered: bool | None,
        after: str | None,
        limit: int,
    ) -> list[str]:
        d = day(on)
        with self.transaction() as cur:
            where: list[str] = ["w.registered_on <= ?"]
            params: list[Any] = [d]
            if sector is not None:
                where.append("w.sector = ?")
                params.append(sector)
            if units is not None:
                holders, held = _member_of(cur, "s.holder_id", units)
                where.append(
                    "EXISTS (SELECT 1 FROM workplace_spans s WHERE s.entity_id = w.workplace_id"
                    f" AND s.superseded_at IS NULL AND s.valid_from <= ? AND (s.valid_to IS NULL OR s.valid_to > ?)"
                    f" AND {holders})"
                )
                params += [d, d, *held]
            if min_workers is not None:
                where.append(
                    "(SELECT v.workers FROM surveys v WHERE v.workplace_id = w.workplace_id AND v.as_of <= ?"
                    " ORDER BY v.as_of DESC, v.position DESC LIMIT 1) >= ?"
                )
                params += [d, min_workers]
            if covered is not None:
                where.append(
                    ("" if covered else "NOT ")
                    + "EXISTS (SELECT 1 FROM union_state u WHERE u.workplace_id = w.workplace_id"
                    " AND u.founded_on <= ? AND (u.dissolved_on IS NULL OR u.dissolved_on > ?))"
                )
                params += [d, d]
            return _page(
                cur, "SELECT w.workplace_id FROM workplace_state w", where, params, "w.workplace_id", after, limit
            )

    def union_ids(
        self, on: date, *, unions: list[str] | None, status: str | None, after: str | None, limit: int
    ) -> list[str]:
        d = day(on)
        with self.transaction() as cur:
            where: list[str] = ["u.founded_on <= ?"]
            params: list[Any] = [d]
            if status == "active":
                where.append("(u.dissolved_on IS NULL OR u.dissolved_on > ?)")
                params.append(d)
            elif status == "dissolved":
                where.append("u.dissolved_on <= ?")
                params.append(d)
            if unions is not None:
                chosen, listed = _member_of(cur, "u.union_id", unions)
                where.append(chosen)
                params += listed
            return _page(cur, "SELECT u.union_id FROM union_state u", where, params, "u.union_id", after, limit)

    def member_ids(
        self,
        on: date,
        *,
        unions: list[str] | None,
        status: str | None,
        gender: str | None,
        among: Sequence[str] | None,
        after: str | None,
        limit: int,
    ) -> list[str]:
        """Members admitted by ``on`` (in the ``unions``; ``active`` on it or ``left`` by it; of a
        gender; ``among`` the members a search found, in id order), a page in id order."""
        found: list[str] = []
        for chosen in _slices(among):
            with self.transaction() as cur:
                # a few unions' members on PostgreSQL are read union by union (see _page_by_union)
                few = unions if unions is not None and cur.dialect == "postgres" and len(unions) <= FEW_UNIONS else None
                source, where, params = _members_on(
                    cur, on, unions if few is None else None, status, gender, chosen, "s.entity_id", gender is not None
                )
                if few is not None:
                    found += _page_by_union(cur, source, where, params, few, after, limit - len(found))
                else:
                    found += _page(cur, source, where, params, "s.entity_id", after, limit - len(found))
            if len(found) >= limit:
                break
            if found:
                after = found[-1]
        return found

    def member_rows(
        self,
        on: date,
        *,
        unions: list[str] | None,
        status: str | None,
        gender: str | None,
        among: Sequence[str] | None,
        after: str | None,
        limit: int,
        key: tuple[str, str, str] | None = None,
    ) -> list[tuple]:
        """The members ``member_ids`` pages, with their state, in one statement: (id, union,
        admitted union, admitted on, gender, sealed personal data, left on, reason, version,
        admitted at, updated at), for a file of a whole list; with ``key`` (a join, the column it
        adds and the joined table's member id), each member's key too."""
        with self.transaction() as cur:
            columns, join, joined = MEMBER_ROW, "", []
            if key is not None:  # the vault's key of each member, joined on its id
                columns, join = f"{columns}, {key[1]}", " " + key[0].format(member_id="s.entity_id")
                if after is not None:
                    join, joined = f"{join} AND {key[2]} > ?", [after]
            source, where, params = _members_on(cur, on, unions, status, gender, among, columns, True)
            source += join
            if after is not None:
                # each joined table's bound too: PostgreSQL merges a long page with the members'
                # and the keys' tables in id order, from their first row unless told where to start
                where += ["s.entity_id > ?", "m.member_id > ?"]
                params += [after, after]
            sql = f"{source} WHERE {' AND '.join(where)} ORDER BY s.entity_id LIMIT ?"
            return cur.execute(sql, (*joined, *params, limit)).fetchall()


MEMBER_ROW = (
    "s.entity_id, m.union_id, m.admitted_union_id, m.admitted_on, m.gender, m.personal, m.left_on,"
    " m.leave_reason, m.version, m.admitted_at, m.updated_at"
)


def _members_on(
    cur: ViewCursor,
    on: date,
    unions: list[str] | None,
    status: str | None,
    gender: str | None,
    among: Sequence[str] | None,
    columns: str,
    with_state: bool,
) -> tuple[str, list[str], list[Any]]:
    """The FROM and WHERE of members admitted by ``on`` and as filtered (see ``member_ids``)."""
    d = day(on)
    active = "(s.valid_to IS NULL OR s.valid_to > ?)"
    gone = "(s.terminal = 1 AND s.valid_to <= ?)"
    where: list[str] = ["s.superseded_at IS NULL", "s.valid_from <= ?"]
    params: list[Any] = [d]
    if status == "active":
        where.append(active)
        params.append(d)
    elif status == "left":
        where.append(gone)
        params.append(d)
    else:
        where.append(f"({active} OR {gone})")
        params += [d, d]
    if unions is not None:
        holders, held = _member_of(cur, "s.holder_id", unions)
        where.append(holders)
        params += held
    if among is not None:
        chosen, listed = _member_of(cur, "s.entity_id", among)
        where.append(chosen)
        params += listed
    source = f"SELECT {columns} FROM member_spans s"
    if with_state:
        source += " JOIN member_state m ON m.member_id = s.entity_id"
    if gender is not None:
        where.append("m.gender = ?")
        params.append(gender)
    return source, where, params


def _slices(among: Sequence[str] | None) -> Iterator[Sequence[str] | None]:
    """What a page of members is looked for among, in turn: ``among`` whole, or when a search found
    thousands, its first members, then more and more of the rest, rather than each one found probed
    for a page of a hundred (and the search reads no more of them than the slices asked: see
    vault.Holders)."""
    if among is None or len(among[: AMONG_SLICE + 1]) <= AMONG_SLICE:
        yield among
        return
    start, size = 0, AMONG_SLICE
    while chosen := list(among[start : start + size]):
        yield chosen
        start, size = start + size, size * 4


def _member_of(cur: ViewCursor, column: str, values: Sequence[str]) -> tuple[str, list]:
    """``column`` is one of ``values``, as one parameter: an array on PostgreSQL, JSON on SQLite."""
    if cur.dialect == "postgres":
        return f"{column} = ANY(?)", [list(values)]
    return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(list(values))]


def _page_by_union(
    cur: ViewCursor, source: str, where: list[str], params: list, unions: list[str], after: str | None, limit: int
) -> list[str]:
    """A page of members of a few unions, each union's first ones in id order (its members found by
    its holder index), merged: for a small unit PostgreSQL would otherwise walk every member in id
    order until it found a page of the unit's, or read and sort all of the unit's.

    Each member read is a row of the heap, so each union's first few are read, not a page of each:
    the page ends at the last of the first ``limit`` of those at the latest, and only the unions
    read up to below that end can hold more of it, read then up to that end."""
    if after is not None:
        where.append("s.entity_id > ?")
        params.append(after)
    each = max(UNION_FIRSTS, -(-2 * limit // max(len(unions), 1)))
    inner = f"{source} WHERE s.holder_id = h.holder AND {' AND '.join(where)} ORDER BY s.entity_id LIMIT ?"
    firsts = cur.execute(
        f"SELECT h.holder, x.entity_id FROM unnest(?::text[]) AS h(holder) CROSS JOIN LATERAL ({inner}) x"
        " ORDER BY x.entity_id",
        (list(unions), *params, each),
    ).fetchall()
    read: dict[str, int] = {}
    last: dict[str, str] = {}
    for holder, member in firsts:  # in id order: each union's last read comes last
        read[holder] = read.get(holder, 0) + 1
        last[holder] = member
    more = [holder for holder, count in read.items() if count == each]  # may hold more
    if each >= limit or not more:
        return [member for _holder, member in firsts[:limit]]
    end = firsts[limit - 1][1] if len(firsts) >= limit else None
    rest = (
        f"{source} WHERE s.holder_id = h.holder AND {' AND '.join(where)} AND s.entity_id > h.last"
        " AND (?::text IS NULL OR s.entity_id <= ?) ORDER BY s.entity_id LIMIT ?"
    )
    rows = cur.execute(
        "SELECT m FROM (SELECT x.entity_id AS m FROM unnest(?::text[], ?::text[]) AS h(holder, last)"
        f" CROSS JOIN LATERAL ({rest}) x UNION ALL SELECT unnest(?::text[])) p ORDER BY m LIMIT ?",
        (more, [last[h] for h in more], *params, end, end, limit, [m for _h, m in firsts], limit),
    ).fetchall()
    return [m for (m,) in rows]


def _page(
    cur: ViewCursor, source: str, where: list[str], params: list, key: str, after: str | None, limit: int
) -> list[str]:
    if after is not None:
        where.append(f"{key} > ?")
        params.append(after)
    rows = cur.execute(f"{source} WHERE {' AND '.join(where)} ORDER BY {key} LIMIT ?", (*params, limit)).fetchall()
    return [r[0] for r in rows]
