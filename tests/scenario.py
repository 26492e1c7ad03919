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


def unions_under(t, unit_id: str, numbers) -> None:
    """For each n, a workplace wn of 40 workers (20 women) under the unit, and its union un (2019-02-01)."""
    for n in numbers:
        t.post(
            "/workplaces",
            {
                "id": f"w{n}",
                "name": f"W{n}",
                "sector": "private_enterprise",
                "unit_id": unit_id,
                "workers": 40,
                "female_workers": 20,
                "as_of": "2019-01-01",
            },
        )
        t.post(
            "/unions",
            {"id": f"u{n}", "name": f"U{n}", "workplace_id": f"w{n}", "unit_id": unit_id, "founded_on": "2019-02-01"},
        )


def member_pages(t, limit: int, **query) -> list[list[str]]:
    """The ids of each page of GET /members, walked from the first by each page's ``next``."""
    found, after = [], None
    while True:
        page = t.get("/members", limit=limit, **query, **({"after": after} if after else {})).get_json()
        found.append([m["id"] for m in page["members"]])
        if (after := page["next"]) is None:
            return found
