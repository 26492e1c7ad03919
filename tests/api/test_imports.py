"""Bulk import (POST /v1/tenants/{t}/imports and ``unionledger import``) as a province's staff use it.

A CSV file holds one kind of row (named by the ``kind`` field or the file name); an XLSX workbook
holds sheets "workplaces", "unions" and "members". Every row is checked first; if any is wrong the
answer lists them all and nothing is written. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import functools
from datetime import date
from io import BytesIO, StringIO
from zipfile import ZipFile

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from application import imports
from application.register import Register
from domain.imports import COLUMNS, KINDS
from persistence.vault import Sealing
from service.cli import main
from tests.conftest import ADMIN_TOKEN, TenantClient, new_tenant, tomorrow
from tests.integration.test_views import VIEW_TABLES

PROBLEM = "application/problem+json"

# ---- the province: units come from single commands, the rest from the import files ---------------

UNITS = [
    {"id": "hh", "name": "LĐLĐ huyện Hướng Hóa", "kind": "district", "established_on": "2020-01-01"},
    {"id": "late", "name": "Công đoàn KCN Nam Đông Hà", "kind": "industrial_zone", "established_on": "2025-01-01"},
]
WORKPLACES = [
    {
        "id": "dn:001",
        "name": "Công ty TNHH May Quảng Trị",
        "sector": "fdi_enterprise",
        "unit_id": "hh",
        "workers": 120,
        "female_workers": 90,
        "as_of": "2021-01-01",
    },
    {
        "id": "dn:002",
        "name": "HTX Nông nghiệp Tân Hợp",
        "sector": "cooperative",
        "unit_id": "hh",
        "workers": 15,
        "female_workers": 4,
        "as_of": "2021-01-01",
    },
    {
        "id": "dn:003",
        "name": "Cơ sở mộc Hải Lăng",
        "sector": "private_enterprise",
        "unit_id": "hh",
        "workers": 8,
        "female_workers": 3,
        "as_of": "2021-01-01",
    },
]
UNIONS = [
    {
        "id": "cdcs-001",
        "name": "CĐCS Công ty May",
        "workplace_id": "dn:001",
        "unit_id": "hh",
        "founded_on": "2021-06-01",
        "decision_no": "45/QĐ-LĐLĐ",
    },
    {
        "id": "cdcs-002",
        "name": "CĐCS HTX Tân Hợp",
        "workplace_id": "dn:002",
        "unit_id": "hh",
        "founded_on": "2022-03-01",
        "decision_no": None,
    },
]
MEMBERS = [
    {
        "id": "dv-0001",
        "union_id": "cdcs-001",
        "admitted_on": "2021-07-01",
        "full_name": "Nguyễn Thị Lan",
        "gender": "female",
        "birth_date": "1990-03-04",
        "id_number": "045190000123",
    },
    {
        "id": "dv-0002",
        "union_id": "cdcs-001",
        "admitted_on": "2021-07-01",
        "full_name": "Trần Văn Minh",
        "gender": "male",
        "birth_date": None,
        "id_number": None,
    },
    {
        "id": "dv-0003",
        "union_id": "cdcs-002",
        "admitted_on": "2022-03-01",
        "full_name": "Lê Thị Hoa",
        "gender": "female",
        "birth_date": "1995-11-20",
        "id_number": None,
    },
    {
        "id": "dv-0004",
        "union_id": "cdcs-001",
        "admitted_on": "2024-02-01",
        "full_name": "Phan Văn Đức",
        "gender": "male",
        "birth_date": None,
        "id_number": "045200000777",
    },
]
ROWS = {"workplaces": WORKPLACES, "unions": UNIONS, "members": MEMBERS}
SINGLE_COMMAND = {"workplaces": "/workplaces", "unions": "/unions", "members": "/members"}

# Worked by hand from the rows above (threshold 10 workers: dn:003 with 8 is not eligible).
# 2021-12-31: members dv-0001 dv-0002 (cdcs-001); unions cdcs-001; eligible dn:001 dn:002, covered dn:001
#             -> 1/2 = 50.0; members in covered workplaces 2 / 120 workers = 1.7
FIGURES_2021 = {
    "members_total": 2,
    "unions_total": 1,
    "workplaces_eligible": 2,
    "workplaces_covered": 1,
    "coverage_pct": 50.0,
    "member_worker_ratio_pct": 1.7,
    "members_admitted": 2,
    "unions_founded": 1,
}
# 2024-12-31: members dv-0001..4; unions cdcs-001 cdcs-002; covered dn:001 dn:002 -> 2/2 = 100.0;
#             members (3 + 1) / workers (120 + 15) = 4 / 135 = 2.96 -> 3.0; 2024 admitted dv-0004 only
FIGURES_2024 = {
    "members_total": 4,
    "unions_total": 2,
    "workplaces_eligible": 2,
    "workplaces_covered": 2,
    "coverage_pct": 100.0,
    "member_worker_ratio_pct": 3.0,
    "members_admitted": 1,
    "unions_founded": 0,
}
NOTHING = {
    "members_total": 0,
    "unions_total": 0,
    "workplaces_eligible": 0,
    "workplaces_covered": 0,
    "members_admitted": 0,
    "unions_founded": 0,
}


# ---- helpers ---------------------------------------------------------------------------------


def csv_file(kind: str, rows: list[dict], bom: bool = False) -> bytes:
    """A CSV as a spreadsheet exports it: every column of the kind, empty cells for None."""
    out = StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(COLUMNS[kind]))
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in COLUMNS[kind]])
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def xlsx_file(sheets: dict[str, list[list]]) -> bytes:
    """A workbook with one sheet per entry; each sheet's first row is its header."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(
    tenant: TenantClient,
    content: bytes | None,
    filename: str = "data.csv",
    kind: str | None = None,
    headers: dict | None = None,
):
    data = {} if content is None else {"file": (BytesIO(content), filename)}
    if kind is not None:
        data["kind"] = kind
    return tenant.client.post(
        tenant.url("/imports"),
        data=data,
        content_type="multipart/form-data",
        headers=tenant.headers if headers is None else headers,
    )


def upload_files(tenant: TenantClient, files: list[tuple[bytes, str]], kind: str | None = None):
    """One import request carrying several files (the form field ``file`` repeated)."""
    data: dict = {"file": [(BytesIO(content), name) for content, name in files]}
    if kind is not None:
        data["kind"] = kind
    return tenant.client.post(
        tenant.url("/imports"), data=data, content_type="multipart/form-data", headers=tenant.headers
    )


def imported(tenant: TenantClient, content: bytes, filename: str, kind: str | None = None) -> dict:
    response = upload(tenant, content, filename, kind)
    assert response.status_code == 201, (filename, response.status_code, response.get_json())
    return response.get_json()


def counts(workplaces: int = 0, unions: int = 0, members: int = 0) -> dict:
    return {**dict.fromkeys(KINDS, 0), "workplaces": workplaces, "unions": unions, "members": members}


def with_units(tenant: TenantClient) -> TenantClient:
    for body in UNITS:
        tenant.post("/units", body)
    return tenant


def import_all_csv(tenant: TenantClient) -> list[dict]:
    return [imported(tenant, csv_file(kind, ROWS[kind], bom=kind == "members"), f"{kind}.csv") for kind in ROWS]


def audit(tenant: TenantClient) -> list[dict]:
    return tenant.get("/audit", limit=1000).get_json()["entries"]


