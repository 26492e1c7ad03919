"""The docs page as a caller finds it: /docs loads Swagger UI from the service itself (a pinned
version, so it works on a network with no internet), without a token."""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from service.app import create_app
from tenants.settings import Settings
from tests.conftest import ADMIN_TOKEN

ROOT = Path(__file__).resolve().parents[2]
YEAR = 365 * 24 * 60 * 60
TYPES = {".css": "text/css", ".js": "text/javascript"}


class Links(HTMLParser):
    """Every URL a page makes the browser load (src and href) and the text of its inline scripts."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.scripts.append(data)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The docs page does not depend on the store: the embedded one is enough."""
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("docs"), admin_token=ADMIN_TOKEN))
    yield app.test_client()
    app.extensions["unionledger"].close()


@pytest.fixture(scope="module")
def page(client) -> Links:
    response = client.get("/docs")  # no token
    assert response.status_code == 200 and response.mimetype == "text/html"
    links = Links()
    links.feed(response.get_data(as_text=True))
    return links


def pinned_swagger_ui() -> str:
    """The Swagger UI version pyproject.toml pins (flask-swagger-ui's version is Swagger UI's)."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in dependencies if d.startswith("flask-swagger-ui")]
    return pin.split("==")[1]


def test_the_docs_page_answers_without_a_token_and_names_no_other_host(client):
    page = client.get("/docs").get_data(as_text=True)
    assert "<title>unionledger</title>" in page
    assert not re.search(r"https?://|//[a-z]", page, re.IGNORECASE), page


def test_the_docs_page_loads_its_script_and_style_from_the_service(page):
    assert page.urls and all(url.startswith("/docs/assets/") for url in page.urls), page.urls
    assert {Path(url).suffix for url in page.urls} == {".css", ".js"}
    assert any(url.endswith("/swagger-ui-bundle.js") for url in page.urls)


def test_every_asset_of_the_docs_page_answers_from_the_service_and_is_cached_for_a_year(client, page):
    for url in page.urls:
        response = client.get(url)  # no token
        assert response.status_code == 200, url
        assert response.mimetype == TYPES[Path(url).suffix], (url, response.mimetype)
        assert len(response.data) > 10_000, url
        assert response.cache_control.max_age >= YEAR and response.cache_control.immutable, url


def test_the_docs_page_serves_the_swagger_ui_version_pyproject_pins(client, page):
    version = pinned_swagger_ui()
    assert all(url.startswith(f"/docs/assets/{version}/") for url in page.urls), (version, page.urls)
    (bundle,) = [url for url in page.urls if url.endswith("/swagger-ui-bundle.js")]
    served = client.get(bundle).get_data(as_text=True)
    assert f'PACKAGE_VERSION:"{version}"' in served


def test_the_swagger_ui_licence_is_served_beside_it(client):
    licence = client.get(f"/docs/assets/{pinned_swagger_ui()}/LICENSE")
    assert licence.status_code == 200 and "Apache License" in licence.get_data(as_text=True)


def test_the_docs_page_reads_the_service_own_document_and_asks_no_validator(client, page):
    (script,) = [s for s in page.scripts if "SwaggerUIBundle" in s]
    assert re.search(r'url: "/openapi\.json"', script), script
    assert '"validatorUrl": null' in script
    assert client.get("/openapi.json").status_code == 200  # no token


@pytest.mark.parametrize(
    "path",
    [
        "/docs/assets/0.0.1/swagger-ui.css",
        "/docs/assets/{v}/nowhere.js",
        "/docs/assets/{v}/../../../pyproject.toml",
        "/docs/assets/{v}/%2e%2e/__init__.py",
    ],
)
def test_a_file_the_docs_page_does_not_have_is_a_problem_404(client, path):
    response = client.get(path.format(v=pinned_swagger_ui()))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
