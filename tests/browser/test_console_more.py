"""The console in a real browser, continued: the entity page's "as the register stood at" switch
worked with the keyboard alone, the tree's workbook downloaded and opened, a user's own password
changed, and the national level handing a province a target. Figures as in tests/console/province.py."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import sign_in
from tests.conftest import new_tenant
from tests.console.province import PASSWORD, build_province, issue, second_district

pytestmark = pytest.mark.browser


@pytest.fixture
def province(tenant):
    return build_province(tenant)


def tab_to(page, reached: str, most: int = 12) -> None:
    """Tab until ``reached`` holds (a date input's parts take a Tab each in Chromium)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(reached):
            return
    raise AssertionError(f"the keyboard did not reach: {reached}")


def test_the_as_it_stood_switch_works_from_the_keyboard(page, live, province):
    sign_in(page, live, province)
    page.goto(f"{live}/union/u1")
    when = page.get_by_label("Tại ngày")
    when.focus()
    when.fill("2024-02-01")  # before m1-m3 joined on 2024-03-01
    tab_to(page, "document.activeElement.id === 'stood-known_at'")  # past the date's day, month, year
    tab_to(page, "document.activeElement.textContent === 'Xem'")  # past the instant's parts
    page.keyboard.press("Enter")
    expect(page.locator("#then-members_total")).to_have_text("0")
    assert "as_of=2024-02-01" in page.url
    page.get_by_label("Tại ngày").fill("2024-03-01")
    page.get_by_label("Tại ngày").press("Enter")
    expect(page.locator("#then-members_total")).to_have_text("3")


def test_the_tree_downloads_as_a_workbook(page, live, province, tmp_path):
    from openpyxl import load_workbook

    second_district(province)
    sign_in(page, live, province)
    page.goto(f"{live}/units")
    with page.expect_download() as started:
        page.locator("#download-tree").click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    rows = list(load_workbook(saved, read_only=True).active.values)
    assert [r[0] for r in rows[2:]] == ["d1", "d2"]


def test_a_user_changes_their_password_and_signs_in_with_the_new_one(page, live, province):
    sign_in(page, live, province, issue(province, "viewer", "xem-d1", scope_unit_id="d1"))
    page.get_by_role("link", name="Mật khẩu của tôi").click()
    page.get_by_label("Mật khẩu mới", exact=True).fill("một câu mới dễ nhớ")
    page.get_by_label("Nhập lại mật khẩu mới").fill("một câu mới dễ nhớ")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(page.locator("#password-changed")).to_be_visible()
    page.get_by_role("button", name="Đăng xuất").click()
    page.get_by_label("Liên đoàn (mã đơn vị)").fill(province.id)
    page.get_by_label("Tên đăng nhập").fill("xem-d1")
    page.get_by_label("Mật khẩu").fill(PASSWORD)  # the old one
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("p.error")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    page.get_by_label("Mật khẩu").fill("một câu mới dễ nhớ")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live}/")


def test_the_national_level_hands_a_province_a_target_and_shows_it_beside_the_other(
    page, live, province, client, admin
):
    other = second_district(build_province(new_tenant(client, admin)))
    secret = client.post("/v1/national/tokens", json={"holder": "tw", "role": "national"}, headers=admin).get_json()
    page.goto(f"{live}/login/national")
    page.locator("input[name=token]").fill(secret["token"])
    page.locator("input[name=token]").press("Enter")
    page.wait_for_url(f"{live}/national")
    page.get_by_label("Tỉnh", exact=True).select_option(province.id)
    page.get_by_label("Chỉ tiêu", exact=True).select_option("members_net_growth")
    page.get_by_label("Kỳ (ví dụ 2025, 2025-H1)").fill("2024")
    page.locator("#value").fill("8")
    page.get_by_role("button", name="Giao chỉ tiêu").click()
    page.goto(f"{live}/national?period=2024&as_of=2024-12-31")
    mine = page.locator(f"#compare-members_net_growth-{province.id} td")
    expect(mine.nth(0)).to_have_text("4")
    expect(mine.nth(1)).to_have_text("8")
    theirs = page.locator(f"#compare-members_net_growth-{other.id} td")
    expect(theirs.nth(0)).to_have_text("5")
