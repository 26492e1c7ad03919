"""Bulk import of the plans' other records: a district's year of ratings, agreements, dues (and the
other record sheets) from one workbook, with the rules of the single calls, all or nothing, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from domain.imports import COLUMNS, KINDS
from tests.api.test_imports import audit, history, imported, upload, xlsx_file
from tests.scenario import admit, union, unit, workplace


def sheet(kind: str, rows: list[dict]) -> list[list]:
    return [list(COLUMNS[kind])] + [[row.get(c) for c in COLUMNS[kind]] for row in rows]


def district(tenant) -> None:
    """District hh with workplace w-old (50 workers) and its union u-old, founded 2019-05-01, with member m-old."""
    unit(tenant, "hh")
    workplace(tenant, "w-old", "hh", 50, as_of="2019-01-01")
    union(tenant, "u-old", "w-old", "hh", "2019-05-01")
    admit(tenant, "m-old", "u-old", "2019-06-01")


def year_workbook(**extra: list[dict]) -> bytes:
    """2024 for district hh: a new workplace and union (u-new, founded 2024-02-01) with a member, and
    the year's ratings, agreements and dues of both unions, training, conferences, committees and cards."""
    sheets = {
        "workplaces": [
            {
                "id": "w-new",
                "name": "Công ty May Khe Sanh",
                "sector": "private_enterprise",
                "unit_id": "hh",
                "workers": 30,
                "female_workers": 20,
                "as_of": "2024-01-01",
            }
        ],
        "unions": [
            {
                "id": "u-new",
                "name": "CĐCS May Khe Sanh",
                "workplace_id": "w-new",
                "unit_id": "hh",
                "founded_on": date(2024, 2, 1),
            }
        ],
        "members": [
            {
                "id": "m-new",
                "union_id": "u-new",
                "admitted_on": "2024-02-15",
                "full_name": "Lê Thị Hoa",
                "gender": "female",
            }
        ],
        "ratings": [
            {"union_id": "u-old", "year": 2024, "rating": "excellent", "decided_on": date(2025, 1, 10)},
            {"union_id": "u-new", "year": 2024, "rating": "fair", "decided_on": "2025-01-10"},
        ],
        "agreements": [
            {"workplace_id": "w-old", "signed_on": "2024-03-01", "expires_on": "2027-02-28"},
            {"workplace_id": "w-new", "signed_on": "2024-06-01", "expires_on": date(2026, 5, 31)},
        ],
        "dues": [
            {"union_id": "u-old", "period": "2024", "due": 12_000_000, "collected": 11_400_000},
            {"union_id": "u-new", "period": "2024", "due": 3_300_000, "collected": 2_000_000},
        ],
        "training": [{"union_id": "u-old", "year": 2024, "officials": 7, "trained": 6}],
        "conferences": [{"workplace_id": "w-old", "held_on": "2024-02-20"}],
        "womens_committees": [{"union_id": "u-new", "founded_on": "2024-03-08"}],
        "cards": [
            {"member_id": "m-old", "card_no": "QT-19-0001", "issued_on": "2019-07-01"},
            {"member_id": "m-new", "card_no": "QT-24-0001", "issued_on": "2024-03-01"},
        ],
    }
    for kind, rows in extra.items():
        sheets[kind] = sheets.get(kind, []) + rows
    return xlsx_file({kind: sheet(kind, rows) for kind, rows in sheets.items()})


EXPECTED = {"workplaces": 1, "unions": 1, "members": 1, "ratings": 2, "agreements": 2, "dues": 2, "training": 1}
EXPECTED |= {"conferences": 1, "womens_committees": 1, "cards": 2}


def test_a_districts_year_of_ratings_agreements_and_dues_from_one_workbook(tenant):
    district(tenant)
    answer = imported(tenant, year_workbook(), "Hướng Hóa 2024.xlsx")
    assert answer == {"created": {**dict.fromkeys(KINDS, 0), **EXPECTED}, "skipped": dict.fromkeys(KINDS, 0)}
    old = [(e["event"], e["data"]) for e in history(tenant, "/unions/u-old")]
    assert [e for e, _d in old] == ["UnionFounded", "UnionRated", "DuesRecorded", "OfficialsTrainingRecorded"]
    assert old[1][1]["rating"] == "excellent" and old[2][1]["collected"] == 11_400_000
    new = [e["event"] for e in history(tenant, "/unions/u-new")]
    assert new == ["UnionFounded", "UnionRated", "WomensCommitteeFounded", "DuesRecorded"]
    assert [e["event"] for e in history(tenant, "/workplaces/w-new")] == [
        "WorkplaceRegistered",
        "CollectiveAgreementSigned",
    ]
    assert [e["event"] for e in history(tenant, "/members/m-new")] == ["MemberAdmitted", "MemberCardIssued"]
    cards = [e for e in audit(tenant) if e["event"] == "CardNumberAssigned"]
    assert [(e["entity_id"], e["data"]["member_id"]) for e in cards] == [
        ("QT-19-0001", "m-old"),
        ("QT-24-0001", "m-new"),
    ]
    assert {e["actor"] for e in audit(tenant)} == {e["actor"] for e in audit(tenant) if e["event"] == "UnionFounded"}


