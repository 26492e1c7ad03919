"""The screenshots of docs/console/, taken again from the demo: each demo role signed in through
the console's own form, each page family at 1366x768, in Vietnamese, by Debian's Chromium driven
by Playwright (no browser is downloaded).

    .venv/bin/python -m demo.screenshots [--base http://127.0.0.1:8000] [--out docs/console]

``--base`` is a running demo (``make run``; the national pages need ``--national-token``, the
token ``make run`` prints, or ``--data`` the demo's data folder, default ./data, which keeps it).
Without ``--base`` the demo is served from ``--data`` on a free port for the time it takes
(built there first if it is not yet: a few minutes).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from demo.users import DEMO_PASSWORD
from service.startup import DEMO_TENANT

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("UNIONLEDGER_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1366, "height": 768}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data: Path) -> tuple[subprocess.Popen, str]:
    """The demo served from ``data`` on a free port, once it answers."""
    port = free_port()
    env = {**os.environ, "UNIONLEDGER_DATA_DIR": str(data)}
    command = [str(Path(sys.executable).parent / "unionledger"), "serve", "--demo", "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 1800  # a first build of the demo takes minutes
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the demo stopped (exit {server.returncode})")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as answer:
                if answer.status == 200:
                    return server, base
        except OSError:
            time.sleep(1)
    server.terminate()
    raise SystemExit("the demo did not answer within 30 minutes")


class Shots:
    def __init__(self, browser, base: str, out: Path):
        self.browser, self.base, self.out = browser, base, out
        self.taken: list[str] = []

    def session(self, username: str | None = None, token: str | None = None):
        """A fresh browser context, signed in as a demo user (or with a national token)."""
        context = self.browser.new_context(viewport=VIEWPORT, locale="vi-VN")
        context.set_default_timeout(60_000)
        page = context.new_page()
        if username:
            page.goto(f"{self.base}/login")
            page.get_by_label("Liên đoàn (mã đơn vị)").fill(DEMO_TENANT)
            page.get_by_label("Tên đăng nhập").fill(username)
            page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_load_state("networkidle")
        elif token:
            page.goto(f"{self.base}/login/national")
            page.locator("input[name=token]").fill(token)
            page.locator("form button[type=submit]").last.click()
            page.wait_for_load_state("networkidle")
        return context, page

    def shot(self, page, name: str, path: str | None = None, full: bool = False, before: Callable | None = None):
        if path is not None:
            page.goto(self.base + path)
        if before is not None:
            before(page)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(self.out / f"console-{name}.png"), full_page=full)
        self.taken.append(name)
        print(f"console-{name}.png  {page.url.removeprefix(self.base)}")


def report_of(page, base: str, unit_id: str, period: str) -> str | None:
    """The id of the latest report of ``period`` of the unit ``unit_id``, from the reports page."""
    page.goto(f"{base}/reports?period={period}&unit_id={unit_id}")
    rows = page.locator("#report-list tbody tr")
    return rows.first.locator("a").first.inner_text().strip() if rows.count() else None


def take(shots: Shots, national_token: str | None) -> None:
    context, page = shots.session()
    page.goto(f"{shots.base}/login")
    shots.shot(page, "login")
    context.close()

    # The province's administrator: the whole register, its users, its files.
    context, page = shots.session("admin")
    shots.shot(page, "dashboard", "/?as_of=2025-11-30", full=True)
    shots.shot(page, "units-2025-06-30", "/units?as_of=2025-06-30")
    shots.shot(page, "units-2025-07-01", "/units?as_of=2025-07-01")
    shots.shot(page, "members", "/members?q=nguyen+thi")
    shots.shot(page, "unions", "/unions")
    shots.shot(page, "workplaces", "/workplaces")
    page.goto(f"{shots.base}/members?q=nguyen+thi")
    href = page.locator("a[href^='/member/']").first.get_attribute("href")
    shots.shot(page, "member", href, full=True)
    shots.shot(page, "member-as-of", f"{href}?as_of=2024-12-31", full=True)
    page.goto(f"{shots.base}/unions")
    union = page.locator("a[href^='/union/']").first.get_attribute("href")
    shots.shot(page, "union-as-of", f"{union}?as_of=2024-06-30", full=True)
    shots.shot(page, "breakdowns", "/breakdowns?as_of=2025-11-30", full=True)
    shots.shot(page, "admit", "/members/new")
    shots.shot(page, "reports", "/reports")
    shots.shot(page, "report-draft", "/reports/new?period=2025-H1", full=True)
    shots.shot(page, "import", "/imports")
    shots.shot(page, "users", "/admin/users", full=True)
    shots.shot(page, "admin", "/admin/tokens")
    shots.shot(page, "password", "/account/password")
    context.close()

    # A district officer: Gio Linh, before it closed on 1 July 2025.
    context, page = shots.session("officer.giolinh")
    shots.shot(page, "officer-dashboard", "/?as_of=2025-06-30", full=True)
    context.close()

    # A commune clerk: Khe Sanh, from 1 July 2025; admits members there.
    context, page = shots.session("clerk.khesanh")
    shots.shot(page, "clerk-dashboard", "/?as_of=2025-11-30", full=True)
    shots.shot(page, "clerk-members", "/members")
    context.close()

    # The inspector verifies a report against the register.
    context, page = shots.session("inspector")
    report = report_of(page, shots.base, "u-hh", "2024")  # Hương Hóa's: two lines backfilled
    if report:
        page.goto(f"{shots.base}/reports/{report}")
        page.get_by_role("button", name="Kiểm tra với sổ").click()
        page.wait_for_load_state("networkidle")
        shots.shot(page, "verification", full=True)
    context.close()

    # The auditor: the digest, the chain check, the export.
    context, page = shots.session("auditor")
    shots.shot(page, "audit", "/audit", full=True)
    context.close()

    # The viewer: figures of its unit, no member lists.
    context, page = shots.session("viewer.kkt")
    shots.shot(page, "viewer-dashboard", "/?as_of=2025-11-30", full=True)
    context.close()

    if national_token:
        context, page = shots.session(token=national_token)
        page.goto(f"{shots.base}/national?period=2025")
        if page.locator("#national-progress").count() == 0:  # the demo's first run: one target to show
            page.get_by_label("Tỉnh", exact=True).select_option(DEMO_TENANT)
            page.get_by_label("Chỉ tiêu", exact=True).select_option("members_net_growth")
            page.locator("#value").fill("1200")
            page.get_by_role("button", name="Giao chỉ tiêu").click()
        shots.shot(page, "national", "/national?period=2025", full=True)
        shots.shot(page, "national-reports", "/national/reports")
        if page.locator("#national-reports button").count():
            page.locator("#national-reports button").first.click()
            shots.shot(page, "national-verification", full=True)
        context.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Take the console's screenshots (docs/console/) from the demo.")
    parser.add_argument("--base", help="a running demo, e.g. http://127.0.0.1:8000 (default: serve one)")
    parser.add_argument("--data", default="data", help="the demo's data folder (default ./data, as make run)")
    parser.add_argument("--national-token", help="the national token make run printed (default: from --data)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "console"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    data = Path(args.data).resolve()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server = None
    base = args.base
    if base is None:
        server, base = serve(data)
    token = args.national_token
    kept = data / "national-token"
    if token is None and kept.exists():
        token = kept.read_text().strip()
    try:
        with sync_playwright() as playwright:
            # --lang: the date fields in the browser's own Vietnamese format (dd/mm/yyyy)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--lang=vi-VN"])
            shots = Shots(browser, base.rstrip("/"), out)
            take(shots, token)
            browser.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
    print(f"{len(shots.taken)} screenshots in {out}")


if __name__ == "__main__":
    main()
