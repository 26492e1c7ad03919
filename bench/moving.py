"""The online move's speed (``--only move``): a province imported on the bench's server, then
moved with ``tenants.moving.move_tenant`` to a second server while a client keeps admitting
members over the service (in this process, through the app), as an operator would move it.

- ``move_import_seconds``: the province's own import (units, workplaces, unions, members:
  ``load_province``) on the source;
- ``move_seconds``: the whole move (copy at a snapshot, catch-up, switch); ``move_ratio`` is
  ``move_seconds / move_import_seconds`` (bar: at most 2 at 1,000,000 members);
- ``move_pause_s``: how long the tenant's writes waited at the switch (bar: at most 5 s);
  ``move_client_max_ms`` the slowest admission the client saw during the move, and
  ``move_writes`` how many it had acknowledged meanwhile (every one is then checked in the
  target's ledger).

The second server is ``UNIONLEDGER_BENCH_SECOND_DATABASE_URL``, else a throwaway cluster made for
the run (faults/postgres.py) with ``fsync`` on like an ordinary server's.
"""

from __future__ import annotations

import dataclasses
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql

from application.imports import ADMITTED_TOPIC
from application.register import Register
from demo.generator import generate_province, load_province, member_name
from domain.clock import vietnam_today
from tenants.bootstrap import bootstrap
from tenants.moving import move_tenant
from tenants.settings import Settings, schema_name

KEYS = ("move_import_seconds", "move_seconds", "move_ratio", "move_pause_s", "move_client_max_ms", "move_writes")
BARS = {"move_ratio": ("<=", 2.0), "move_pause_s": ("<=", 5.0)}


@contextmanager
def second_server() -> Iterator[str]:
    url = os.environ.get("UNIONLEDGER_BENCH_SECOND_DATABASE_URL")
    if url:
        yield url
        return
    from faults.postgres import ThrowawayPostgres

    with ThrowawayPostgres() as server:
        with psycopg.connect(server.url, autocommit=True) as conn:  # durable, as the bench's own server is
            conn.execute("ALTER SYSTEM SET fsync = on")
            conn.execute("ALTER SYSTEM SET full_page_writes = on")
            conn.execute("SELECT pg_reload_conf()")
        yield server.url


class Writer(threading.Thread):
    """Admits members one after the other through the app until stopped; keeps each answer's
    status and how long it took."""

    def __init__(self, app: Any, tenant: str, token: str, unions: list[str]):
        super().__init__(daemon=True)
        self.client, self.tenant, self.unions = app.test_client(), tenant, unions
        self.headers = {"Authorization": f"Bearer {token}"}
        self.answers: list[tuple[str, int, float, float]] = []  # id, status, sent, seconds
        self.stop = threading.Event()
        self.rng = random.Random(29)

    def run(self) -> None:
        admitted_on = (vietnam_today() - timedelta(days=1)).isoformat()
        n = 0
        while not self.stop.is_set():
            member_id = f"mv-{n}"
            body = {
                "id": member_id,
                "union_id": self.unions[n % len(self.unions)],
                "admitted_on": admitted_on,
                "full_name": member_name(self.rng, "female"),
                "gender": "female",
            }
            sent = time.perf_counter()
            answer = self.client.post(f"/v1/tenants/{self.tenant}/members", json=body, headers=self.headers)
            self.answers.append((member_id, answer.status_code, sent, time.perf_counter() - sent))
            n += 1

    def acknowledged(self) -> list[str]:
        return [m for m, status, _sent, _s in self.answers if status == 201]


def run(bench: Any) -> None:
    from service.app import create_app

    args = bench.args
    tenant = f"{bench.tenant}-move"
    with second_server() as target_url:
        settings: Settings = dataclasses.replace(
            bench.settings,
            servers=(("main", bench.url), ("second", target_url)),
            control_schema=f"{bench.settings.control_schema}_m",
        )
        bench.control_schemas.append(settings.control_schema)
        bench.log(f"move: generating a province of {args.members:,} members")
        province = generate_province(args.members, args.seed, vietnam_today())
        platform = bootstrap(settings)
        app = None
        try:
            token = platform.provision(tenant, "Bench move", server="main")
            bench.moved_tenants.append(tenant)
            started = time.perf_counter()
            with platform.stores.use(tenant) as store:
                load_province(Register(store), province, actor="bench")
            imported = time.perf_counter() - started
            bench.log(f"move: imported in {imported:.1f} s")
            with psycopg.connect(bench.conninfo, autocommit=True) as conn:
                conn.execute("CHECKPOINT")
            app = create_app(settings)
            writer = Writer(app, tenant, token, [u for u, _founded in province.open_unions()])
            writer.start()
            time.sleep(1)
            shown = {"stage": ""}

            def progress(stage: str, done: int, total: int) -> None:
                if stage != shown["stage"]:
                    shown["stage"] = stage
                    bench.log(f"move: {stage} ({done:,} of {total:,})")

            moving_from = time.perf_counter()
            moved = move_tenant(platform, tenant, "second", progress)
            moved_at = time.perf_counter()
            time.sleep(2)  # the client goes on, now served from the target
            writer.stop.set()
            writer.join(timeout=120)
            during = [s for _m, status, sent, s in writer.answers if moving_from <= sent <= moved_at and status == 201]
            refused = [status for _m, status, _sent, _s in writer.answers if status != 201]
            acknowledged = writer.acknowledged()
            with psycopg.connect(settings.conninfo("second")) as conn:
                found = conn.execute(
                    sql.SQL(
                        "SELECT count(*) FROM {} WHERE topic = %s"
                        " AND convert_from(state, 'UTF8')::jsonb->>'member_id' LIKE 'mv-%%'"
                    ).format(sql.Identifier(schema_name(tenant), "ledger_events")),
                    (ADMITTED_TOPIC,),
                ).fetchone()[0]
            if found < len(acknowledged):
                raise RuntimeError(f"the move lost admissions: {len(acknowledged)} acknowledged, {found} on the target")
            bench.log(
                f"move: {moved.events:,} events in {moved.seconds:.1f} s, writes paused {moved.pause_seconds:.2f} s;"
                f" the client had {len(during)} admissions acknowledged meanwhile (refused: {len(refused)}),"
                f" {len(acknowledged)} in all, every one on the target"
            )
        finally:
            if app is not None:
                app.extensions["unionledger"].close()
            platform.close()
            _drop(target_url, tenant)
    bench.results.update(
        move_import_seconds=round(imported, 1),
        move_seconds=round(moved.seconds, 1),
        move_ratio=moved.seconds / imported,
        move_pause_s=round(moved.pause_seconds, 2),
        move_client_max_ms=round(1000 * max(during, default=0.0), 1),
        move_writes=len(during),
        move_events=moved.events,
    )


def _drop(url: str, tenant: str) -> None:
    """The tenant's copy on the second server (the bench's cleanup drops its schemas on its own)."""
    try:
        with psycopg.connect(Settings(database_url=url).conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name(tenant))))
    except psycopg.Error:
        pass