def history(tenant: TenantClient, path: str) -> list[dict]:
    return tenant.get(f"{path}/history").get_json()["events"]


def pick(figures: dict, codes) -> dict:
    return {code: figures[code] for code in codes}


def cli_env(settings) -> dict:
    return {
        "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
        "UNIONLEDGER_DATABASE_URL": settings.database_url or "",
        "UNIONLEDGER_CONTROL_SCHEMA": settings.control_schema,
    }


def entity_paths() -> list[str]:
    return [f"{SINGLE_COMMAND[kind]}/{row['id']}" for kind in ROWS for row in ROWS[kind]]


# ---- CSV imports -------------------------------------------------------------------------------


def test_csv_files_named_by_kind_answer_what_they_created(tenant):
    with_units(tenant)
    answers = import_all_csv(tenant)
    assert answers == [
        {"created": counts(workplaces=3), "skipped": counts()},
        {"created": counts(unions=2), "skipped": counts()},
        {"created": counts(members=4), "skipped": counts()},
    ]


def test_a_csv_with_an_unhelpful_name_is_imported_by_the_kind_field(tenant):
    with_units(tenant)
    answer = imported(tenant, csv_file("workplaces", WORKPLACES), "export (3).csv", kind="workplaces")
    assert answer == {"created": counts(workplaces=3), "skipped": counts()}
    assert tenant.get("/workplaces/dn:002").get_json()["name"] == "HTX Nông nghiệp Tân Hợp"


def test_several_csv_files_are_one_import_checked_in_the_order_of_kinds(tenant):
    """Members sent first still find the unions sent after them: rows are checked workplaces,
    then unions, then members, whatever the order of the files."""
    with_units(tenant)
    files = [(csv_file(kind, ROWS[kind]), f"hh-{kind}.csv") for kind in ("members", "unions", "workplaces")]
    response = upload_files(tenant, files)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": counts(workplaces=3, unions=2, members=4), "skipped": counts()}
    assert pick(tenant.figures("2024"), FIGURES_2024) == FIGURES_2024
    assert upload_files(tenant, files).get_json() == {"created": counts(), "skipped": counts(3, 2, 4)}


def test_a_bad_row_in_one_of_several_files_writes_none_of_them(tenant):
    with_units(tenant)
    trail = audit(tenant)
    members = [MEMBERS[0], {**MEMBERS[1], "union_id": "cdcs-404"}]
    response = upload_files(
        tenant,
        [
            (csv_file("workplaces", WORKPLACES), "workplaces.csv"),
            (csv_file("unions", UNIONS), "unions.csv"),
            (csv_file("members", members), "members.csv"),
        ],
    )
    assert response.status_code == 422, response.get_json()
    assert [(r["sheet"], r["line"], r["column"], r["rule"]) for r in response.get_json()["rows"]] == [
        ("members", 3, "union_id", "exists")
    ]
    assert audit(tenant) == trail
    assert tenant.get("/workplaces/dn:001", expect=None).status_code == 404


@pytest.mark.parametrize(
    "files, kind, field, words",
    [
        (
            [(csv_file("members", MEMBERS[:2]), "members.csv"), (csv_file("members", MEMBERS[2:]), "more-members.csv")],
            None,
            "file",
            "members come from two files (members.csv and more-members.csv)",
        ),
        (
            [
                (csv_file("members", MEMBERS), "members.csv"),
                (xlsx_file({"members": [list(COLUMNS["members"])]}), "b.xlsx"),
            ],
            None,
            "file",
            "members come from two files (members.csv and b.xlsx)",
        ),
        (
            [(csv_file("workplaces", WORKPLACES), "a.csv"), (csv_file("unions", UNIONS), "b.csv")],
            "workplaces",
            "kind",
            "not by one kind",
        ),
        (
            [(csv_file("workplaces", WORKPLACES), "workplaces.csv"), (csv_file("unions", UNIONS), "export (3).csv")],
            None,
            "kind",
            "say which kind export (3).csv holds",
        ),
    ],
    ids=["two-member-files", "a-csv-and-a-sheet-of-one-kind", "one-kind-for-several-files", "a-file-of-no-kind"],
)
def test_several_files_that_do_not_say_one_kind_each_are_refused(tenant, files, kind, field, words):
    with_units(tenant)
    trail = audit(tenant)
    response = upload_files(tenant, files, kind)
    body = response.get_json(force=True)
    assert (response.status_code, response.mimetype) == (422, PROBLEM), body
    assert words in " ".join(body["errors"][field]), body
    assert audit(tenant) == trail


def test_imported_rows_read_and_record_as_the_single_commands_do(client, admin, tenant):
    """One tenant imports the files, another posts the same rows one by one: same entities, same events."""
    with_units(tenant)
    import_all_csv(tenant)
    by_hand = with_units(new_tenant(client, admin))
    for kind, rows in ROWS.items():
        for row in rows:
            by_hand.post(SINGLE_COMMAND[kind], {k: v for k, v in row.items() if v is not None})

    def entity(t: TenantClient, path: str) -> dict:
        return {k: v for k, v in t.get(path).get_json().items() if k not in ("recorded_at", "updated_at")}

    def events(t: TenantClient, path: str) -> list[dict]:
        return [
            {
                **{k: v for k, v in e.items() if k not in ("recorded_at", "position")},
                "actor": e["actor"].replace(t.id, "<tenant>"),
            }
            for e in history(t, path)
        ]

    for path in entity_paths():
        assert entity(tenant, path) == entity(by_hand, path), path
        assert events(tenant, path) == events(by_hand, path), path
    assert [e["event"] for e in audit(tenant)] == (
        ["UnitEstablished"] * 2 + ["WorkplaceRegistered"] * 3 + ["UnionFounded"] * 2 + ["MemberAdmitted"] * 4
    )
    assert {e["actor"] for e in audit(tenant)} == {"federation_admin"}


def test_imported_admissions_are_stored_as_the_library_stores_their_events(app, tenant, settings, monkeypatch):
    """On PostgreSQL an import stores admissions straight from their state, making no event
    objects (the views derive them from the ledger); what it stores is what the library's own
    mapper writes for the event it decodes to. SQLite's views take the events themselves."""
    from eventsourcing.persistence import Mapper

    from domain.members import Member

    made: list[str] = []
    real_admission = Member.admission.__func__
    monkeypatch.setattr(
        Member,
        "admission",
        classmethod(lambda cls, **kwargs: made.append(kwargs["member_id"]) or real_admission(cls, **kwargs)),
    )
    with_units(tenant)
    import_all_csv(tenant)
    assert made == ([] if settings.backend == "postgres" else [m["id"] for m in MEMBERS])
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        library = Mapper(transcoder=store.event_store.mapper.transcoder)
        stored = [
            n for n in store.event_store.recorder.select_notifications(1, 100) if n.topic.endswith("MemberAdmitted")
        ]
        events = [library.to_domain_event(n) for n in stored]
        assert [e.member_id for e in events] == [m["id"] for m in MEMBERS]
        assert [library.to_stored_event(e).state for e in events] == [n.state for n in stored]
        assert {(e.originator_id, e.originator_version) for e in events} == {
            (Member.create_id(m["id"]), 1) for m in MEMBERS
        }


