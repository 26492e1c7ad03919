"""What the service does once before serving: tokens, the demo province, a ready curl line."""

from __future__ import annotations

from datetime import date

import click

from domain.indicators import BASE_CODES, parse_indicator
from domain.ledger import vietnam_today
from domain.periods import parse_period
from projections.indicators import Question
from tenants.bootstrap import Platform, bootstrap
from persistence.files import write_private

DEMO_TENANT = "quang-tri"
DEMO_NAME = "Liên đoàn Lao động tỉnh Quảng Trị (demo)"
# Verbs whose rules read the views: catch them up first.
_VIEW_RULES = {"close_unit", "found_union", "dissolve_union"}


class _DemoLedger:
    """Runs the demo's commands straight on the ledger, catching views up where a rule reads them,
    and drafts a report's figures from the views (what ``GET /reports/draft`` answers)."""

    def __init__(self, store):
        self.store = store

    def draft(self, period: str, unit_id: str | None, as_of: date) -> dict[str, float | int]:
        """Every base indicator for the unit (None: the whole tenant), period and cut-off, as recorded so far."""
        self.store.projector.follow()
        question = Question(parse_period(period), unit_id, as_of, None)
        return self.store.indicators.figures([parse_indicator(code) for code in BASE_CODES], question)

    def __getattr__(self, verb):
        def run(*args, **kwargs):
            if verb in _VIEW_RULES:
                self.store.projector.follow()
            return getattr(self.store.ledger, verb)(*args, **kwargs)
        return run


def ensure_demo(platform: Platform, today: date | None = None, tenant_id: str = DEMO_TENANT) -> str:
    """Build the demo tenant unless it is built already; returns its token (kept in the data folder).

    The demo counts as built once ``demo-built`` is written after its last command: a build
    that this data folder's start left half-way (its token is here, the mark is not) is thrown
    away and made again from the start, never served. A demo found in a shared database with
    no token in this data folder was built by another start: it is taken as it is.
    """
    from demo.province import build_demo

    token_file = platform.settings.data_dir / "demo-token"
    built_file = platform.settings.data_dir / "demo-built"
    registered = platform.registry.tenant(tenant_id) is not None
    if registered and token_file.exists() and built_file.exists():
        return token_file.read_text().strip()
    started_here = not registered or token_file.exists()
    if not registered:
        token = platform.provision(tenant_id, DEMO_NAME)
    elif token_file.exists():
        token = token_file.read_text().strip()
    else:
        token = platform.registry.issue_token(tenant_id, "federation_admin", f"{tenant_id}:demo")
    write_private(token_file, token + "\n")
    with platform.stores.use(tenant_id) as store:
        recorded = store.projector.ledger_position() > 0
    if recorded and started_here:
        click.echo("The demo province's last build did not finish: throwing it away.")
        platform.empty_store(tenant_id)
    if not recorded or started_here:
        with platform.stores.use(tenant_id) as store:
            click.echo("Building the demo province from the seeds' figures...")
            with store.lock():
                build_demo(_DemoLedger(store), today or vietnam_today())
                store.projector.follow()
    write_private(built_file, f"{tenant_id}\n")
    return token


def announce(*, demo: bool, bind: str) -> None:
    """What the service says as it starts; the admin token only on the start that made it."""
    platform = bootstrap()
    try:
        base = f"http://{bind}"
        click.echo(f"unionledger: store {platform.settings.backend}"
                   + ("" if platform.settings.database_url else f" (files in {platform.settings.data_dir}/)"))
        if not platform.settings.admin_token:
            kept = platform.registry.admin_token_path
            if platform.registry.admin_token_made:
                click.echo(f"Platform admin token (shown this once; kept in {kept}): {platform.registry.admin_token}")
            else:
                click.echo(f"Platform admin token: kept in {kept}")
        if demo:
            token = ensure_demo(platform)
            click.echo(f"Demo tenant '{DEMO_TENANT}' token: {token}")
            click.echo("Try (the province's figures for the 2023-2028 term, as of today):")
            click.echo(f"  curl -s -H 'Authorization: Bearer {token}' "
                       f"'{base}/v1/tenants/{DEMO_TENANT}/indicators?period=2023-2028'")
        click.echo(f"API docs: {base}/docs  OpenAPI: {base}/openapi.json")
    finally:
        platform.close()