def test_the_same_workbook_again_skips_every_row_and_a_changed_record_is_a_new_one(tenant):
    district(tenant)
    imported(tenant, year_workbook(), "2024.xlsx")
    trail = audit(tenant)
    again = imported(tenant, year_workbook(), "2024.xlsx")
    assert again["created"] == dict.fromkeys(KINDS, 0)
    assert again["skipped"] == {**dict.fromkeys(KINDS, 0), **EXPECTED}
    assert audit(tenant) == trail
    # The dues of u-new corrected: the new record is recorded, the others skipped.
    fixed = xlsx_file(
        {"dues": sheet("dues", [{"union_id": "u-new", "period": "2024", "due": 3_300_000, "collected": 3_300_000}])}
    )
    assert imported(tenant, fixed, "dues.xlsx")["created"]["dues"] == 1
    assert [e["data"]["collected"] for e in history(tenant, "/unions/u-new") if e["event"] == "DuesRecorded"] == [
        2_000_000,
        3_300_000,
    ]
    # The first workbook once more: its dues row, since corrected, is not recorded again over the correction.
    assert imported(tenant, year_workbook(), "2024.xlsx")["created"] == dict.fromkeys(KINDS, 0)


def test_a_csv_of_ratings_is_imported_by_its_name(tenant):
    district(tenant)
    content = b"union_id,year,rating,decided_on\r\nu-old,2023,good,2024-01-15\r\n"
    assert imported(tenant, content, "ratings.csv")["created"]["ratings"] == 1


def test_bad_record_rows_are_each_named_and_nothing_is_written(tenant):
    district(tenant)
    trail = audit(tenant)
    book = year_workbook(
        ratings=[
            {"union_id": "u-new", "year": 2023, "rating": "good", "decided_on": "2024-12-01"},  # line 4
            {"union_id": "u-nope", "year": 2024, "rating": "good", "decided_on": "2025-01-10"},  # line 5
            {"union_id": "u-old", "year": 2024, "rating": "strong", "decided_on": "2025-01-10"},  # line 6
        ],
        agreements=[{"workplace_id": "w-old", "signed_on": "2024-03-01", "expires_on": "2024-02-28"}],  # line 4
        training=[{"union_id": "u-old", "year": 2023, "officials": 5, "trained": 6}],  # line 3
        dues=[{"union_id": "u-old", "period": "2024-13", "due": 1, "collected": -1}],  # line 4
        cards=[{"member_id": "m-old", "card_no": "QT-24-0001", "issued_on": "2024-05-01"}],  # line 4: m-new's
    )
    response = upload(tenant, book, "bad.xlsx")
    assert response.status_code == 422, response.get_json()
    rows = {(r["sheet"], r["line"], r["column"], r["rule"]) for r in response.get_json()["rows"]}
    assert rows == {
        ("ratings", 4, "year", "rated_before_founding"),
        ("ratings", 5, "union_id", "exists"),
        ("ratings", 6, "rating", "one_of"),
        ("agreements", 4, "expires_on", "agreement_expiry"),
        ("training", 3, "trained", "trained_exceeds_officials"),
        ("dues", 4, "period", "period"),
        ("cards", 4, "card_no", "card_no_taken"),
    }
    assert audit(tenant) == trail


def test_the_cli_imports_a_csv_of_dues_named_by_its_kind(tenant, settings, tmp_path):
    from click.testing import CliRunner

    from service.cli import main
    from tests.api.test_imports import cli_env

    district(tenant)
    path = tmp_path / "thu-2024.csv"
    path.write_text("union_id,period,due,collected\nu-old,2024,12000000,11400000\n")
    args = ["import", "--tenant", tenant.id, "--kind", "dues", str(path)]
    result = CliRunner().invoke(main, args, env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert "Imported 0 workplaces, 0 unions, 0 members, 1 dues" in result.output, result.output
    dues = history(tenant, "/unions/u-old")[-1]
    assert (dues["event"], dues["actor"], dues["data"]["collected"]) == ("DuesRecorded", "import", 11_400_000)
