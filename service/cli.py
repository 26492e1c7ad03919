"""The ``unionledger`` command: serve, rebuild views, build the demo."""

from __future__ import annotations

import os
import sys

import click


def _actor(_ctx, _param, value: str) -> str:
    """Who is recorded in every event: text the register can hold (a byte of the command line
    that is not UTF-8 arrives as a lone surrogate)."""
    from domain.text import text_fault

    fault = text_fault(value)
    if fault is not None:
        raise click.BadParameter(fault)
    return value


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
@click.option(
    "--tree",
    is_flag=True,
    help="Also make the ledger's Merkle tree again from the events (after `ledger verify` found its rows"
    " changed); a tree that lost rows of its end is made again without it",
)
def rebuild(tenant: str, tree: bool) -> None:
    """Rebuild every view of a tenant from its ledger (readers keep the old views meanwhile)."""
    from projections.runner import ViewsStopped
    from service.cli_ledger import tenant_register

    with (
        tenant_register(tenant) as register,
        click.progressbar(length=register.recorded(), label=f"Rebuilding {tenant}", show_pos=True) as bar,
    ):
        try:
            applied = register.rebuild(progress=bar.update, tree=tree)
        except ViewsStopped as stop:
            raise click.ClickException(f"{stop}; the views are left as they were") from None
    made = " and the Merkle tree" if tree else ""
    click.echo(f"Rebuilt the views{made} of {tenant} from {applied} events.")


@main.command("finish-transfers")
def finish_transfers() -> None:
    """Finish the moves between provinces that a crash or an unreachable database left half done
    (safe to run at any time, e.g. from a timer: each write is made once)."""
    from application.transfers import Transfers
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        finished = Transfers(platform.registry, platform.stores.use).finish_pending()
    finally:
        platform.close()
    click.echo(f"{finished} transfers finished.")


