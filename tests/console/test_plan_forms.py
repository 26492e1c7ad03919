"""The console's forms for the plans' other records (ratings, dues, training, women's committee,
agreements, conferences, cards), on both stores: linked from the union, workplace and member
pages, refusals beside their field in Vietnamese, and what they record as the API records it."""

from __future__ import annotations

import re

import pytest

from tests.console.province import ADMIN, build_province
from tests.console.test_pages import csrf, sign_in


@pytest.fixture
def signed(client, tenant):
    province = build_province(tenant)
    assert sign_in(client, province.id, ADMIN).status_code == 302
    return client, province


def post(client, path: str, form: dict):
    return client.post(path, data={**form, "csrf_token": csrf(client, path)})


def test_the_pages_link_to_the_seven_forms(signed):
    client, _province = signed
    union = client.get("/union/u1").get_data(as_text=True)
    for form in ("rating", "dues", "training", "womens-committee"):
        assert f'href="/union/u1/{form}"' in union
    workplace = client.get("/workplace/w1").get_data(as_text=True)
    assert 'href="/workplace/w1/agreement"' in workplace and 'href="/workplace/w1/conference"' in workplace
    assert 'href="/member/m1/card"' in client.get("/member/m1").get_data(as_text=True)
    assert "Ghi nhận xếp loại công đoàn cơ sở" in client.get("/union/u1/rating").get_data(as_text=True)


def test_each_form_records_its_event_as_the_api_does(signed):
    client, province = signed
    forms = [
        ("/union/u1/rating", {"year": "2024", "rating": "good", "decided_on": "2025-01-15"}, "/union/u1"),
        ("/union/u1/dues", {"period": "2024", "due": "12000000", "collected": "11400000"}, "/union/u1"),
        ("/union/u1/training", {"year": "2024", "officials": "7", "trained": "6"}, "/union/u1"),
        ("/union/u1/womens-committee", {"founded_on": "2020-03-08"}, "/union/u1"),
        ("/workplace/w1/agreement", {"signed_on": "2024-05-01", "expires_on": "2027-04-30"}, "/workplace/w1"),
        ("/workplace/w1/conference", {"held_on": "2024-02-20"}, "/workplace/w1"),
        ("/member/m1/card", {"card_no": "QT-24-0001", "issued_on": "2024-03-15"}, "/member/m1"),
    ]
    for path, form, page in forms:
        answer = post(client, path, form)
        assert answer.status_code == 302 and answer.headers["Location"] == page, (path, answer.get_data(True)[:300])
    union = [(e["event"], e["actor"]) for e in province.get("/unions/u1/history").get_json()["events"]]
    assert union[1:] == [
        ("UnionRated", ADMIN),
        ("DuesRecorded", ADMIN),
        ("OfficialsTrainingRecorded", ADMIN),
        ("WomensCommitteeFounded", ADMIN),
    ]
    dues = province.get("/unions/u1/history").get_json()["events"][2]["data"]
    assert (dues["due"], dues["collected"]) == (12_000_000, 11_400_000)
    assert [e["event"] for e in province.get("/workplaces/w1/history").get_json()["events"]][1:] == [
        "CollectiveAgreementSigned",
        "WorkersConferenceHeld",
    ]
    page = client.get("/union/u1").get_data(as_text=True)
    assert "Xếp loại công đoàn cơ sở" in page and "hoàn thành tốt nhiệm vụ" in page  # the history, in Vietnamese


@pytest.mark.parametrize(
    "path, form, field, message",
    [
        (
            "/union/u1/rating",
            {"year": "2018", "rating": "good", "decided_on": "2019-03-01"},
            "year",
            "Công đoàn cơ sở chưa được thành lập trong năm này.",
        ),
        (
            "/workplace/w1/agreement",
            {"signed_on": "2024-05-01", "expires_on": "2024-04-30"},
            "expires_on",
            "Thỏa ước không thể hết hạn trước ngày ký.",
        ),
        (
            "/union/u1/training",
            {"year": "2024", "officials": "5", "trained": "6"},
            "trained",
            "Số cán bộ được tập huấn không thể nhiều hơn số cán bộ.",
        ),
        ("/union/u1/dues", {"period": "2024-13", "due": "1", "collected": "1"}, "period", "Phải là một kỳ"),
        ("/member/m1/card", {"card_no": "QT 1", "issued_on": "2024-03-15"}, "card_no", "Gồm 1 đến 32 chữ cái"),
        ("/union/u1/rating", {"year": "2024", "decided_on": "2025-01-15"}, "rating", "Trường này là bắt buộc."),
    ],
)
def test_a_refusal_shows_beside_its_field_in_vietnamese_and_nothing_is_recorded(signed, path, form, field, message):
    client, province = signed
    before = len(province.get("/audit", limit=1000).get_json()["entries"])
    answer = post(client, path, form)
    assert answer.status_code == 422
    assert re.search(rf'id="{field}-error">{re.escape(message)}', answer.get_data(as_text=True))
    assert len(province.get("/audit", limit=1000).get_json()["entries"]) == before


