"""Small register commands for hand-worked scenarios, through a TenantClient (tests/conftest.py)."""

from __future__ import annotations


def unit(t, uid: str, kind: str = "district", established_on: str = "2018-01-01", parent_id: str | None = None):
    body = {"id": uid, "name": f"Unit {uid}", "kind": kind, "established_on": established_on}
    if parent_id:
        body["parent_id"] = parent_id
    return t.post("/units", body)


def workplace(t, wid: str, unit_id: str, workers: int, as_of: str = "2019-01-01"):
    return t.post(
        "/workplaces",
        {
            "id": wid,
            "name": f"Workplace {wid}",
            "sector": "private_enterprise",
            "unit_id": unit_id,
            "workers": workers,
            "female_workers": workers // 2,
            "as_of": as_of,
        },
    )


def union(t, uid: str, workplace_id: str, unit_id: str, founded_on: str):
    return t.post(
        "/unions",
        {"id": uid, "name": f"Union {uid}", "workplace_id": workplace_id, "unit_id": unit_id, "founded_on": founded_on},
    )


def admit(t, mid: str, union_id: str, admitted_on: str):
    return t.post(
        "/members",
        {"id": mid, "union_id": union_id, "admitted_on": admitted_on, "full_name": f"Member {mid}", "gender": "female"},
    )


def leave(t, mid: str, left_on: str):
    return t.post(f"/members/{mid}/departure", {"left_on": left_on, "reason": "resigned"})
