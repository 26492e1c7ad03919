"""``unionledger tenants create`` and ``unionledger tenants list``: tenants and the servers they live on."""

from __future__ import annotations

import click


@click.group()
def tenants() -> None:
    """Tenants (one per provincial federation) and their placement on the PostgreSQL servers."""


@tenants.command("create")
@click.argument("tenant_id")
@click.option("--name", required=True, help="The federation's name")
@click.option("--server", help="The server to place it on (by default the one holding the fewest members)")
def create(tenant_id: str, name: str, server: str | None) -> None:
    """Provision a tenant and print its first token (role federation_admin), shown once."""
    from domain.errors import DomainError
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        token = platform.provision(tenant_id, name, server)
        placed = platform.registry.tenant(tenant_id) or {}
    except DomainError as error:
        raise click.ClickException(error.message) from None
    finally:
        platform.close()
    where = f" on server {placed['server']}" if placed.get("server") else ""
    click.echo(f"Provisioned {tenant_id}{where}. Its federation_admin token (shown once):")
    click.echo(token)


@tenants.command("list")
def list_tenants() -> None:
    """Each tenant, with the server it lives on."""
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        for tenant in platform.registry.tenants():
            click.echo("\t".join([tenant["id"], tenant.get("server", "-"), tenant["name"]]))
    finally:
        platform.close()


@tenants.command("move")
@click.argument("tenant_id")
@click.option("--to", "target", required=True, help="The server to move it to")
@click.option("--drop-source", is_flag=True, help="Drop the old copy once the tenant serves from the new server")
def move(tenant_id: str, target: str, drop_source: bool) -> None:
    """Copy a tenant to another server while it keeps serving, then switch it there (writes wait
    only for the last events), leaving the old copy, fenced, unless --drop-source."""
    from domain.errors import DomainError
    from tenants import moving
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    bar = click.progressbar(length=1, label=f"Moving {tenant_id} to {target}", show_pos=True)

    def progress(stage: str, done: int, total: int) -> None:
        bar.label = f"{tenant_id} -> {target}: {stage}"
        bar.length = max(total, 1)
        bar.update(done - bar.pos)

    try:
        with bar:
            moved = moving.move_tenant(platform, tenant_id, target, progress)
        if drop_source:
            moving.drop_source(platform, tenant_id, moved.source)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    finally:
        platform.close()
    click.echo(
        f"Moved {tenant_id} from {moved.source} to {moved.target}: {moved.events} events in {moved.seconds:.1f} s,"
        f" writes paused {moved.pause_seconds:.2f} s."
        + (" The old copy is dropped." if drop_source else f" The old copy stays on {moved.source}, fenced.")
    )


@tenants.command("drop-source")
@click.argument("tenant_id")
@click.option("--server", required=True, help="The server holding the old copy")
def drop_source(tenant_id: str, server: str) -> None:
    """Drop a moved tenant's old, fenced copy (never the one it serves from)."""
    from domain.errors import DomainError
    from tenants import moving
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        moving.drop_source(platform, tenant_id, server)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    finally:
        platform.close()
    click.echo(f"Dropped the old copy of {tenant_id} on {server}.")
