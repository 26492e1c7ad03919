"""A bench province opened in this process: the arguments naming it, its settings, its schemas dropped.

Shared by the scripts that load a province or reopen one a ``--keep`` run left (by its suffix) and
ask its reads in process, so that each opens it the way bench/run.py names it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from bench.run import DEFAULT_URL
from tenants.settings import Settings, schema_name


def parser(doc: str, members: int | None) -> argparse.ArgumentParser:
    """A script's parser, described by its docstring's first line, with ``--members`` (required
    when ``members`` is None: the size of the kept province) and ``--seed``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if members is None:
        parser.add_argument("--members", type=int, required=True)
    else:
        parser.add_argument("--members", type=int, default=members)
    parser.add_argument("--seed", type=int, default=1)
    return parser


def settings(suffix: str, control: str, name: str, max_open_tenants: int, pooler: str | None = None) -> Settings:
    """The platform's settings on ``UNIONLEDGER_BENCH_DATABASE_URL`` (default the local test database),
    its control schema ``{control}_{suffix}``, and data in a fresh temporary directory."""
    return Settings(
        database_url=os.environ.get("UNIONLEDGER_BENCH_DATABASE_URL") or DEFAULT_URL,
        data_dir=Path(tempfile.mkdtemp(prefix=f"unionledger-{name}-")),
        admin_token=secrets.token_urlsafe(24),
        control_schema=f"{control}_{suffix}",
        max_open_tenants=max_open_tenants,
        pooler=pooler,
    )


def drop(settings: Settings, tenant: str) -> None:
    """Drop what a run loaded: the tenant's schema, the national one and the control one."""
    with psycopg.connect(settings.conninfo(), autocommit=True) as conn:
        for schema in (schema_name(tenant), settings.national_schema, settings.control_schema):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
