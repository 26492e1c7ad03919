"""Lists, figures and progress as CSV and XLSX files, and the forms of Decision 1454/QĐ-TLĐ.

Every file is read back (csv module, openpyxl) and compared with the JSON answer, page by page:
the files are written from pages of two items (service.files.FILE_PAGE patched), so each list
below spans several of them. The province is tests/integration/test_views.py's build_history
(see tests/api/test_browse.py), with five more members in u1 (one of them erased) for the pages.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl
import pytest

from service import files
from tests.integration.test_views import build_history

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def province(tenant, monkeypatch):
    monkeypatch.setattr(files, "FILE_PAGE", 2)
    build_history(tenant)
    for n in range(3, 8):
        tenant.post(
            "/members",
            {
                "id": f"m{n}",
                "union_id": "u1",
                "admitted_on": f"2024-0{n}-01",
                "full_name": f'Lê Thị {n}, "Út"',  # a comma and quotes: the CSV must quote them
                "gender": "female" if n % 2 else "male",
                "birth_date": "1995-02-03" if n == 3 else None,
            },
        )
    tenant.post("/members/m4/erasure", {"reason": "the member asked"})
    return tenant


def every_item(tenant, path: str, kind: str, **query) -> list[dict]:
    """All pages of a JSON list, a page of one at a time."""
    items, after = [], None
    while True:
        page = tenant.get(path, limit=1, **({"after": after} if after else {}), **query).get_json()
        items += page[kind]
        if not (after := page["next"]):
            return items


def text(value) -> str:
    """A JSON value as a CSV field holds it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cell(value) -> str | float:
    """An XLSX cell as the JSON value's text (dates come back as midnight datetimes), a number as
    a number (50.0 comes back as 50)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return text(value)


def json_cell(value) -> str | float:
    """A JSON value as its XLSX cell reads back through ``cell``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return text(value)


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.is_streamed and response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def as_table(items: list[dict], header: list[str]) -> list[list[str]]:
    return [[text(item[c]) for c in header] for item in items]


LISTS = [
    ("/units", "units", {"as_of": "2025-08-01"}),
    ("/units", "units", {"as_of": "2019-01-01"}),
    ("/workplaces", "workplaces", {"as_of": "2021-01-01"}),
    ("/workplaces", "workplaces", {"covered": "false", "as_of": "2021-01-01"}),
    ("/unions", "unions", {"as_of": "2020-06-01"}),
    ("/unions", "unions", {"unit_id": "c1", "as_of": "2025-08-01"}),
    ("/members", "members", {}),
    ("/members", "members", {"unit_id": "c1", "status": "active", "as_of": "2025-08-01"}),
    ("/members", "members", {"gender": "female"}),
]


@pytest.mark.parametrize(("path", "kind", "query"), LISTS)
def test_a_list_as_csv_and_xlsx_holds_every_page_of_the_json_answer(province, path, kind, query):
    items = every_item(province, path, kind, **query)
    rows = read_csv(province.get(path, format="csv", limit=1, **query))  # the file ignores the page size
    header, body = rows[0], rows[1:]
    assert header[0] == "id" and set(header) == set(items[0] if items else header)
    assert body == as_table(items, header)
    sheet = read_xlsx(province.get(path, format="xlsx", **query))
    assert sheet[0] == header
    assert sheet[1][header.index("id")] == "Mã"  # the Vietnamese heading row
    assert [[cell(v) for v in row] for row in sheet[2:]] == [[json_cell(i[c]) for c in header] for i in items]


def test_a_member_file_holds_the_personal_data_the_json_answer_holds(province):
    rows = read_csv(province.get("/members", format="csv"))
    header, body = rows[0], rows[1:]
    assert [r[0] for r in body] == ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]  # 7 members, 4 internal pages
    found = {r[0]: dict(zip(header, r)) for r in body}
    assert found["m1"]["full_name"] == "Nguyễn Thị A" and found["m1"]["id_number"] == "045090000001"
    assert found["m3"]["full_name"] == 'Lê Thị 3, "Út"' and found["m3"]["birth_date"] == "1995-02-03"
    assert found["m4"]["full_name"] == "" and found["m4"]["personal_data_erased"] == "true"  # erased
    assert found["m1"]["status"] == "left" and found["m1"]["left_on"] == "2023-05-01"


