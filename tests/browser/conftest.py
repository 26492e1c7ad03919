"""Browser tests: Debian's Chromium driven by Playwright against the service on a real port.

Chromium is /usr/bin/chromium (UNIONLEDGER_CHROMIUM to use another): no browser is downloaded.
Without it the tests are skipped, except under CI, where they fail. A failed test leaves a
screenshot of its page in test-screenshots/ (UNIONLEDGER_SCREENSHOTS to put them elsewhere).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import under_ci
from tests.console.conftest import quick_hashes  # noqa: F401 - light password hashes here too

CHROMIUM = os.environ.get("UNIONLEDGER_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("UNIONLEDGER_SCREENSHOTS", "test-screenshots"))
VIEWPORT = {"width": 1366, "height": 768}  # the console must be usable at this size


def _missing() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401 - only whether it is installed
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator:
    missing = _missing()
    if missing:
        if under_ci():
            pytest.fail(f"the browser tests may not be skipped under CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser, request) -> Iterator:
    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
        tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def live(app) -> Iterator[str]:
    """The app serving on a free port of 127.0.0.1; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
