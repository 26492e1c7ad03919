"""The console in a real browser: sign in, read the dashboard's figure, admit a member through the
form and see the figure move, a form error beside its field in Vietnamese, the lists' active search.
The province and its figures are in tests/console/province.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.console.province import ADMIN, PASSWORD, backfilled_report, build_province, issue, second_district

pytestmark = pytest.mark.browser


@pytest.fixture
def province(tenant):
    return build_province(tenant)


def sign_in(page, live: str, province, username: str = ADMIN) -> None:
    page.goto(f"{live}/")
    assert page.url.startswith(f"{live}/login")  # not signed in: sent to the sign-in page
    page.get_by_label("Liên đoàn (mã đơn vị)").fill(province.id)
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live}/")


def test_a_user_signs_in_and_the_dashboard_shows_the_hand_worked_figures(page, live, province, request):
    sign_in(page, live, province)
    assert page.locator("#fig-members_total").inner_text() == "4"
    assert page.locator("#fig-coverage_pct").inner_text() == "66,7%"
    assert page.locator("[data-chart] svg").count() == 2  # both charts drawn, from the service's own ECharts
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1366  # no sideways scrolling at 1366x768
    page.get_by_label("Sổ tại ngày").fill("2024-04-01")  # before m4 joined: htmx swaps the figures in
    page.get_by_role("button", name="Xem").click()
    expect(page.locator("#fig-members_total")).to_have_text("3")  # waits for htmx's swap
    page.wait_for_url(re.compile(r"as_of=2024-04-01"))
    assert "Số liệu tại ngày 01/04/2024" in page.locator("#dashboard").inner_text()
    page.goto(f"{live}/")  # a first load of the dashboard, for its first contentful paint
    page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
    paint = page.evaluate("performance.getEntriesByName('first-contentful-paint').map(e => e.startTime)")
    # recorded, not asserted: `pytest --cache-show 'console/*/*'` shows it
    if getattr(request.config, "cache", None) is not None:  # absent with -p no:cacheprovider
        request.config.cache.set(f"console/dashboard_fcp_ms/{request.node.callspec.id}", paint[0] if paint else None)


def test_a_clerk_admits_a_member_through_the_form_and_the_dashboard_figure_moves(page, live, province):
    sign_in(page, live, province, issue(province, "clerk", "thu-ky-d1", scope_unit_id="d1"))
    assert "Huyện Một" in page.locator("h1").inner_text()  # the clerk's dashboard is its district's
    assert page.locator("#fig-members_total").inner_text() == "4"
    page.get_by_role("link", name="Kết nạp đoàn viên").click()
    page.get_by_label("Mã đoàn viên").fill("m5")
    page.get_by_label("Mã công đoàn cơ sở").fill("u1")
    page.get_by_label("Ngày kết nạp").fill("2025-01-10")
    page.get_by_label("Họ và tên").fill("Vũ Thị Em")
    page.get_by_label("nữ").check()
    page.get_by_role("button", name="Kết nạp", exact=True).click()
    page.wait_for_url(f"{live}/member/m5")
    assert "Vũ Thị Em" in page.locator("h1").inner_text()
    page.get_by_role("link", name="Tổng quan").click()
    assert page.locator("#fig-members_total").inner_text() == "5"
    assert province.get("/members/m5/history").get_json()["events"][0]["actor"] == "thu-ky-d1"


def test_a_form_error_appears_beside_its_field_in_vietnamese(page, live, province):
    sign_in(page, live, province)
    page.goto(f"{live}/members/new")
    page.get_by_label("Mã đoàn viên").fill("m6")
    page.get_by_label("Mã công đoàn cơ sở").fill("u1")
    page.get_by_label("Ngày kết nạp").fill("2025-01-10")
    page.get_by_label("nam", exact=True).check()
    page.get_by_role("button", name="Kết nạp", exact=True).click()
    name = page.get_by_label("Họ và tên")
    assert name.get_attribute("aria-invalid") == "true"
    error = page.locator(f"#{name.get_attribute('aria-describedby')}")
    assert error.inner_text() == "Trường này là bắt buộc."
    assert error.is_visible()
    # beside its field: right under the input, in the same block
    field, message = name.bounding_box(), error.bounding_box()
    assert field and message and 0 <= message["y"] - (field["y"] + field["height"]) < 40
    assert page.get_by_label("Mã đoàn viên").input_value() == "m6"  # what was typed is kept


def test_the_member_search_finds_a_name_typed_without_accents_as_you_type(page, live, province):
    sign_in(page, live, province)
    page.get_by_role("link", name="Đoàn viên", exact=True).click()
    page.get_by_label("Họ tên (có hoặc không dấu)").press_sequentially("nguyen van")
    rows = page.locator("#member-list tbody tr")
    expect(rows).to_have_count(1)  # waits for htmx's swap
    assert "Nguyễn Văn An" in rows.first.inner_text()
    page.wait_for_url(re.compile(r"q=nguyen"))


def test_the_keyboard_reaches_the_content_and_the_focus_is_visible(page, live, province):
    sign_in(page, live, province)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Bỏ qua, đến nội dung")
    assert skip.evaluate("e => e === document.activeElement")
    outline = skip.evaluate("e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth")
    assert outline == "solid 3px"


def test_an_inspector_verifies_a_report_and_sees_a_backfilled_line_with_its_late_events(page, live, province):
    report_id = backfilled_report(province)
    sign_in(page, live, province, issue(province, "inspector", "kiem-tra"))
    page.get_by_role("link", name="Báo cáo", exact=True).click()
    page.get_by_role("link", name=report_id).click()
    page.get_by_role("button", name="Kiểm tra với sổ").click()
    line = page.locator("#line-members_total")
    assert line.locator("td").all_inner_texts() == ["5", "4", "5", "nhập bổ sung"]
    late = page.locator(".late-events tbody tr")
    assert late.count() == 1 and "Kết nạp" in late.inner_text() and "01/11/2024" in late.inner_text()
    late.get_by_role("link", name="m5").click()
    assert "Vũ Thị Em" in page.locator("h1").inner_text()


def test_an_import_with_a_bad_row_shows_the_row_and_writes_nothing(page, live, province):
    rows = (
        "id,union_id,admitted_on,full_name,gender\r\n"
        "m20,u1,2025-02-01,Hoàng Văn Hải,male\r\n"
        "m21,u404,2025-02-01,Lý Thị Hoa,female\r\n"
    )
    sign_in(page, live, province)
    page.get_by_role("link", name="Nhập dữ liệu").click()
    page.get_by_label("Tệp (XLSX hoặc CSV)").set_input_files(
        {"name": "members.csv", "mimeType": "text/csv", "buffer": rows.encode()}
    )
    page.get_by_role("button", name="Kiểm tra và nhập").click()
    page.locator("#bad-rows").wait_for()  # swapped in by htmx when the answer comes
    cells = page.locator("#bad-rows tbody tr").first.locator("td").all_inner_texts()
    assert cells[:3] == ["members", "3", "union_id"]
    assert page.url == f"{live}/imports"  # htmx put the answer under the form
    province.get("/members/m20", expect=404)
    page.get_by_role("link", name="Tổng quan").click()
    assert page.locator("#fig-members_total").inner_text() == "4"


def test_the_english_switch_keeps_the_page_and_writes_numbers_the_english_way(page, live, province):
    sign_in(page, live, province)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    assert page.locator("#fig-coverage_pct").inner_text() == "66.7%"
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.locator("#fig-coverage_pct")).to_have_text("66,7%")


def test_a_wrong_password_is_refused_and_signing_out_ends_the_session(page, live, province):
    page.goto(f"{live}/login")
    page.get_by_label("Liên đoàn (mã đơn vị)").fill(province.id)
    page.get_by_label("Tên đăng nhập").fill(ADMIN)
    page.get_by_label("Mật khẩu").fill("not the password")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#login-error")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    assert page.get_by_label("Mật khẩu").input_value() == ""  # the password is never sent back
    page.context.clear_cookies()
    sign_in(page, live, province)
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/login"))
    page.goto(f"{live}/members")
    assert page.url.startswith(f"{live}/login")
    assert province.get("/access-log").get_json()["entries"][-1]["event"] == "logout"


def test_a_district_officer_cannot_open_another_districts_member_and_no_link_leads_there(page, live, province):
    second_district(province)
    sign_in(page, live, province, issue(province, "officer", "can-bo-d1", scope_unit_id="d1"))
    assert page.locator("#fig-members_total").inner_text() == "4"  # d1's own figure, without asking for it
    assert "Huyện Một" in page.locator("h1").inner_text()
    for path in ("/", "/units", "/unions", "/workplaces", "/members"):
        page.goto(f"{live}{path}")
        hrefs = page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href') || '')")
        # Ids as whole words of a link (the tenant's own id, random hex, may hold "d2" by chance)
        named = [set(re.findall(r"[A-Za-z0-9]+", h.replace(province.id, ""))) for h in hrefs]
        assert not [h for h, words in zip(hrefs, named) if words & {"m9", "u4", "w4", "d2"}], path
    page.goto(f"{live}/members?q=dang+van+hai")
    assert "Đặng Văn Hải" not in page.locator("main").inner_text()  # the search finds no one outside d1
    answer = page.goto(f"{live}/member/m9")
    assert answer is not None and answer.status == 404
    assert page.locator("h1").inner_text() == "Không tìm thấy"
    assert "Đặng Văn Hải" not in page.content()


def test_a_download_from_the_members_list_opens_as_a_workbook(page, live, province, tmp_path):
    from openpyxl import load_workbook

    sign_in(page, live, province)
    page.goto(f"{live}/members?union_id=u1")
    with page.expect_download() as started:
        page.locator("#download-members").click()
    download = started.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(load_workbook(saved, read_only=True).active.values)
    names = sorted(r[rows[0].index("full_name")] for r in rows[2:])
    assert names == ["Lê Văn Cường", "Nguyễn Văn An", "Trần Thị Bình"]
    page.goto(f"{live}/?as_of=2024-12-31")
    with page.expect_download() as started:
        page.locator("#download-2-hdcd").click()
    saved = tmp_path / "form.xlsx"
    started.value.save_as(saved)
    assert load_workbook(saved, read_only=True).active["D1"].value == "Mẫu 2-HĐCĐ"