def test_a_card_number_another_member_holds_is_refused_beside_it(signed):
    client, province = signed
    assert post(client, "/member/m1/card", {"card_no": "QT-1", "issued_on": "2024-03-15"}).status_code == 302
    taken = post(client, "/member/m2/card", {"card_no": "QT-1", "issued_on": "2024-03-15"})
    assert taken.status_code == 422
    assert 'id="card_no-error">Số thẻ này đã cấp cho đoàn viên khác.' in taken.get_data(as_text=True)
    assert "MemberCardIssued" not in [e["event"] for e in province.get("/members/m2/history").get_json()["events"]]


def test_a_district_officer_imports_a_years_records_and_sees_its_progress_and_form(client, tenant):
    """As a new user would: the district's officer uploads a workbook of 2025's ratings, agreements
    and dues on the import page, then reads the district's plan lines against the targets and the
    2-HĐCĐ form. By hand, at 31 December 2025 for d1 (w1, w2 covered; u1, u2): rated good 1 of 2
    (50%, target 60: behind); agreements 1 of 2 covered workplaces (50%, target 80: behind); dues
    1,540,000 of 1,600,000 (96.3%, target 90: achieved)."""
    from io import BytesIO

    from tests.api.test_import_records import sheet
    from tests.api.test_imports import xlsx_file
    from tests.console.province import issue
    from tests.console.test_pages import text

    province = build_province(tenant)
    for indicator, value in (("unions_rated_good_pct", 60), ("cla_coverage_pct", 80), ("dues_collected_pct", 90)):
        province.post("/targets", {"unit_id": "d1", "indicator": indicator, "period": "2025", "value": value})
    officer = issue(province, "officer", "can-bo-d1", scope_unit_id="d1")
    assert sign_in(client, province.id, officer).status_code == 302
    book = xlsx_file(
        {
            "ratings": sheet(
                "ratings",
                [
                    {"union_id": "u1", "year": 2025, "rating": "good", "decided_on": "2025-12-20"},
                    {"union_id": "u2", "year": 2025, "rating": "fair", "decided_on": "2025-12-20"},
                ],
            ),
            "agreements": sheet(
                "agreements", [{"workplace_id": "w1", "signed_on": "2025-03-01", "expires_on": "2028-02-28"}]
            ),
            "dues": sheet(
                "dues",
                [
                    {"union_id": "u1", "period": "2025", "due": 1_200_000, "collected": 1_140_000},
                    {"union_id": "u2", "period": "2025", "due": 400_000, "collected": 400_000},
                ],
            ),
        }
    )
    answer = client.post(
        "/imports",
        data={"csrf_token": csrf(client, "/imports"), "file": (BytesIO(book), "huyen-mot-2025.xlsx")},
        content_type="multipart/form-data",
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200, body[:500]
    assert re.search(r'id="created-ratings">2<', body) and re.search(r'id="created-dues">2<', body)
    assert "Thỏa ước lao động tập thể" in text(answer)  # the sheets named in Vietnamese
    dashboard = client.get("/?as_of=2025-12-31").get_data(as_text=True)
    for code, shown, status in (
        ("unions_rated_good_pct", "50,0", "behind"),
        ("cla_coverage_pct", "50,0", "behind"),
        ("dues_collected_pct", "96,3", "achieved"),
    ):
        row = re.search(rf'<tr id="plan-{code}">(.*?)</tr>', dashboard, re.S)
        assert row and shown in row.group(1) and f"status-{status}" in row.group(1), (code, row and row.group(1))
    form = province.get("/forms/2-hdcd", unit_id="d1", year="2025", as_of="2025-12-31").get_json()
    assert {r["code"]: r["value"] for r in form["rows"]}["unions_rated_good"] == 1
