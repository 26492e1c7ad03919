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
