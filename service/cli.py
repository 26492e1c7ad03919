"""The ``unionledger`` command: serve, rebuild views, build the demo."""

from __future__ import annotations

import os
import sys

import click


@click.group()
def main() -> None:
    """unionledger: the trade-union register."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--demo/--no-demo", default=False, help="Build the demo province on first start.")
def serve(host: str, port: int, demo: bool) -> None:
    """Serve the API with gunicorn and the repository's config."""
    from gunicorn.app.wsgiapp import run

    os.environ["UNIONLEDGER_BIND"] = f"{host}:{port}"
    if demo:
        os.environ["UNIONLEDGER_DEMO"] = "1"
    config = os.path.join(os.path.dirname(__file__), "gunicorn.conf.py")
    sys.argv = ["gunicorn", "-c", config, "--bind", f"{host}:{port}", "service.wsgi:app"]
    run()


@main.command()
@click.option("--tenant", required=True, help="Tenant id")
def rebuild(tenant: str) -> None:
    """Rebuild every view of a tenant from its ledger."""
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        if platform.registry.tenant(tenant) is None:
            raise click.ClickException(f"tenant {tenant!r} does not exist")
        with platform.stores.use(tenant) as store:
            total = store.projector.ledger_position()
            with click.progressbar(length=total, label=f"Rebuilding {tenant}", show_pos=True) as bar:
                applied = store.rebuild(progress=bar.update)
        click.echo(f"Rebuilt the views of {tenant} from {applied} events.")
    finally:
        platform.close()


@main.command()
def demo() -> None:
    """Build the demo province (if missing) and print its token."""
    from service.startup import DEMO_TENANT, ensure_demo
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        click.echo(f"Demo tenant '{DEMO_TENANT}' token: {ensure_demo(platform)}")
    finally:
        platform.close()
