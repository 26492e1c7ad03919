"""Reads of the register's views: entities, histories, the audit trail, and the facts
the domain's cross-entity rules need."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from projections.base import Transaction, day, from_day, from_micros
from projections.ledger import Ledger
from projections.membership import Membership

UNIT_COLS = "unit_id, name, kind, parent_id, established_on, closed_on, successor_id, version, created_at, updated_at"
WORKPLACE_COLS = (
    "workplace_id, name, sector, unit_id, registered_on, workers, female_workers, as_of,"
    " version, created_at, updated_at"
)
UNION_COLS = (
    "union_id, name, workplace_id, unit_id, founded_on, founded_at, decision_no, dissolved_on,"
    " dissolution_reason, version, updated_at"
)
MEMBER_COLS = (
    "member_id, union_id, gender, admitted_union_id, admitted_on, admitted_at, left_on,"
    " leave_reason, personal, version, updated_at"
)


class RegisterViews:
    """Current state, history and audit entries as plain dicts; the service shapes them."""

    def __init__(self, transaction: Transaction, ledger: Ledger | None = None):
        self.transaction = transaction
        self.ledger = ledger  # where the audit trail reads what each event said (its store sets it)

    def _one(self, sql: str, params: tuple) -> tuple | None:
        with self.transaction() as cur:
            return cur.execute(sql, params).fetchone()

    # ---- entities ------------------------------------------------------------
    def unit(self, unit_id: str) -> dict | None:
        return self.units([unit_id]).get(unit_id)

    def units(self, unit_ids: list[str]) -> dict[str, dict]:
        """unit id -> current state, for those that exist (one query)."""
        with self.transaction() as cur:
            rows = cur.rows_for(f"SELECT {UNIT_COLS} FROM unit_state WHERE unit_id IN ({{ids}})", unit_ids)
        return {row[0]: _unit(row) for row in rows}

    def workplace(self, workplace_id: str) -> dict | None:
        return self.workplaces([workplace_id]).get(workplace_id)

    def workplaces(self, workplace_ids: list[str]) -> dict[str, dict]:
        """workplace id -> current state with its active union, for those that exist (two queries)."""
        if not workplace_ids:
            return {}
        with self.transaction() as cur:
            rows = cur.rows_for(
                f"SELECT {WORKPLACE_COLS} FROM workplace_state WHERE workplace_id IN ({{ids}})", workplace_ids
            )
            unions = dict(
                cur.rows_for(
                    "SELECT workplace_id, union_id FROM union_state WHERE dissolved_on IS NULL"
                    " AND workplace_id IN ({ids})",
                    workplace_ids,
                )
            )
        return {row[0]: _workplace(row, unions.get(row[0])) for row in rows}

    def union(self, union_id: str) -> dict | None:
        return self.unions([union_id]).get(union_id)

    def union_rating(self, union_id: str | None, on: date) -> str | None:
        """The latest record of the latest year rated up to ``on``'s year, decided on or before ``on``."""
        with self.transaction() as cur:
            return cur.scalar(
                "SELECT rating FROM union_ratings WHERE union_id = ? AND decided_on <= ? AND year <= ?"
                " ORDER BY year DESC, position DESC LIMIT 1",
                (union_id, day(on), on.year),
            )

    def unions(self, union_ids: list[str]) -> dict[str, dict]:
        """union id -> current state with its active members, for those that exist (two queries)."""
        if not union_ids:
            return {}
        with self.transaction() as cur:
            rows = cur.rows_for(f"SELECT {UNION_COLS} FROM union_state WHERE union_id IN ({{ids}})", union_ids)
            members = dict(
                cur.rows_for(
                    "SELECT holder_id, COUNT(*) FROM member_spans WHERE superseded_at IS NULL AND valid_to IS NULL"
                    " AND holder_id IN ({ids}) GROUP BY holder_id",
                    union_ids,
                )
            )
        return {row[0]: _union(row, members.get(row[0], 0)) for row in rows}

    def member(self, member_id: str) -> dict | None:
        return self.members([member_id]).get(member_id)

    def members(self, member_ids: list[str]) -> dict[str, dict]:
        """member id -> current state, for those that exist (one query)."""
        if not member_ids:
            return {}
        with self.transaction() as cur:
            rows = cur.rows_for(f"SELECT {MEMBER_COLS} FROM member_state WHERE member_id IN ({{ids}})", member_ids)
        return {row[0]: _member(row) for row in rows}

    # ---- audit -------------------------------------------------------------
    def audit(
        self,
        *,
        entity_type: str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        since: int | None = None,
        until: int | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> tuple[list[dict], int | None]:
        """Entries oldest first, and the cursor of the next page (None on the last)."""
        with self.transaction() as cur:
            key = "notification_id" if cur.dialect == "postgres" else "rowid"
            clauses, params = [], []
            for column, value, op in (
                ("entity_type", entity_type, "="),
                ("entity_id", entity_id, "="),
                ("actor", actor, "="),
                ("recorded_at", since, ">="),
                ("recorded_at", until, "<="),
                (key, after, ">"),
            ):
                if value is not None:
                    clauses.append(f"{column} {op} ?")
                    params.append(value)
            where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
            rows = cur.execute(
                f"SELECT {key}, recorded_at, actor, event, entity_type, entity_id, business_date, originator_version"
                f" FROM {self._ledger().table} {where} ORDER BY {key} LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            data = self._ledger().data(cur, [row[0] for row in rows])
        entries = [
            {
                "position": p,
                "recorded_at": from_micros(r),
                "actor": a,
                "event": e,
                "entity_type": t,
                "entity_id": i,
                "business_date": from_day(b),
                "version": v,
                "data": data.get(p, {}),  # {} where the ledger's row was deleted under the service
            }
            for p, r, a, e, t, i, b, v in rows
        ]
        return entries, (rows[-1][0] if more and rows else None)

    # ---- facts for the domain's rules ---------------------------------------
    def active_members_in_union(self, union_id: str, on: date) -> int:
        with self.transaction() as cur:
            return cur.scalar(
                "SELECT COUNT(*) FROM member_spans WHERE holder_id = ? AND superseded_at IS NULL"
                " AND (valid_to IS NULL OR valid_to > ?)",
                (union_id, day(on)),
            )

    def active_union_at_workplace(self, workplace_id: str, on: date) -> str | None:
        with self.transaction() as cur:
            return cur.scalar(
                "SELECT union_id FROM union_state WHERE workplace_id = ? AND (dissolved_on IS NULL OR dissolved_on > ?)"
                " ORDER BY founded_on LIMIT 1",
                (workplace_id, day(on)),
            )

    def active_under_unit(self, unit_id: str, on: date) -> int:
        with self.transaction() as cur:
            return sum(
                cur.scalar(
                    f"SELECT COUNT(*) FROM {table} WHERE holder_id = ? AND superseded_at IS NULL"
                    " AND (valid_to IS NULL OR valid_to > ?)",
                    (unit_id, day(on)),
                )
                for table in ("unit_spans", "union_spans", "workplace_spans")
            )

    # ---- bulk reads for imports ---------------------------------------------
    def _chunked(self, sql: str, ids: list[str]) -> list[tuple]:
        with self.transaction() as cur:
            return cur.rows_for(sql, ids)

    def creations(self, entity_type: str, ids: list[str]) -> dict[str, dict]:
        """The data each entity was created with (its first event), by id."""
        with self.transaction() as cur:
            key = "notification_id" if cur.dialect == "postgres" else "rowid"
            rows = cur.rows_for(
                f"SELECT entity_id, {key} FROM {self._ledger().table} WHERE entity_type = '"
                + entity_type
                + "' AND originator_version = 1 AND entity_id IN ({ids})",
                ids,
            )
            data = self._ledger().data(cur, [position for _entity, position in rows])
        return {entity: data[position] for entity, position in rows if position in data}

    def _ledger(self) -> Ledger:
        if self.ledger is None:
            raise RuntimeError("the audit trail is read with its ledger: the store sets RegisterViews.ledger")
        return self.ledger

    def unit_facts(self, ids: list[str]) -> dict[str, SimpleNamespace]:
        rows = self._chunked(
            "SELECT unit_id, established_on, closed_on, successor_id FROM unit_state WHERE unit_id IN ({ids})", ids
        )
        return {
            u: SimpleNamespace(unit_id=u, established_on=from_day(e), closed_on=from_day(c), successor_id=s)
            for u, e, c, s in rows
        }

    def workplace_registrations(self, ids: list[str]) -> dict[str, date]:
        rows = self._chunked(
            "SELECT workplace_id, registered_on FROM workplace_state WHERE workplace_id IN ({ids})", ids
        )
        return {w: from_day(r) for w, r in rows}

    def union_facts(self, ids: list[str]) -> dict[str, SimpleNamespace]:
        rows = self._chunked(
            "SELECT union_id, founded_on, dissolved_on FROM union_state WHERE union_id IN ({ids})", ids
        )
        return {u: SimpleNamespace(union_id=u, founded_on=from_day(f), dissolved_on=from_day(d)) for u, f, d in rows}

    def unions_at_workplaces(self, ids: list[str]) -> dict[str, list[SimpleNamespace]]:
        rows = self._chunked(
            "SELECT workplace_id, union_id, founded_on, dissolved_on FROM union_state WHERE workplace_id IN ({ids})",
            ids,
        )
        out: dict[str, list[SimpleNamespace]] = {}
        for w, u, f, d in rows:
            out.setdefault(w, []).append(SimpleNamespace(union_id=u, founded_on=from_day(f), dissolved_on=from_day(d)))
        return out

    def dump(self, tables: list[str]) -> dict[str, list[tuple]]:
        """Every row of the given tables in a stable order (to compare a rebuild with the live views)."""
        with self.transaction() as cur:
            return {t: sorted(cur.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def admitted_member(event: Any) -> dict:
    """The member as ``member_state`` holds them once their admission (MemberAdmitted) is applied,
    worked out from the event instead of read back."""
    mid, union, gender, first_union, adm, adm_at, personal, version, updated = Membership.admitted_state(event)
    return _member((mid, union, gender, first_union, adm, adm_at, None, None, personal, version, updated))


def _member(row: tuple) -> dict:
    mid, union, gender, first_union, adm, adm_at, left, reason, personal, version, updated = row
    return {
        "id": mid,
        "union_id": union,
        "gender": gender,
        "admitted_union_id": first_union,
        "admitted_on": from_day(adm),
        "left_on": from_day(left),
        "leave_reason": reason,
        "status": "left" if left is not None else "active",
        "personal": personal,
        "version": version,
        "recorded_at": from_micros(adm_at),
        "updated_at": from_micros(updated),
    }


def _unit(row: tuple) -> dict:
    uid, name, kind, parent, est, closed, succ, version, created, updated = row
    return {
        "id": uid,
        "name": name,
        "kind": kind,
        "parent_id": parent,
        "established_on": from_day(est),
        "closed_on": from_day(closed),
        "successor_id": succ,
        "status": "closed" if closed is not None else "active",
        "version": version,
        "recorded_at": from_micros(created),
        "updated_at": from_micros(updated),
    }


def _workplace(row: tuple, union: str | None) -> dict:
    wid, name, sector, unit, reg, workers, female, as_of, version, created, updated = row
    return {
        "id": wid,
        "name": name,
        "sector": sector,
        "unit_id": unit,
        "registered_on": from_day(reg),
        "workers": workers,
        "female_workers": female,
        "as_of": from_day(as_of),
        "union_id": union,
        "version": version,
        "recorded_at": from_micros(created),
        "updated_at": from_micros(updated),
    }


def _union(row: tuple, members: int) -> dict:
    uid, name, wp, unit, founded, founded_at, decision, dissolved, reason, version, updated = row
    return {
        "id": uid,
        "name": name,
        "workplace_id": wp,
        "unit_id": unit,
        "founded_on": from_day(founded),
        "decision_no": decision,
        "dissolved_on": from_day(dissolved),
        "dissolution_reason": reason,
        "status": "dissolved" if dissolved is not None else "active",
        "active_members": members,
        "version": version,
        "recorded_at": from_micros(founded_at),
        "updated_at": from_micros(updated),
    }