def test_an_import_pauses_the_cyclic_collector_and_gives_it_back_whatever_the_outcome(app, tenant, monkeypatch):
    """The collector would walk the import's millions of rows again and again; it is off while
    an import runs and back on after, also after an import refused or stopped by a failure."""
    import gc

    with_units(tenant)
    seen: list[bool] = []
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        real_import = imports.import_events
        monkeypatch.setattr(
            imports,
            "import_events",
            lambda *args, **kwargs: seen.append(gc.isenabled()) or real_import(*args, **kwargs),
        )
        assert gc.isenabled()
        import_all_csv(tenant)
        assert seen == [False, False, False] and gc.isenabled()
        upload(tenant, bad_workbook(), "bad.xlsx")
        assert gc.isenabled()

        def failing(*args, **kwargs):
            raise RuntimeError("the database went away")

        monkeypatch.setattr(imports, "import_events", failing)
        with pytest.raises(RuntimeError):
            Register(store).import_rows({"members": [(2, dict(MEMBERS[0], id="dv-0099"))]}, actor="t")
        assert gc.isenabled()


def test_an_import_hands_the_interpreter_lock_on_quickly_while_it_writes(app, tenant, monkeypatch):
    """While an import's chunks are written, the writer gets the lock back from the thread building
    the next chunk within WRITE_SWITCH_INTERVAL; after the import the interpreter's own interval."""
    import sys

    with_units(tenant)
    before, seen = sys.getswitchinterval(), []
    real_import = imports.import_events
    monkeypatch.setattr(
        imports,
        "import_events",
        lambda *args, **kwargs: seen.append(sys.getswitchinterval()) or real_import(*args, **kwargs),
    )
    import_all_csv(tenant)
    assert seen == [pytest.approx(imports.WRITE_SWITCH_INTERVAL)] * 3
    assert sys.getswitchinterval() == pytest.approx(before) and before > imports.WRITE_SWITCH_INTERVAL