@main.command("import")
@click.option("--tenant", required=True, help="Tenant id")
@click.option(
    "--kind",
    type=click.Choice(
        [
            "workplaces",
            "unions",
            "members",
            "ratings",
            "womens_committees",
            "dues",
            "training",
            "agreements",
            "conferences",
            "cards",
        ]
    ),
    help="What a lone CSV file holds",
)
@click.option("--actor", default="import", show_default=True, callback=_actor, help="Recorded as who did it")
@click.argument("files", metavar="FILE...", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def import_file(tenant: str, kind: str | None, actor: str, files: tuple[str, ...]) -> None:
    """Import CSV or XLSX files of workplaces, unions, members and the plans' records (all rows or none).

    Several files (say workplaces.csv unions.csv members.csv) are one import, checked and
    written together."""
    from contextlib import ExitStack

    from domain.errors import DomainError
    from domain.imports import ENTITY_KINDS
    from service.cli_ledger import tenant_register
    from service.importing import read_imports

    with tenant_register(tenant) as register:
        with ExitStack() as opened:
            streams = [(opened.enter_context(open(file, "rb")), file) for file in files]
            try:
                sheets = read_imports(streams, kind)
            except DomainError as error:
                raise click.ClickException(error.message) from None
        total = sum(len(rows) for rows in sheets.values())
        label = f"Importing {files[0]}" if len(files) == 1 else f"Importing {len(files)} files"
        with click.progressbar(length=total, label=label, show_pos=True) as bar:
            plan = register.import_rows(
                sheets, actor=actor, progress=bar.update, errors_kept=register.store.settings.import_errors
            )
        if plan.errors:
            for e in plan.errors:
                click.echo(f"{e.sheet} line {e.line}, column {e.column}: {e.message} [{e.rule}]", err=True)
            listed = "" if len(plan.errors) == plan.errors_total else f" (the first {len(plan.errors)} are listed)"
            raise click.ClickException(f"{plan.errors_total} row(s) are wrong{listed}; nothing was imported")
        shown = [k for k in plan.creates if k in ENTITY_KINDS or plan.creates[k] or plan.skipped[k]]
        created = ", ".join(f"{len(plan.creates[kind])} {kind}" for kind in shown)
        skipped = ", ".join(f"{plan.skipped[kind]} {kind}" for kind in shown)
        click.echo(f"Imported {created}; skipped (already there) {skipped}.")


@main.command()
def demo() -> None:
    """Build the demo provinces (if missing) and print their tokens."""
    from service.startup import DEMO_TENANT, ensure_demo, ensure_national_demo
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        click.echo(f"Demo tenant '{DEMO_TENANT}' token: {ensure_demo(platform)}")
        national = ensure_national_demo(platform)
        if national is not None:
            click.echo(f"National token: {national}")
    finally:
        platform.close()


@main.command()
@click.option("--members", "n_members", required=True, type=click.IntRange(min=1), help="Members to admit")
@click.option("--seed", default=1, show_default=True, help="Same seed, same province")
@click.option("--tenant", help="Load into this tenant (provisioned if missing); with --xlsx, only its units")
@click.option(
    "--xlsx",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the workplaces, unions and members sheets to this import workbook instead",
)
@click.option("--actor", default="generator", show_default=True, callback=_actor, help="Recorded as who did it")
def generate(n_members: int, seed: int, tenant: str | None, xlsx: str | None, actor: str) -> None:
    """Generate a synthetic province (demo/generator.py).

    With --tenant alone, record all of it in the tenant: units, workplaces, unions, members,
    then transfers, departures, dissolutions and the 2025 reorganisation. With --xlsx, write
    the workplaces/unions/members import workbook; with --tenant as well, establish the
    province's units there first, so that `unionledger import --tenant T FILE` takes the
    workbook (the follow-ups are not part of an import).
    """
    import json

    from application.register import Register
    from demo.generator import generate_province, load_province
    from domain.clock import vietnam_today
    from domain.commands import EstablishUnit
    from tenants.bootstrap import bootstrap

    if not tenant and not xlsx:
        raise click.UsageError("give --tenant, --xlsx or both")
    province = generate_province(n_members, seed, vietnam_today())
    if xlsx:
        _write_workbook(province, xlsx)
        click.echo(
            f"Wrote {xlsx}: {len(province.workplaces)} workplaces, {len(province.unions)} unions, "
            f"{province.n_members} members."
        )
    if not tenant:
        click.echo("Establish these units first (POST /units), then import the workbook:")
        for unit in province.units:
            click.echo(
                "  " + json.dumps({**unit, "established_on": unit["established_on"].isoformat()}, ensure_ascii=False)
            )
        return
    platform = bootstrap()
    try:
        if platform.registry.tenant(tenant) is None:
            token = platform.provision(tenant, f"Synthetic province {tenant}")
            click.echo(f"Provisioned tenant {tenant!r}; its federation_admin token: {token}")
        with platform.stores.use(tenant) as store:
            register = Register(store)
            if xlsx:
                for unit in province.units:
                    if register.reads.unit(unit["id"]) is None:
                        register.execute(EstablishUnit(**unit, actor=actor))
                click.echo(f"Units established; now: unionledger import --tenant {tenant} {xlsx}")
                return
            if register.recorded():
                raise click.ClickException(f"tenant {tenant!r} already holds a register; use a new tenant")
            with click.progressbar(length=province.steps, label=f"Generating {tenant}", show_pos=True) as bar:
                stats = load_province(register, province, actor=actor, progress=bar.update)
        click.echo("Recorded " + ", ".join(f"{n} {what}" for what, n in stats["counts"].items()) + ".")
    finally:
        platform.close()


def _write_workbook(province, path: str) -> None:
    """The import sheets as an XLSX workbook (openpyxl, write-only)."""
    from openpyxl import Workbook

    from domain.imports import COLUMNS

    book = Workbook(write_only=True)
    for kind, rows in province.sheets().items():
        sheet = book.create_sheet(kind)
        columns = list(COLUMNS[kind])
        sheet.append(columns)
        for _, row in rows:
            sheet.append([row.get(column) for column in columns])
    book.save(path)


from service.cli_ledger import audit, card, export, ledger, witness  # noqa: E402 - commands defined in their own module
from service.cli_tenants import tenants  # noqa: E402 - commands defined in their own module

main.add_command(ledger)
main.add_command(export)
main.add_command(audit)
main.add_command(witness)
main.add_command(tenants)
main.add_command(card)
