"""What the service does once before serving: tokens, the demo province, a ready curl line."""

from __future__ import annotations

from datetime import date

import click

from application.register import Register
from domain.clock import vietnam_today
from persistence.files import write_private
from tenants.bootstrap import Platform, bootstrap

DEMO_TENANT = "quang-tri"
DEMO_NAME = "Liên đoàn Lao động tỉnh Quảng Trị (demo)"


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
        recorded = Register(store).recorded() > 0
    if recorded and started_here:
        click.echo("The demo province's last build did not finish: throwing it away.")
        platform.empty_store(tenant_id)
    if not recorded or started_here:
        with platform.stores.use(tenant_id) as store, Register(store).batch() as batch:
            click.echo("Building the demo province from the seeds' figures...")
            build_demo(batch, today or vietnam_today())
    write_private(built_file, f"{tenant_id}\n")
    return token


SECOND_TENANT = "thanh-hoa"
SECOND_NAME = "Liên đoàn Lao động tỉnh Thanh Hóa (demo: a small synthetic sample)"
SECOND_MEMBERS = 4000
SECOND_SEED = 23


def ensure_national_demo(platform: Platform, today: date | None = None, tenant_id: str = SECOND_TENANT) -> str | None:
    """A second, smaller province beside the demo one (synthetic, demo/generator.py), so that the
    national level sums two tenants; returns a national token (kept in the data folder).

    Built as ensure_demo builds its province: a build this data folder started and did not
    finish is made again; one another start made in a shared database is taken as it is. The
    synthetic history runs 2015-2025, so before 2016 there is no second province (None).
    """
    from demo.generator import generate_province, load_province

    data = platform.settings.data_dir
    started_file, built_file = data / "demo-second-started", data / "demo-second-built"
    registered = platform.registry.tenant(tenant_id) is not None
    if not built_file.exists() and (not registered or started_file.exists()):
        today = today or vietnam_today()
        if today < date(2016, 1, 1):  # a demo as of 2015: one province, and so no national level
            write_private(built_file, "none: the demo was built before 2016\n")
            return None
        write_private(started_file, f"{tenant_id}\n")
        if registered:
            click.echo("The second demo province's last build did not finish: throwing it away.")
            platform.empty_store(tenant_id)
        else:
            platform.provision(tenant_id, SECOND_NAME)
        click.echo(f"Building a second, smaller demo province ({SECOND_MEMBERS:,} synthetic members)...")
        with platform.stores.use(tenant_id) as store:
            load_province(Register(store), generate_province(SECOND_MEMBERS, SECOND_SEED, today), actor="demo")
        if platform.registry.tenant(DEMO_TENANT) is not None:  # a few members move there, with their cards
            from demo.moves import move_members

            moved = move_members(platform, DEMO_TENANT, tenant_id, today)
            click.echo(f"{len(moved)} members moved from {DEMO_TENANT} to {tenant_id}: {', '.join(moved)}")
        write_private(built_file, f"{tenant_id}\n")
    elif not registered:
        return None
    token_file = data / "national-token"
    if not token_file.exists():
        token, _issued = platform.registry.issue_national_token("vgcl:demo")
        write_private(token_file, token + "\n")
    return token_file.read_text().strip()


def announce(*, demo: bool, bind: str) -> None:
    """What the service says as it starts; the admin token only on the start that made it."""
    platform = bootstrap()
    try:
        base = f"http://{bind}"
        click.echo(
            f"unionledger: store {platform.settings.backend}"
            + ("" if platform.settings.database_url else f" (files in {platform.settings.data_dir}/)")
        )
        if not platform.settings.admin_token:
            kept = platform.registry.admin_token_path
            if platform.registry.admin_token_made:
                click.echo(f"Platform admin token (shown this once; kept in {kept}): {platform.registry.admin_token}")
            else:
                click.echo(f"Platform admin token: kept in {kept}")
        if demo:
            token = ensure_demo(platform)
            click.echo(f"Demo tenant '{DEMO_TENANT}' token: {token}")
            show_demo_users(platform, base)
            click.echo("Try (the province's figures for the 2023-2028 term, as of today):")
            click.echo(
                f"  curl -s -H 'Authorization: Bearer {token}' "
                f"'{base}/v1/tenants/{DEMO_TENANT}/indicators?period=2023-2028'"
            )
            national = ensure_national_demo(platform)
            if national is not None:
                click.echo(f"National token (both demo provinces, aggregates only): {national}")
                click.echo(
                    f"  curl -s -H 'Authorization: Bearer {national}' '{base}/v1/national/indicators?period=2025'"
                )
        click.echo(f"API docs: {base}/docs  OpenAPI: {base}/openapi.json")
    finally:
        platform.close()


def show_demo_users(platform: Platform, base: str) -> None:
    """The demo's users (made if missing), their password, and how one logs in."""
    from demo.users import DEMO_PASSWORD, ensure_demo_users

    users = ensure_demo_users(platform.registry, DEMO_TENANT)
    click.echo(f"Demo users, each with the password '{DEMO_PASSWORD}':")
    for username, role, scope in users:
        click.echo(f"  {username:<16} {role:<17} {scope}")
    click.echo(f"Sign in to the console at {base}/ with the federation '{DEMO_TENANT}', a username and the password,")
    click.echo("or log in to the API as one (a token of its role and scope, for 8 hours):")
    click.echo(
        f'  curl -s -X POST -H \'Content-Type: application/json\' -d \'{{"tenant": "{DEMO_TENANT}",'
        f' "username": "clerk.khesanh", "password": "{DEMO_PASSWORD}"}}\' \'{base}/v1/sessions\''
    )
    click.echo(
        f"  then send its token: curl -s -H 'Authorization: Bearer <token>'"
        f" '{base}/v1/tenants/{DEMO_TENANT}/units/u-hh-1'"
    )
