"""``unionledger ledger verify``, ``unionledger export`` and ``unionledger audit``: the ledger's integrity."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import click


def _digest(_ctx, _param, value: str | None):
    from domain.errors import InvalidValue
    from integrity.chain import Digest

    try:
        return Digest.parse(value) if value else None
    except InvalidValue as error:
        raise click.BadParameter(error.message) from None


DIGEST_HELP = "A digest taken earlier (GET .../ledger/digest): HASH@POSITION"


@contextmanager
def tenant_register(tenant: str) -> Iterator:
    """The tenant's register, for one command of the command line."""
    from application.register import Register
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        if platform.registry.tenant(tenant) is None:
            raise click.ClickException(f"tenant {tenant!r} does not exist")
        with platform.stores.use(tenant) as store:
            yield Register(store)
    finally:
        platform.close()


@click.group()
def ledger() -> None:
    """The ledger's hash chain."""


@ledger.command()
@click.option("--tenant", required=True, help="Tenant id")
@click.option("--digest", callback=_digest, help=DIGEST_HELP)
def verify(tenant: str, digest) -> None:
    """Recompute the chain from the stored events; fail at the first position that no longer matches."""
    from integrity.chain import ChainBroken

    with tenant_register(tenant) as register:
        try:
            with click.progressbar(length=register.recorded(), label=f"Verifying {tenant}", show_pos=True) as bar:
                result = register.verify_chain(digest, progress=bar.update)
        except ChainBroken as error:
            raise click.ClickException(f"the ledger of {tenant} fails verification at {error.message}") from None
    unchained = result.events - result.chained
    click.echo(
        f"The ledger of {tenant} verifies: {result.events} events, chained up to position {result.chained}"
        + (f" ({unchained} recorded since, not chained yet)" if unchained else "")
        + (f"; it extends the digest {digest}" if digest else "")
        + "."
    )


@click.command()
@click.option("--tenant", required=True, help="Tenant id")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="The file to write (gzip JSON lines)",
)
def export(tenant: str, out: str) -> None:
    """Export a tenant's ledger with its chain, for `unionledger audit`."""
    from integrity.chain import ChainBroken

    with tenant_register(tenant) as register:
        try:
            with click.progressbar(length=register.recorded(), label=f"Exporting {tenant}", show_pos=True) as bar:
                upto, chunks = register.export(progress=bar.update)
                partial = out + ".part"  # never leave a truncated file under the real name
                with open(partial, "wb") as stream:
                    for chunk in chunks:
                        stream.write(chunk)
        except ChainBroken as error:
            raise click.ClickException(f"the ledger of {tenant} cannot be chained at {error.message}") from None
        os.replace(partial, out)
        head = register.digest()
    click.echo(f"Exported {upto} events of {tenant} to {out}; digest {head['hash']}@{head['position']}.")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--digest", required=True, callback=_digest, help=DIGEST_HELP)
@click.option("--period", required=True, help="2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028")
@click.option("--unit", "unit_id", default=None, help="A unit id; default the whole tenant")
@click.option(
    "--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Date of the stocks (YYYY-MM-DD)"
)
@click.option("--known-at", "known_at", default=None, help="ISO 8601 instant; UTC when no offset is given")
@click.option("--indicators", default=None, help="Comma-separated codes; default every code")
def audit(
    file: str, digest, period: str, unit_id: str | None, as_of, known_at: str | None, indicators: str | None
) -> None:
    """Check an export's chain against a digest, replay it offline and print its indicators (JSON).

    Needs no database server and no running service: the events are replayed through the
    register's own projections into an in-memory SQLite database.
    """
    from datetime import datetime

    from domain.errors import DomainError
    from integrity.chain import ChainBroken
    from integrity.offline import ExportError
    from integrity.offline import audit as run_audit

    try:
        instant = datetime.fromisoformat(known_at) if known_at else None
    except ValueError:
        raise click.BadParameter("must be an ISO 8601 instant", param_hint="--known-at") from None
    try:
        verified, answer = run_audit(
            file,
            digest,
            period=period,
            unit_id=unit_id,
            as_of=as_of.date() if as_of else None,
            known_at=instant,
            indicators=indicators,
        )
    except ExportError as error:
        raise click.ClickException(str(error)) from None
    except ChainBroken as error:
        raise click.ClickException(f"{file} fails the chain check at {error.message}") from None
    except DomainError as error:
        raise click.ClickException(f"{error.field}: {error.message}" if error.field else error.message) from None
    click.echo(
        f"Chain OK: {verified.events} events, head {verified.head}@{verified.events}; extends the digest {digest}.",
        err=True,
    )
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