def test_views_written_from_an_import_equal_the_views_rebuilt_from_the_ledger(app, tenant):
    """An import applies its events to the views as they are in memory; the ledger says the same."""
    with_units(tenant)
    import_all_csv(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        assert store.rebuild() == 11
        rebuilt = store.views.dump(VIEW_TABLES)
    # the admissions' flows are their spans: no row of member_flows
    assert len(live["member_state"]) == 4 and len(live["member_spans"]) == 4 and live["member_flows"] == []
    assert rebuilt == live
    assert len(tenant.get("/audit", limit=100).get_json()["entries"]) == 11


def test_a_large_import_renews_the_planner_statistics_of_the_ledger_and_the_views(app, tenant, monkeypatch):
    """Without statistics PostgreSQL plans a lookup of a few events in a freshly filled ledger as
    a scan of all of it; so a large import analyses the ledger's tables, not only the views."""

    monkeypatch.setattr(imports, "ANALYZE_AFTER", 1)
    with_units(tenant)
    import_all_csv(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        tables = (store.event_store.recorder.events_table_name, "ledger_chain", "personal_keys", "member_state")
        with store.transaction() as cur:
            if cur.dialect == "postgres":
                analysed = cur.execute(
                    "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
                    " AND last_analyze IS NOT NULL"
                ).fetchall()
            else:
                analysed = cur.execute("SELECT DISTINCT tbl FROM sqlite_stat1").fetchall()
    assert set(tables) <= {name for (name,) in analysed}


def test_an_imported_member_shows_their_personal_data(tenant):
    with_units(tenant)
    import_all_csv(tenant)
    wanted = ("union_id", "admitted_on", "full_name", "gender", "birth_date", "id_number", "status")
    assert [pick(tenant.get(f"/members/{m['id']}").get_json(), wanted) for m in MEMBERS] == [
        {**pick(m, wanted[:-1]), "status": "active"} for m in MEMBERS
    ]
    admitted = history(tenant, "/members/dv-0001")[0]["data"]
    assert (admitted["full_name"], admitted["birth_date"], admitted["id_number"]) == (
        "Nguyễn Thị Lan",
        "1990-03-04",
        "045190000123",
    )


def test_indicators_count_an_import_as_soon_as_it_is_answered(tenant):
    with_units(tenant)
    assert pick(tenant.figures("2024"), NOTHING) == NOTHING
    import_all_csv(tenant)
    assert pick(tenant.figures("2021"), FIGURES_2021) == FIGURES_2021
    assert pick(tenant.figures("2024"), FIGURES_2024) == FIGURES_2024
    assert tenant.get("/unions/cdcs-001").get_json()["active_members"] == 3
    assert tenant.get("/workplaces/dn:002").get_json()["union_id"] == "cdcs-002"


# ---- XLSX ---------------------------------------------------------------------------------------


def as_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def province_workbook() -> bytes:
    """Workplaces with ISO date strings; unions and members with real date cells."""

    def header(kind: str) -> list[str]:
        return list(COLUMNS[kind])

    workplaces = [header("workplaces")] + [[w[c] for c in COLUMNS["workplaces"]] for w in WORKPLACES]
    unions = [header("unions")] + [
        [as_day(u[c]) if c == "founded_on" else u[c] for c in COLUMNS["unions"]] for u in UNIONS
    ]
    members = [header("members")] + [
        [as_day(m[c]) if c in ("admitted_on", "birth_date") else m[c] for c in COLUMNS["members"]] for m in MEMBERS
    ]
    return xlsx_file({"workplaces": workplaces, "unions": unions, "members": members})


def test_a_workbook_imports_workplaces_unions_and_their_members_in_one_upload(tenant):
    with_units(tenant)
    answer = imported(tenant, province_workbook(), "Hướng Hóa 2025.xlsx")
    assert answer == {"created": counts(3, 2, 4), "skipped": counts()}
    union = tenant.get("/unions/cdcs-002").get_json()
    assert (union["founded_on"], union["decision_no"], union["workplace_id"]) == ("2022-03-01", None, "dn:002")
    member = tenant.get("/members/dv-0003").get_json()
    assert (member["admitted_on"], member["birth_date"], member["union_id"]) == ("2022-03-01", "1995-11-20", "cdcs-002")
    assert tenant.get("/workplaces/dn:001").get_json()["as_of"] == "2021-01-01"
    assert pick(tenant.figures("2024"), FIGURES_2024) == FIGURES_2024


def test_a_workbooks_cells_read_as_the_spreadsheet_shows_them(tenant):
    """Whole numbers typed as numbers (an id number, a workforce), dates typed as dates, a sheet
    named with capitals and spaces, a blank row in the middle and blank cells: the rows read as
    they look, and a bad row is named by the line the spreadsheet shows."""
    with_units(tenant)
    mb, wp = list(COLUMNS["members"]), list(COLUMNS["workplaces"])
    content = xlsx_file(
        {
            " Workplaces ": [wp, ["dn:001", "Công ty May", "fdi_enterprise", "hh", 120.0, 90, date(2021, 1, 1)]],
            "unions": [list(COLUMNS["unions"]), [UNIONS[0][c] for c in COLUMNS["unions"]]],
            "MEMBERS": [
                mb,
                ["dv-0001", "cdcs-001", date(2021, 7, 1), "Nguyễn Thị Lan", "female", date(1990, 3, 4), 45190000123],
                [None] * 7,
                ["dv-0002", "cdcs-001", "2021-07-01", "Trần Văn Minh", "male", None, ""],
            ],
        }
    )
    answer = imported(tenant, content, "province.xlsx")
    assert answer == {"created": counts(1, 1, 2), "skipped": counts()}
    member = tenant.get("/members/dv-0001").get_json()
    assert (member["id_number"], member["birth_date"], member["admitted_on"]) == (
        "45190000123",
        "1990-03-04",
        "2021-07-01",
    )
    assert tenant.get("/members/dv-0002").get_json()["id_number"] is None
    assert tenant.get("/workplaces/dn:001").get_json()["workers"] == 120

    bad = xlsx_file({"members": [mb, [None] * 7, ["dv-0003", "cdcs-001", "2021-07-01", "Lê Hoa", "female", None, 1.5]]})
    rows = upload(tenant, bad, "bad.xlsx").get_json(force=True)["rows"]
    assert [(r["sheet"], r["line"], r["column"], r["rule"]) for r in rows] == [("members", 3, "id_number", "id_number")]


# ---- all or nothing ------------------------------------------------------------------------------


def seed_existing_union(tenant: TenantClient) -> None:
    """Already in the register: workplace dn:100 with its active union cdcs-100."""
    with_units(tenant)
    tenant.post("/workplaces", {**WORKPLACES[0], "id": "dn:100", "name": "Công ty Cao su"})
    tenant.post("/unions", {**UNIONS[0], "id": "cdcs-100", "workplace_id": "dn:100", "name": "CĐCS Cao su"})


def bad_workbook() -> bytes:
    """Nine bad rows (BAD_ROWS); the future admission dated the day after today, as of the call."""
    wp, un, mb = (list(COLUMNS[k]) for k in ("workplaces", "unions", "members"))
    return xlsx_file(
        {
            "workplaces": [
                wp,
                ["dn:001", "Công ty May", "fdi_enterprise", "hh", 120, 90, "2021-01-01"],  # 2 good
                ["dn:002", "", "cooperative", "hh", 15, 4, "2021-01-01"],  # 3 name missing
                ["dn:001", "Công ty May (bis)", "fdi_enterprise", "hh", 120, 90, "2021-01-01"],  # 4 id twice
                ["dn:004", "Công ty Gạch", "private_enterprise", "hh", 30, 5, "2021-01-01"],  # 5 good
            ],
            "unions": [
                un,
                ["cdcs-001", "CĐCS May", "dn:001", "hh", date(2021, 6, 1), None],  # 2 good
                ["cdcs-004", "CĐCS Gạch", "dn:004", "late", date(2024, 6, 1), None],  # 3 'late' opens in 2025
                ["cdcs-101", "CĐCS Cao su 2", "dn:100", "hh", date(2023, 1, 1), None],  # 4 dn:100 has cdcs-100
                ["cdcs-002", "CĐCS May 2", "dn:001", "hh", date(2022, 1, 1), None],  # 5 dn:001 has cdcs-001 (line 2)
            ],
            "members": [
                mb,
                ["dv-0001", "cdcs-001", date(2021, 7, 1), "Nguyễn Thị Lan", "female", None, None],  # 2 good
                ["dv-0002", "cdcs-001", date(2021, 7, 1), "Trần Văn Minh", "nam", None, None],  # 3 gender
                ["dv-0003", "cdcs-001", tomorrow().isoformat(), "Lê Thị Hoa", "female", None, None],  # 4 future
                [],  # 5 blank
                ["dv-0004", "cdcs-404", date(2022, 1, 1), "Phan Văn Đức", "male", None, None],  # 6 no union
                ["dv-0001", "cdcs-001", date(2021, 7, 1), "Nguyễn Thị Lan", "female", None, None],  # 7 id twice
            ],
        }
    )


BAD_ROWS = [
    ("workplaces", 3, "name", "required"),
    ("workplaces", 4, "id", "unique_id"),
    ("unions", 3, "unit_id", "unit_active"),
    ("unions", 4, "workplace_id", "one_union_per_workplace"),
    ("unions", 5, "workplace_id", "one_union_per_workplace"),
    ("members", 3, "gender", "one_of"),
    ("members", 4, "admitted_on", "not_future"),
    ("members", 6, "union_id", "exists"),
    ("members", 7, "id", "unique_id"),
]


def test_a_workbook_with_bad_rows_lists_every_one_and_writes_nothing(tenant):
    seed_existing_union(tenant)
    trail, figures = audit(tenant), tenant.figures("2024")
    response = upload(tenant, bad_workbook(), "import.xlsx")
    body = response.get_json(force=True)
    assert (response.status_code, response.mimetype, body["status"]) == (422, PROBLEM, 422), body
    assert [(r["sheet"], r["line"], r["column"], r["rule"]) for r in body["rows"]] == BAD_ROWS
    assert all(isinstance(r["message"], str) and r["message"] for r in body["rows"])
    assert audit(tenant) == trail
    assert tenant.figures("2024") == figures
    for path in ("/workplaces/dn:001", "/workplaces/dn:004", "/unions/cdcs-001", "/members/dv-0001"):
        assert tenant.get(path, expect=None).status_code == 404, path


def test_a_column_the_sheet_does_not_have_is_named_on_every_row(tenant):
    """A typo in a header (or a column of the clerk's own) is not silently dropped."""
    with_units(tenant)
    content = (
        "id,name,sector,unit_id,workers,female_workers,as_of,ghi_chu\r\n"
        "dn:001,Công ty May,fdi_enterprise,hh,120,90,2021-01-01,\r\n"
        "dn:002,HTX Tân Hợp,cooperative,hh,15,4,2021-01-01,đã khảo sát\r\n"
    ).encode()
    response = upload(tenant, content, "workplaces.csv")
    assert response.status_code == 422, response.get_json()
    assert [(r["line"], r["column"], r["rule"]) for r in response.get_json()["rows"]] == [
        (2, "ghi_chu", "unknown_column"),
        (3, "ghi_chu", "unknown_column"),
    ]
    assert tenant.get("/workplaces/dn:001", expect=None).status_code == 404


def test_a_csv_with_bad_rows_names_them_by_the_line_a_spreadsheet_shows(tenant):
    """Header is line 1; a blank line still counts; the first bad column of a row is named."""
    with_units(tenant)
    imported(tenant, csv_file("workplaces", WORKPLACES), "workplaces.csv")
    imported(tenant, csv_file("unions", UNIONS), "unions.csv")
    trail, figures = audit(tenant), tenant.figures("2024")
    rows = [
        MEMBERS[0],  # 2 good
        {**MEMBERS[1], "birth_date": "1990-02-30"},  # 3 not a date
        {**MEMBERS[2], "full_name": "  "},  # 4 blank name
        {**MEMBERS[3], "admitted_on": "2020-01-01"},
    ]  # 6 before cdcs-001 was founded
    content = csv_file("members", rows[:3], bom=True) + b"\r\n" + csv_file("members", rows[3:]).split(b"\r\n", 1)[1]
    response = upload(tenant, content, "hh_members.csv")
    assert response.status_code == 422, response.get_json()
    assert [(r["sheet"], r["line"], r["column"], r["rule"]) for r in response.get_json()["rows"]] == [
        ("members", 3, "birth_date", "date"),
        ("members", 4, "full_name", "required"),
        ("members", 6, "union_id", "union_active"),
    ]
    assert audit(tenant) == trail
    assert tenant.figures("2024") == figures
    assert tenant.get("/members/dv-0001", expect=None).status_code == 404


# ---- repeat safety ---------------------------------------------------------------------------------


def test_importing_the_same_files_again_skips_every_row(tenant):
    with_units(tenant)
    import_all_csv(tenant)
    trail = audit(tenant)
    assert import_all_csv(tenant) == [
        {"created": counts(), "skipped": counts(workplaces=3)},
        {"created": counts(), "skipped": counts(unions=2)},
        {"created": counts(), "skipped": counts(members=4)},
    ]
    assert imported(tenant, province_workbook(), "again.xlsx") == {"created": counts(), "skipped": counts(3, 2, 4)}
    assert audit(tenant) == trail
    assert pick(tenant.figures("2024"), FIGURES_2024) == FIGURES_2024


def test_a_file_imported_again_after_later_changes_is_still_skipped(tenant):
    """A survey and a transfer since the first import do not make the file's rows "other content"."""
    with_units(tenant)
    import_all_csv(tenant)
    tenant.post("/workplaces/dn:001/surveys", {"workers": 150, "female_workers": 100, "as_of": "2023-11-30"})
    tenant.post("/members/dv-0002/transfer", {"to_union_id": "cdcs-002", "effective_on": "2024-01-01"})
    trail = audit(tenant)
    answer = imported(tenant, province_workbook(), "again.xlsx")
    assert answer == {"created": counts(), "skipped": counts(3, 2, 4)}
    assert audit(tenant) == trail


def test_an_existing_id_with_other_content_is_refused_and_nothing_written(tenant):
    with_units(tenant)
    import_all_csv(tenant)
    trail = audit(tenant)
    rows = [
        *MEMBERS,
        {
            "id": "dv-0005",
            "union_id": "cdcs-002",
            "admitted_on": "2024-03-01",
            "full_name": "Võ Thị Mai",
            "gender": "female",
        },
    ]
    rows[1] = {**rows[1], "full_name": "Trần Văn Mạnh"}
    response = upload(tenant, csv_file("members", rows), "members.csv")
    assert response.status_code == 422, response.get_json()
    assert [(r["line"], r["column"], r["rule"]) for r in response.get_json()["rows"]] == [(3, "id", "unique_id")]
    assert audit(tenant) == trail
    assert tenant.get("/members/dv-0002").get_json()["full_name"] == "Trần Văn Minh"
    assert tenant.get("/members/dv-0005", expect=None).status_code == 404


# ---- refused requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, filename, kind, field",
    [
        (None, None, "members", "file"),
        (csv_file("members", MEMBERS), "export.csv", None, "kind"),
        (csv_file("members", MEMBERS), "export.csv", "people", "kind"),
        (b"PK\x03\x04 this is not a workbook", "members.xlsx", None, "file"),
    ],
    ids=["no-file", "csv-without-kind", "unknown-kind", "unreadable-xlsx"],
)
def test_an_upload_that_cannot_be_read_is_refused_naming_the_field(tenant, content, filename, kind, field):
    with_units(tenant)
    trail = audit(tenant)
    response = upload(tenant, content, filename, kind)
    body = response.get_json(force=True)
    assert (response.status_code, response.mimetype) == (422, PROBLEM), body
    assert field in body["errors"], body
    assert audit(tenant) == trail


def test_a_text_field_sent_as_the_file_is_refused_naming_it(tenant):
    with_units(tenant)
    response = tenant.client.post(
        tenant.url("/imports"),
        data={"file": "workplaces.csv"},
        content_type="multipart/form-data",
        headers=tenant.headers,
    )
    body = response.get_json(force=True)
    assert (response.status_code, response.mimetype) == (422, PROBLEM), body
    assert "must be a file part" in " ".join(body["errors"]["file.0"]), body  # the first part named "file"


def test_an_unreadable_workbook_is_refused_in_plain_words(tenant):
    with_units(tenant)
    body = upload(tenant, b"PK\x03\x04 this is not a workbook", "members.xlsx").get_json(force=True)
    message = " ".join(body["errors"]["file"])
    assert message.startswith("not a readable XLSX workbook (cannot detect file format): save it"), message
    assert "Error" not in message, message


def test_an_import_without_a_token_is_401_and_writes_nothing(tenant):
    with_units(tenant)
    response = upload(tenant, csv_file("workplaces", WORKPLACES), "workplaces.csv", headers={})
    assert (response.status_code, response.mimetype) == (401, PROBLEM)
    assert tenant.get("/workplaces/dn:001", expect=None).status_code == 404


# ---- text the register cannot hold -----------------------------------------------------------------


def with_cells(book: bytes, cells: dict[str, str]) -> bytes:
    """The workbook with each placeholder's text replaced by raw worksheet XML: openpyxl refuses to
    write a control character, but a workbook can hold one as Excel escapes it (``_x0000_``)."""
    out = BytesIO()
    with ZipFile(BytesIO(book)) as source, ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            for placeholder, xml in cells.items():
                data = data.replace(placeholder.encode(), xml.encode())
            target.writestr(name, data)
    return out.getvalue()


def odd_workbook(name_cell: str, **cells: str) -> bytes:
    """A workplaces sheet whose second row's name is ``name_cell``, as worksheet XML."""
    header = list(COLUMNS["workplaces"])
    rows = [[row[c] for c in header] for row in WORKPLACES]
    rows[1][1] = "NAME-PLACEHOLDER"
    for column, value in cells.items():
        rows[2][header.index(column)] = value
    return with_cells(xlsx_file({"workplaces": [header, *rows]}), {"NAME-PLACEHOLDER": name_cell})


def refused_rows(tenant: TenantClient, content: bytes, filename: str) -> list[tuple]:
    response = upload(tenant, content, filename)
    body = response.get_json(force=True)
    assert (response.status_code, response.mimetype) == (422, PROBLEM), body
    return [(r["sheet"], r["line"], r["column"], r["rule"], r["message"]) for r in body["rows"]]


@pytest.mark.parametrize(
    "name, message",
    [
        ("HTX\x00Tân Hợp", "must not contain control characters (U+0000)"),
        ("HTX Tân\x07Hợp", "must not contain control characters (U+0007)"),
        ("HTX Tân Hợp\nchi nhánh 2", "must be one line, without tabs or line breaks (U+000A)"),
        ("HTX\ufffeTân Hợp", "must not contain the noncharacters U+FFFE and U+FFFF (U+FFFE)"),
    ],
    ids=["NUL", "BEL", "LF", "FFFE"],
)
def test_a_csv_cell_the_register_cannot_hold_is_a_row_error_and_nothing_is_written(tenant, name, message):
    with_units(tenant)
    trail = audit(tenant)
    rows = [WORKPLACES[0], {**WORKPLACES[1], "name": name}, {**WORKPLACES[2], "unit_id": "hh\x00"}]
    assert refused_rows(tenant, csv_file("workplaces", rows), "workplaces.csv") == [
        ("workplaces", 3, "name", "text", message),
        ("workplaces", 4, "unit_id", "text", "must not contain control characters (U+0000)"),
    ]
    assert audit(tenant) == trail
    assert tenant.get("/workplaces/dn:001", expect=None).status_code == 404


def test_a_csv_holding_the_bytes_of_a_lone_surrogate_is_not_utf8_and_writes_nothing(tenant):
    """A lone surrogate has no UTF-8 form: its would-be bytes (ED A0 80) make the file unreadable."""
    with_units(tenant)
    trail = audit(tenant)
    content = csv_file("workplaces", WORKPLACES).replace("Tân Hợp".encode(), b"T\xed\xa0\x80n")
    response = upload(tenant, content, "workplaces.csv")
    body = response.get_json(force=True)
    assert (response.status_code, response.mimetype) == (422, PROBLEM), body
    assert " ".join(body["errors"]["file"]).startswith("not a readable UTF-8 CSV file"), body
    assert audit(tenant) == trail


@pytest.mark.parametrize(
    "xml, message",
    [
        ("HTX_x0000_Tân Hợp", "must not contain control characters (U+0000)"),
        ("HTX_x001B_Tân Hợp", "must not contain control characters (U+001B)"),
        ("HTX\x85Tân Hợp", "must not contain control characters (U+0085)"),
        ("HTX Tân Hợp&#10;chi nhánh 2", "must be one line, without tabs or line breaks (U+000A)"),
    ],
    ids=["NUL", "ESC", "C1", "LF"],
)
def test_a_workbook_cell_the_register_cannot_hold_is_a_row_error_and_nothing_is_written(tenant, xml, message):
    with_units(tenant)
    trail = audit(tenant)
    content = odd_workbook(xml, female_workers="_x0000_")
    assert refused_rows(tenant, content, "import.xlsx") == [
        ("workplaces", 3, "name", "text", message),
        ("workplaces", 4, "female_workers", "text", "must not contain control characters (U+0000)"),
    ]
    assert audit(tenant) == trail
    assert tenant.get("/workplaces/dn:001", expect=None).status_code == 404


def test_a_workbook_holding_a_lone_surrogate_is_unreadable_and_writes_nothing(tenant):
    """XML cannot hold a lone surrogate: the workbook openpyxl writes with one is refused whole."""
    with_units(tenant)
    trail = audit(tenant)
    header = list(COLUMNS["workplaces"])
    content = xlsx_file({"workplaces": [header, [{**WORKPLACES[0], "name": "Công\ud800ty"}[c] for c in header]]})
    assert b"&#55296;" in ZipFile(BytesIO(content)).read("xl/worksheets/sheet1.xml")
    response = upload(tenant, content, "import.xlsx")
    body = response.get_json(force=True)
    assert (response.status_code, response.mimetype) == (422, PROBLEM), body
    assert " ".join(body["errors"]["file"]).startswith("not a readable XLSX workbook"), body
    assert audit(tenant) == trail


def test_an_import_kind_holding_a_nul_is_refused_naming_it(tenant):
    with_units(tenant)
    response = upload(tenant, csv_file("workplaces", WORKPLACES), "export.csv", kind="workplaces\x00")
    body = response.get_json(force=True)
    assert (response.status_code, body["errors"]) == (422, {"kind": ["must not contain control characters (U+0000)"]})


# ---- many bad rows: the first are listed, all are counted -------------------------------------------


def bad_workplaces(n: int) -> bytes:
    """``n`` workplaces (lines 2..n+1), each wrong: even lines count more women than workers (found
    as the row is checked), odd lines name a unit that does not exist (found by the register)."""
    return csv_file(
        "workplaces",
        [
            {
                **WORKPLACES[0],
                "id": f"dn:{line:05d}",
                **({"female_workers": 999} if line % 2 == 0 else {"unit_id": "nowhere"}),
            }
            for line in range(2, n + 2)
        ],
    )


def test_an_import_with_many_bad_rows_lists_a_hundred_and_counts_them_all(tenant):
    with_units(tenant)
    response = upload(tenant, bad_workplaces(250), "workplaces.csv")
    body = response.get_json(force=True)
    assert (response.status_code, response.mimetype, len(body["rows"]), body["rows_total"]) == (422, PROBLEM, 100, 250)
    assert [(r["line"], r["column"]) for r in body["rows"]] == [
        (line, "female_workers" if line % 2 == 0 else "unit_id") for line in range(2, 102)
    ]
    assert len(body["errors"]["file"]) == 100
    assert "250 row(s) are wrong (the first 100 are listed)" in body["detail"], body["detail"]
    assert tenant.get("/workplaces/dn:00002", expect=None).status_code == 404


def test_how_many_bad_rows_an_import_lists_is_a_setting(settings):
    from dataclasses import replace

    from service.app import create_app

    app = create_app(replace(settings, import_errors=7))
    try:
        tenant = with_units(new_tenant(app.test_client(), {"Authorization": f"Bearer {ADMIN_TOKEN}"}))
        body = upload(tenant, bad_workplaces(40), "workplaces.csv").get_json(force=True)
    finally:
        app.extensions["unionledger"].close()
    assert ([r["line"] for r in body["rows"]], body["rows_total"]) == (list(range(2, 9)), 40)


def test_the_cli_prints_the_first_bad_rows_and_the_count(tenant, settings, tmp_path):
    with_units(tenant)
    path = tmp_path / "workplaces.csv"
    path.write_bytes(bad_workplaces(40))
    result = CliRunner().invoke(
        main, ["import", "--tenant", tenant.id, str(path)], env={**cli_env(settings), "UNIONLEDGER_IMPORT_ERRORS": "5"}
    )
    assert result.exit_code != 0
    listed = [line.split(",")[0] for line in result.output.splitlines() if line.startswith("workplaces line")]
    assert listed == [f"workplaces line {n}" for n in range(2, 7)], result.output
    assert "40 row(s) are wrong (the first 5 are listed); nothing was imported" in result.output, result.output


# ---- the command line ------------------------------------------------------------------------------


def test_the_cli_imports_a_csv_and_says_how_many(tenant, settings, tmp_path):
    with_units(tenant)
    path = tmp_path / "workplaces.csv"
    path.write_bytes(csv_file("workplaces", WORKPLACES))
    result = CliRunner().invoke(main, ["import", "--tenant", tenant.id, str(path)], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert "3 workplaces" in result.output, result.output
    registered = history(tenant, "/workplaces/dn:003")
    assert [(e["event"], e["actor"]) for e in registered] == [("WorkplaceRegistered", "import")]
    assert tenant.get("/workplaces/dn:003").get_json()["workers"] == 8


def test_the_cli_imports_several_files_as_one(tenant, settings, tmp_path):
    with_units(tenant)
    paths = []
    for kind in ROWS:
        paths.append(tmp_path / f"{kind}.csv")
        paths[-1].write_bytes(csv_file(kind, ROWS[kind]))
    result = CliRunner().invoke(main, ["import", "--tenant", tenant.id, *map(str, paths)], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert "Imported 3 workplaces, 2 unions, 4 members" in result.output, result.output
    assert pick(tenant.figures("2024"), FIGURES_2024) == FIGURES_2024


def test_the_cli_refuses_a_bad_file_listing_its_rows_and_writes_nothing(tenant, settings, tmp_path):
    seed_existing_union(tenant)
    trail = audit(tenant)
    path = tmp_path / "import.xlsx"
    path.write_bytes(bad_workbook())
    result = CliRunner().invoke(main, ["import", "--tenant", tenant.id, str(path)], env=cli_env(settings))
    assert result.exit_code != 0, result.output
    for sheet, line, column, rule in BAD_ROWS:
        assert f"{sheet} line {line}, column {column}" in result.output and f"[{rule}]" in result.output, (
            sheet,
            line,
            result.output,
        )
    assert "9 row(s) are wrong" in result.output
    assert audit(tenant) == trail
    assert tenant.get("/workplaces/dn:001", expect=None).status_code == 404


def test_the_cli_refuses_an_actor_the_register_cannot_hold(tenant, settings, tmp_path):
    """A byte of the command line that is not UTF-8 arrives as a lone surrogate; it is never recorded."""
    with_units(tenant)
    trail = audit(tenant)
    path = tmp_path / "workplaces.csv"
    path.write_bytes(csv_file("workplaces", WORKPLACES))
    for actor, message in (
        ("clerk\udcff", "must not contain lone surrogates (U+DCFF)"),
        ("clerk\x1b[2J", "must not contain control characters (U+001B)"),
    ):
        result = CliRunner().invoke(
            main, ["import", "--tenant", tenant.id, "--actor", actor, str(path)], env=cli_env(settings)
        )
        assert result.exit_code == 2 and message in result.output, result.output
    assert audit(tenant) == trail


def test_an_import_stores_each_key_with_the_events_that_use_it_and_replaces_an_unused_one(app, tenant, monkeypatch):
    """Keys are stored in the transaction that records their admissions; a key left without its
    admission (by an older version, or by hand) is replaced, and the personal data reads back."""

    with_units(tenant)
    imported(tenant, csv_file("workplaces", WORKPLACES), "workplaces.csv")
    imported(tenant, csv_file("unions", UNIONS), "unions.csv")
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        with store.transaction(write=True) as cur:
            store.vault.keep(cur, Sealing({"dv-0001": bytes(32)}))
        keyed_when_recorded: list[bool] = []

        def keyed_first(real):  # the events as stored events (SQLite) or as COPY rows (PostgreSQL)
            def insert(recorder, cur, *events):
                keyed = {m for (m,) in cur.execute("SELECT member_id FROM personal_keys").fetchall()}
                keyed_when_recorded.append({m["id"] for m in MEMBERS} <= keyed)
                return real(recorder, cur, *events)

            return insert

        monkeypatch.setattr(imports, "insert_within", keyed_first(imports.insert_within))
        monkeypatch.setattr(imports, "insert_copy_binary", keyed_first(imports.insert_copy_binary))
        imported(tenant, csv_file("members", MEMBERS), "members.csv")
        monkeypatch.undo()
        with store.transaction() as cur:
            assert cur.scalar("SELECT key FROM personal_keys WHERE member_id = ?", ("dv-0001",)) != bytes(32).hex()
    assert keyed_when_recorded == [True]
    assert tenant.get("/members/dv-0001").get_json()["full_name"] == "Nguyễn Thị Lan"


def test_a_key_that_could_not_be_stored_fails_the_import_that_made_it_not_a_later_one(app, tenant, monkeypatch):
    """Keys go in the import's own transaction: one that cannot be stored fails that import, which
    writes nothing, and the next import is not touched by it."""
    with_units(tenant)
    imported(tenant, csv_file("workplaces", WORKPLACES), "workplaces.csv")
    imported(tenant, csv_file("unions", UNIONS), "unions.csv")
    rows = {"members": list(enumerate(MEMBERS, start=2))}
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        before = (store.projector.ledger_position(), store.chain.chained())
        offered: list[set[str]] = []

        def cannot_store(cur, sealing, fresh=False):
            offered.append(set(sealing.keys))
            raise ConnectionError("the keys' connection was lost")

        monkeypatch.setattr(store.vault, "keep", cannot_store)
        with pytest.raises(ConnectionError):
            Register(store).import_rows(rows, actor="tester")
        monkeypatch.undo()
        assert offered == [{m["id"] for m in MEMBERS}]  # the import's keys, in the one attempt to store them
        assert (store.projector.ledger_position(), store.chain.chained()) == before
        with store.transaction() as cur:
            assert cur.scalar("SELECT count(*) FROM personal_keys") == 0
        assert tenant.get(f"/members/{MEMBERS[0]['id']}", expect=None).status_code == 404
        plan = Register(store).import_rows(rows, actor="tester")
    assert not plan.errors
    assert tenant.get("/members/dv-0003").get_json()["full_name"] == "Lê Thị Hoa"


def test_an_import_stopped_by_a_failed_write_writes_nothing_and_a_repeat_writes_it_all(app, tenant, monkeypatch):
    """An import is one transaction: a write that fails part-way (its second chunk here) leaves
    no event, no view row, no key and no chain link of it, and importing again writes it all."""

    with_units(tenant)
    sheets = {
        kind: list(enumerate(rows, start=2))
        for kind, rows in (("workplaces", WORKPLACES), ("unions", UNIONS), ("members", MEMBERS))
    }
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        before = (store.projector.ledger_position(), store.chain.chained(), store.views.dump(VIEW_TABLES))
        real_insert = imports.insert_within
        calls: list[int] = []

        def insert_within(recorder, cur, stored_events):
            calls.append(len(stored_events))
            if len(calls) == 2:
                raise ConnectionError("the ledger's connection was lost")
            return real_insert(recorder, cur, stored_events)

        monkeypatch.setattr(imports, "insert_within", insert_within)
        with pytest.raises(ConnectionError):
            Register(store).import_rows(sheets, actor="tester")
        monkeypatch.undo()
        assert calls == [len(WORKPLACES), len(UNIONS)]
        assert (store.projector.ledger_position(), store.chain.chained(), store.views.dump(VIEW_TABLES)) == before
        with store.transaction() as cur:
            assert cur.scalar("SELECT count(*) FROM personal_keys") == 0
        assert tenant.get(f"/workplaces/{WORKPLACES[0]['id']}", expect=None).status_code == 404
        plan = Register(store).import_rows(sheets, actor="tester")
    assert (plan.errors, plan.skipped, {k: len(v) for k, v in plan.creates.items()}) == (
        [],
        counts(),
        counts(len(WORKPLACES), len(UNIONS), len(MEMBERS)),
    )
    assert tenant.get(f"/members/{MEMBERS[0]['id']}").get_json()["full_name"] == MEMBERS[0]["full_name"]
    assert [e["event"] for e in history(tenant, f"/unions/{UNIONS[0]['id']}")] == ["UnionFounded"]


def structure_with_one_builder(tenant, monkeypatch) -> None:
    """The tenant's units, workplaces and unions imported; member sheets from their first row built
    in one builder process, a chunk of one row at a time."""
    monkeypatch.setattr(imports, "ELSEWHERE_FROM", 1)
    monkeypatch.setattr(imports, "BUILDERS", 1)
    monkeypatch.setattr(imports, "import_events", functools.partial(imports.import_events, chunk=1))
    with_units(tenant)
    imported(tenant, csv_file("workplaces", WORKPLACES), "workplaces.csv")
    imported(tenant, csv_file("unions", UNIONS), "unions.csv")


def test_a_large_member_sheet_sealed_in_builder_processes_reads_and_records_as_one_sealed_here(
    app, tenant, settings, monkeypatch
):
    """A large member sheet is sealed and encoded in processes of their own (on PostgreSQL, where
    admissions are stored from their state), chunks ahead of the one written: the events are what
    the library's mapper writes, each member's data opens with their key, the blind index finds
    them, and the views rebuilt from the ledger are the live ones. SQLite seals in process."""
    from eventsourcing.persistence import Mapper

    structure_with_one_builder(tenant, monkeypatch)
    built_here: list[int] = []
    real_admissions = imports._admissions
    monkeypatch.setattr(
        imports, "_admissions", lambda store, rows, *a: built_here.append(len(rows)) or real_admissions(store, rows, *a)
    )
    assert imported(tenant, csv_file("members", MEMBERS), "members.csv")["created"] == counts(members=len(MEMBERS))
    elsewhere = settings.backend == "postgres"
    assert built_here == ([] if elsewhere else [1] * len(MEMBERS))
    for member in MEMBERS:
        shown = tenant.get(f"/members/{member['id']}").get_json()
        assert (shown["full_name"], shown["birth_date"], shown["id_number"]) == (
            member["full_name"],
            member["birth_date"],
            member["id_number"],
        )
    found = tenant.get("/members", q="thi nguyen").get_json()["members"]
    assert [m["id"] for m in found] == ["dv-0001"]
    assert [m["id"] for m in tenant.get("/members", id_number="045190000123").get_json()["members"]] == ["dv-0001"]
    admitted = [e for e in audit(tenant) if e["event"] == "MemberAdmitted"]  # the trail's columns written with them
    assert sorted((e["entity_type"], e["entity_id"], e["actor"]) for e in admitted) == sorted(
        ("member", m["id"], "federation_admin") for m in MEMBERS
    )
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        library = Mapper(transcoder=store.event_store.mapper.transcoder)
        stored = [
            n for n in store.event_store.recorder.select_notifications(1, 100) if n.topic.endswith("MemberAdmitted")
        ]
        assert [library.to_domain_event(n).member_id for n in stored] == [m["id"] for m in MEMBERS]
        assert [library.to_stored_event(library.to_domain_event(n)).state for n in stored] == [n.state for n in stored]
        with store.transaction() as cur:
            assert cur.scalar("SELECT count(*) FROM personal_keys") == len(MEMBERS)
        live = store.views.dump(VIEW_TABLES)
        store.rebuild()
        assert store.views.dump(VIEW_TABLES) == live
        verified = store.chain.verify()  # raises where a link or a leaf does not follow
        assert verified.events == verified.chained == store.projector.ledger_position()
    if elsewhere:
        assert imports._builders is not None and imports._builders._processes


def test_an_import_whose_builder_process_died_builds_in_its_own_and_records_every_row(app, tenant, monkeypatch):
    """A builder process killed (by the kernel, short of memory) leaves its pool broken: the import
    builds the chunks itself and records them all, and the next large import starts builders again."""
    import os
    import signal
    import time

    structure_with_one_builder(tenant, monkeypatch)
    pool = imports._builder_pool()
    assert pool.submit(int, "7").result() == 7
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not pool._broken and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool._broken
    assert imported(tenant, csv_file("members", MEMBERS), "members.csv")["created"] == counts(members=len(MEMBERS))
    assert [tenant.get(f"/members/{m['id']}").get_json()["full_name"] for m in MEMBERS] == [
        m["full_name"] for m in MEMBERS
    ]
    assert tenant.get("/members", q="minh").get_json()["members"][0]["id"] == "dv-0002"
    assert imports._builder_pool() is not pool


def table_shapes(store) -> list[tuple]:
    """The member tables' persistence, storage parameters, constraints and indexes as the catalogue
    defines them."""
    from persistence.fresh import TABLES

    with store.transaction() as cur:
        return cur.execute(
            "SELECT c.relname, c.relpersistence, c.reloptions, i.relname, pg_get_indexdef(i.oid),"
            " (SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k WHERE k.conindid = i.oid)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_index x ON x.indrelid = c.oid LEFT JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE n.nspname = current_schema() AND c.relname = ANY(?) AND c.relkind = 'r'"
            " ORDER BY c.relname, i.relname",
            (list(TABLES),),
        ).fetchall()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # SQLite writes the live tables
def test_a_large_first_import_indexes_its_members_tables_at_the_end_as_they_were(app, tenant, settings, monkeypatch):
    """Into a tenant without members, a large member sheet is written into copies of the member
    tables without indexes, indexed at the end and swapped in: the tables end with the same
    constraints and indexes, the views equal those rebuilt from the ledger, and nothing is left
    beside them. A second import (members recorded now) writes the live tables as before."""
    with_units(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        before = table_shapes(store)
    assert {options[0] for name, _kind, options, *_ in before if name == "member_state"} == {"fillfactor=50"}
    swapped: list[bool] = []
    real_start = imports.FreshTables.start

    def start(cur, schema):
        made = real_start(cur, schema)
        swapped.append(made is not None)
        return made

    monkeypatch.setattr(imports, "FRESH_FROM", 1)
    monkeypatch.setattr(imports.FreshTables, "start", start)
    imported(tenant, csv_file("workplaces", WORKPLACES), "workplaces.csv")
    imported(tenant, csv_file("unions", UNIONS), "unions.csv")
    imported(tenant, csv_file("members", MEMBERS[:2]), "members.csv")
    imported(tenant, csv_file("members", MEMBERS[2:]), "members.csv")
    assert swapped == [True, False]
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        assert table_shapes(store) == before
        with store.transaction() as cur:
            assert cur.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = ?", (f"{store.schema}__import",)) == 0
            assert cur.scalar("SELECT count(*) FROM personal_keys") == len(MEMBERS)
        live = store.views.dump(VIEW_TABLES)
        store.rebuild()
        assert store.views.dump(VIEW_TABLES) == live
        assert table_shapes(store) == before  # a rebuild's tables too, made beside the live ones
    for member in MEMBERS:
        assert tenant.get(f"/members/{member['id']}").get_json()["full_name"] == member["full_name"]
    assert tenant.get("/members", q=MEMBERS[0]["full_name"]).get_json()["members"][0]["id"] == MEMBERS[0]["id"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # SQLite writes the live tables
def test_a_first_import_that_fails_after_its_members_leaves_no_copy_and_nothing_written(
    app, tenant, settings, monkeypatch
):
    """The copies are made in the import's transaction: a failure after the members' rows (the
    swap here) leaves the live tables empty and no schema beside them; importing again writes it all."""
    with_units(tenant)
    imported(tenant, csv_file("workplaces", WORKPLACES), "workplaces.csv")
    imported(tenant, csv_file("unions", UNIONS), "unions.csv")
    monkeypatch.setattr(imports, "FRESH_FROM", 1)
    rows = {"members": list(enumerate(MEMBERS, start=2))}
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        before = (store.projector.ledger_position(), store.chain.chained(), store.views.dump(VIEW_TABLES))

        def lost(self):
            raise ConnectionError("the connection was lost")

        with monkeypatch.context() as patched:
            patched.setattr(imports.FreshTables, "swap", lost)
            with pytest.raises(ConnectionError):
                Register(store).import_rows(rows, actor="tester")
        assert (store.projector.ledger_position(), store.chain.chained(), store.views.dump(VIEW_TABLES)) == before
        with store.transaction() as cur:
            assert cur.scalar("SELECT count(*) FROM personal_keys") == 0
            assert cur.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = ?", (f"{store.schema}__import",)) == 0
        plan = Register(store).import_rows(rows, actor="tester")
    assert not plan.errors
    assert tenant.get("/members/dv-0003").get_json()["full_name"] == "Lê Thị Hoa"