def test_a_member_file_is_byte_for_byte_the_file_worked_out_by_hand(province):
    """Every field as written here from what was recorded (the instants and versions as the JSON
    answer says them): quoting, empty fields, booleans, dates, the line ends and the encoding."""
    answered = {m["id"]: m for m in every_item(province, "/members", "members")}

    def tail(member_id: str) -> str:
        m = answered[member_id]
        return f"{m['version']},{m['recorded_at']},{m['updated_at']}\r\n"

    expected = (
        "id,union_id,admitted_union_id,admitted_on,gender,full_name,birth_date,id_number,left_on,leave_reason,"
        "status,personal_data_erased,version,recorded_at,updated_at\r\n"
        "m1,u1,u1,2019-03-01,female,Nguyễn Thị A,1990-01-01,045090000001,2023-05-01,retired,left,false,"
        + tail("m1")
        + "m2,u1,u2,2019-03-01,male,Trần Văn B,,,,,active,false,"
        + tail("m2")
        + 'm3,u1,u1,2024-03-01,female,"Lê Thị 3, ""Út""",1995-02-03,,,,active,false,'
        + tail("m3")
        + "m4,u1,u1,2024-04-01,male,,,,,,active,true,"
        + tail("m4")
        + 'm5,u1,u1,2024-05-01,female,"Lê Thị 5, ""Út""",,,,,active,false,'
        + tail("m5")
        + 'm6,u1,u1,2024-06-01,male,"Lê Thị 6, ""Út""",,,,,active,false,'
        + tail("m6")
        + 'm7,u1,u1,2024-07-01,female,"Lê Thị 7, ""Út""",,,,,active,false,'
        + tail("m7")
    )
    response = province.get("/members", format="csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.get_data() == expected.encode()


def test_the_accept_type_asks_for_a_file_named_for_what_it_holds(province):
    response = province.client.get(
        province.url("/unions"),
        query_string={"as_of": "2020-06-01"},
        headers={**province.headers, "Accept": "text/csv"},
    )
    assert [r[0] for r in read_csv(response)] == ["id", "u1", "u2"]
    assert response.headers["Content-Disposition"] == f'attachment; filename="{province.id}-unions-2020-06-01.csv"'
    response = province.client.get(province.url("/units"), headers={**province.headers, "Accept": XLSX})
    assert read_xlsx(response)[0][0] == "id"
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    # text/* or */* alone asks for no file
    response = province.client.get(province.url("/units"), headers={**province.headers, "Accept": "text/*"})
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("path", ["/units", "/workplaces", "/unions", "/members", "/targets/progress", "/indicators"])
def test_an_unknown_format_is_refused_naming_it(province, path):
    response = province.get(path, expect=422, format="pdf", period="2025")
    assert list(response.get_json()["errors"]) == ["format"]


def test_a_bad_filter_is_refused_before_any_file_starts(province):
    response = province.get("/members", expect=404, format="csv", unit_id="nowhere")
    assert response.mimetype == "application/problem+json"
    assert list(province.get("/members", expect=422, format="xlsx", status="gone").get_json()["errors"]) == ["status"]


def test_figures_as_a_file_are_the_json_figures(province):
    query = {"period": "2020", "unit_id": "d1", "as_of": "2020-11-30"}
    answer = province.get("/indicators", **query).get_json()
    rows = read_csv(province.get("/indicators", format="csv", **query))
    codes = rows[0][6:]  # in the order they are asked (here every base code's), which JSON sorts
    assert rows[0][:6] == ["period", "unit_id", "as_of", "known_at", "key", "name"]
    assert sorted(codes) == sorted(answer["figures"]) and codes[0] == "members_total"
    assert rows[1:] == [["2020", "d1", "2020-11-30", "", "", "Tổng cộng", *(text(answer["figures"][c]) for c in codes)]]
    assert dict(zip(rows[0], rows[1]))["members_total"] == "2"  # m1, and m2 moved into u1
    sheet = read_xlsx(province.get("/indicators", format="xlsx", **query))
    assert sheet[0] == rows[0] and sheet[1][rows[0].index("members_total")] == "Tổng số đoàn viên"
    total = [json_cell(answer["figures"][c]) for c in codes]
    assert [cell(v) for v in sheet[2]] == ["2020", "d1", "2020-11-30", "", "", "Tổng cộng", *total]


def test_figures_with_groups_are_a_row_per_group_and_the_total():
    answer = {
        "period": "2025",
        "unit_id": None,
        "as_of": "2025-12-31",
        "known_at": None,
        "figures": {"members_total": 3, "coverage_pct": 50.0},
        "groups": [
            {"key": "female", "name": "Nữ", "figures": {"members_total": 2, "coverage_pct": None}},
            {"key": "male", "name": "Nam", "figures": {"members_total": 1, "coverage_pct": None}},
        ],
    }
    from flask import Flask

    with Flask(__name__).test_request_context():
        response = files.figures_file("csv", answer, "t")
        rows = list(csv.reader(io.StringIO(b"".join(response.response).decode(), newline="")))
    assert [r[4:] for r in rows] == [
        ["key", "name", "members_total", "coverage_pct"],
        ["female", "Nữ", "2", ""],
        ["male", "Nam", "1", ""],
        ["", "Tổng cộng", "3", "50.0"],
    ]


def test_progress_as_a_file_is_the_json_progress(province):
    for indicator, value in (("members_total", 4), ("unions_founded", 2)):
        province.post("/targets", {"unit_id": None, "indicator": indicator, "period": "2020", "value": value})
    query = {"period": "2020", "as_of": "2020-11-30"}
    lines = province.get("/targets/progress", **query).get_json()["lines"]
    rows = read_csv(province.get("/targets/progress", format="csv", **query))
    assert rows[0] == ["period", "unit_id", "as_of", *files.PROGRESS_LINE]
    assert rows[1:] == [["2020", "", "2020-11-30", *(text(line[c]) for c in files.PROGRESS_LINE)] for line in lines]
    assert len(rows) == 3
    sheet = read_xlsx(province.get("/targets/progress", format="xlsx", **query))
    expected = [["2020", "", "2020-11-30", *(json_cell(line[c]) for c in files.PROGRESS_LINE)] for line in lines]
    assert [[cell(v) for v in row] for row in sheet[2:]] == expected


# ---- forms of Decision 1454/QĐ-TLĐ ---------------------------------------------------------------------------
def values(form: dict) -> dict:
    return {row["code"]: row["value"] for row in form["rows"]}


def test_form_1_hdcd_of_a_union_is_filled_from_the_ledger(province):
    # u1 on 30 Nov 2019: m1 (admitted 2019-03-01); w1 has 40 workers
    form = province.get("/forms/1-hdcd", union_id="u1", year=2019).get_json()
    assert form["form"] == "1-hdcd" and form["as_of"] == "2019-11-30" and form["name"] == "U1"
    got = values(form)
    assert got["members_total"] == 1 and got["members_admitted"] == 1 and got["members_left"] == 0
    assert got["members_net_growth"] == 1 and got["member_worker_ratio_pct"] == 2.5  # 1 / 40
    assert got["workers"] is None and got["strikes"] is None  # not kept in the register
    row = next(r for r in form["rows"] if r["code"] == "workers")
    assert row["unit"] == "Người" and row["note"] and row["label"].startswith("Tổng số")
    # 2020: m2 moved in (a transfer is no admission); 2 / 40 workers
    got = values(province.get("/forms/1-hdcd", union_id="u1", year=2020).get_json())
    assert (got["members_total"], got["members_admitted"], got["member_worker_ratio_pct"]) == (2, 0, 5.0)
    # u2 in 2019 up to 31 May: m2 admitted; m1 is in u1, not here
    got = values(province.get("/forms/1-hdcd", union_id="u2", year=2019, as_of="2019-05-31").get_json())
    assert (got["members_total"], got["members_admitted"]) == (1, 1)
    # 2023: m1 left u1 on 1 May
    got = values(province.get("/forms/1-hdcd", union_id="u1", year=2023).get_json())
    assert (got["members_total"], got["members_left"], got["members_net_growth"]) == (1, 1, -1)


def test_form_2_hdcd_of_a_unit_is_filled_from_the_ledger(province):
    # d1 on 30 Nov 2020: u1 (u2 dissolved 1 Jun 2020); w1, w2 eligible (40 workers), w1 covered; m1, m2 in u1
    form = province.get("/forms/2-hdcd", unit_id="d1", year=2020).get_json()
    got = values(form)
    assert form["as_of"] == "2020-11-30" and form["name"] == "District 1"
    assert (got["unions_total"], got["unions_founded"], got["unions_dissolved"]) == (1, 0, 1)
    assert (got["workplaces_eligible"], got["workplaces_covered"], got["coverage_pct"]) == (2, 1, 50.0)
    assert (got["members_total"], got["members_admitted"], got["member_worker_ratio_pct"]) == (2, 0, 5.0)
    # the whole tenant in 2019: both unions founded, both members admitted
    got = values(province.get("/forms/2-hdcd", year=2019).get_json())
    assert (got["unions_total"], got["unions_founded"], got["members_total"], got["members_admitted"]) == (2, 2, 2, 2)


def test_a_form_as_xlsx_is_laid_out_as_on_paper(province):
    response = province.get("/forms/2-hdcd", unit_id="d1", year=2020, format="xlsx")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{province.id}-2-hdcd-d1-2020.xlsx"'
    sheet = read_xlsx(response)
    heading = sheet.index(["Nội dung", "Đơn vị tính", "Số lượng", "Ghi chú"])
    assert any("30/11/2020" in str(v) for row in sheet[:heading] for v in row)
    assert any("District 1" in str(v) for row in sheet[:heading] for v in row)
    form = province.get("/forms/2-hdcd", unit_id="d1", year=2020).get_json()
    assert [row[:3] for row in sheet[heading + 1 :]] == [[r["label"], r["unit"], r["value"]] for r in form["rows"]]


def test_a_form_refuses_an_unknown_union_or_unit_and_a_bad_year_or_date(province):
    assert province.get("/forms/1-hdcd", expect=404, union_id="nowhere", year=2020).status_code == 404
    assert province.get("/forms/2-hdcd", expect=404, unit_id="nowhere", year=2020).status_code == 404

    def refused(path: str, **query) -> list[str]:
        return list(province.get(path, expect=422, **query).get_json()["errors"])

    assert refused("/forms/1-hdcd", year=2020) == ["union_id"]
    assert refused("/forms/1-hdcd", union_id="u1", year="twenty") == ["year"]
    assert refused("/forms/2-hdcd", year=3000) == ["year"]
    assert refused("/forms/2-hdcd", year=2020, as_of="2021-01-01") == ["as_of"]
    assert refused("/forms/2-hdcd", year=2020, format="csv") == ["format"]


def test_the_openapi_document_names_the_format_and_the_file_types(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("units", "workplaces", "unions", "members", "indicators", "targets/progress", "forms/2-hdcd"):
        call = spec["paths"][f"/v1/tenants/{{tenant}}/{path}"]["get"]
        assert "format" in [p["name"] for p in call["parameters"]], path
        types = set(call["responses"]["200"]["content"])
        assert {"application/json", XLSX} <= types, path
        assert ("text/csv" in types) == (not path.startswith("forms")), path


def test_an_xlsx_goes_on_in_another_sheet_past_the_rows_a_sheet_holds(province, monkeypatch):
    monkeypatch.setattr(files, "SHEET_ROWS", 5)  # two header rows and three members a sheet
    book = openpyxl.load_workbook(io.BytesIO(province.get("/members", format="xlsx").get_data()))
    assert book.sheetnames == ["members", "members 2", "members 3"]
    ids = [row[0] for ws in book.worksheets for row in ws.iter_rows(min_row=3, values_only=True)]
    assert ids == ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]
    assert all(ws["A1"].value == "id" and ws["A2"].value == "Mã" for ws in book.worksheets)
