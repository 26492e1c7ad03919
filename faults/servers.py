"""The fault scenarios across servers: a tenant move killed midway, one server of two down, a
synchronous replica promoted under writing clients (PostgreSQL only).

Each adds throwaway servers of its own beside the suite's: a second server named ``second`` (the
suite's is ``main``, which keeps the control store), or a primary and its standby holding a control
store of their own. The service runs as in the other scenarios, told of the servers by
``UNIONLEDGER_DATABASE_URLS``, and each reports what they do: nothing lost, nothing duplicated,
views equal to a rebuild, the chain verified.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from domain.clock import vietnam_today
from faults.checks import Inspector, cli
from faults.load import Load, Tenant
from faults.postgres import ThrowawayPostgres
from faults.replicas import ReplicatedPostgres
from faults.scenarios import (
    READERS,
    WRITERS,
    Context,
    Result,
    _example,
    _statuses,
    after_load,
    expect,
    judge_load,
    judge_members_total,
    judge_recovery,
    last_line,
    recovered_at,
    under_load,
    wait_recovered,
)
from faults.service import Answer, Service
from tenants.settings import Settings, schema_name


class ServersService(Service):
    """The service told of every server of its settings (``UNIONLEDGER_DATABASE_URLS``)."""

    def __init__(self, settings: Settings, log: Path):
        super().__init__(settings, log)
        if settings.servers:
            self.env["UNIONLEDGER_DATABASE_URLS"] = " ".join(f"{name}={url}" for name, url in settings.servers)


def serving(ctx: Context, scenario: str) -> ServersService:
    return ServersService(ctx.settings, ctx.folder / f"{ctx.store}-{scenario}.log")


@contextmanager
def two_servers(ctx: Context, scenario: str) -> Iterator[tuple[Context, ThrowawayPostgres]]:
    """The suite's server as ``main`` (the control store's) and a throwaway ``second`` beside it,
    for a deployment of the scenario's own (a control schema of its own): no tenant of another
    scenario is placed on a ``second`` that is gone."""
    assert ctx.pg is not None
    with ThrowawayPostgres() as second:
        ctx.log(f"postgres: a second throwaway server on port {second.port}")
        settings = dataclasses.replace(
            ctx.settings,
            servers=(("main", ctx.pg.url), ("second", second.url)),
            control_schema=f"{ctx.settings.control_schema}_{scenario.replace('-', '_')}",
            data_dir=ctx.folder / f"{scenario}-data",
        )
        yield dataclasses.replace(ctx, settings=settings), second


def tenant_on(ctx: Context, service: Service, scenario: str, server: str) -> Tenant:
    ctx.tenants += 1
    tenant_id = f"{scenario}-{ctx.tenants}"[-40:].strip("-")
    body = {"id": tenant_id, "name": f"Fault suite {tenant_id}", "server": server}
    answer = expect(service.call("POST", "/v1/tenants", ctx.settings.admin_token, body), 201)
    return Tenant(tenant_id, answer.body["token"])


def placed(settings: Settings, tenant: Tenant) -> str:
    """The server the registry names for the tenant."""
    with Inspector(settings) as inspector:
        return inspector.platform.registry.tenant(tenant.id)["server"]


def refused_badly(answers: list[Answer]) -> list[Answer]:
    """Answers a client cannot act on: no answer, or a 5xx other than a 503 with Retry-After."""
    return [a for a in answers if a.status == 0 or (a.status >= 500 and not (a.status == 503 and a.retry_after))]


# ---- a tenant move killed midway -------------------------------------------------------------------
def _target_reached(server: ThrowawayPostgres, schema: str, stage: str) -> bool:
    """Whether the move has made the tenant's schema on the target (``schema``), or committed
    ledger rows there (``rows``)."""
    try:
        with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres") as conn:
            if stage == "schema":
                return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None
            return conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{schema}".ledger_events)').fetchone()[0]
    except psycopg.Error:
        return False


def move_killed(ctx: Context, result: Result) -> None:
    """A loaded tenant on ``main`` under 4 writers and 4 readers; ``unionledger tenants move T --to
    second`` is killed (kill -9) once as soon as its schema shows on the target (the copy at a
    snapshot under way), once as soon as copied rows show there (catching up); after each the
    registry still names ``main`` and the tenant serves from it. The move run again completes
    while the clients go on; every answer is a success or a 503 with Retry-After."""
    with two_servers(ctx, "move-killed") as (sub, second), serving(sub, "move-killed") as service:
        tenant = tenant_on(sub, service, "move-killed", "main")
        sub.structure(service, tenant)
        expect(sub.import_members(service, tenant), 201)
        base = sub.files.n_members
        paths = sub.figure_paths(tenant)[:1]
        load = Load(service.port, tenant, sub.files.open_unions, paths, writers=4, readers=4, prefix="mk")
        schema, kills = schema_name(tenant.id), 0
        log = open(sub.folder / "move-killed-cli.log", "ab")  # noqa: SIM115 - kept for the runs below
        load.start()
        try:
            time.sleep(ctx.seconds)
            for stage in ("schema", "rows"):
                move = subprocess.Popen(
                    cli("tenants", "move", tenant.id, "--to", "second"), env=service.env, stdout=log, stderr=log
                )
                deadline = time.monotonic() + 300
                while move.poll() is None and not _target_reached(second, schema, stage):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
                if move.poll() is not None:
                    result.note(f"the move had ended (exit {move.returncode}) before the kill at '{stage}'")
                    break
                move.kill()
                move.wait()
                kills += 1
                ctx.log(f"kill -9 of the move once its {stage} showed on the target")
                where = placed(sub.settings, tenant)
                if where != "main":
                    result.wrong += 1
                    result.fail(f"after the kill at '{stage}' the registry names {where}, not main")
                time.sleep(1)
            if not kills:
                raise RuntimeError("no kill landed before the move ended")
            result.note(f"{kills} move(s) killed midway, the tenant on main after each")
            done = subprocess.run(
                cli("tenants", "move", tenant.id, "--to", "second"),
                env=service.env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode:
                result.fail(f"the move run again: exit {done.returncode}: {last_line(done.stderr)}")
            else:
                result.note(last_line(done.stdout))
            where = placed(sub.settings, tenant)
            if where != "second":
                result.fail(f"after the move run again the registry names {where}, not second")
            time.sleep(ctx.seconds)
        finally:
            load.stop()
            log.close()
        writes = [a for _, a in load.writes]
        ctx.log(f"{len(writes)} admissions sent ({_statuses(writes)}), {len(load.reads)} reads")
        bad = refused_badly(load.reads + writes)
        if bad:
            result.errors_after += len(bad)
            result.fail(f"{len(bad)} answers neither a success nor a 503 with Retry-After: {_statuses(bad)}")
        refused = [a for a in load.reads + writes if not a.ok and a not in bad]
        if refused:
            result.note(f"refused while moving: {_statuses(refused)}{_example(refused)}")
        judge_members_total(result, load.reads, load.writes, base, "during the moves")
        result.acknowledged += sum(a.ok for a in load.reads + writes)
        after_load(sub, service, tenant, load.acknowledged(), result)


# ---- one server of two down --------------------------------------------------------------------------
def server_down(ctx: Context, result: Result) -> None:
    """A tenant on ``main`` and one on ``second``, 4 writers and 2 readers on each, 2 readers of
    the national figures. ``second`` is stopped as by a crash (``pg_ctl stop -m immediate``) for
    ``--seconds`` (at least three connection timeouts), then started again. Meanwhile the tenant
    on ``main`` answers every request, the one on ``second`` answers 503 with Retry-After, /readyz
    names ``second``, and the national level answers for the tenant it reaches and names the other
    as unreachable; once ``second`` is back, both serve again and the national level names none."""
    assert ctx.pg is not None
    with two_servers(ctx, "server-down") as (sub, second), serving(sub, "server-down") as service:
        near = tenant_on(sub, service, "server-down", "main")
        far = tenant_on(sub, service, "server-down", "second")
        for tenant in (near, far):
            sub.structure(service, tenant)
        national = expect(
            service.call(
                "POST", "/v1/national/tokens", sub.settings.admin_token, {"holder": "fault-suite", "role": "national"}
            ),
            201,
        ).body["token"]
        year = str(vietnam_today().year)
        loads = {
            t.id: Load(service.port, t, sub.files.open_unions, sub.figure_paths(t)[:1], 4, 2, prefix=prefix)
            for t, prefix in ((near, "near"), (far, "far"))
        }
        nation = Load(service.port, Tenant("-", national), [], [f"/v1/national/indicators?period={year}"], readers=2)
        for load in (*loads.values(), nation):
            load.start()
        try:
            time.sleep(ctx.seconds)
            ctx.log("pg_ctl stop -m immediate of server second")
            fault = time.monotonic()
            second._run("pg_ctl", "-D", str(second.data), "-m", "immediate", "-w", "stop")
            down = time.monotonic()
            # long enough for national reads to be answered within it: each waits for the server
            # that is down as long as a connection is waited for (UNIONLEDGER_DB_TIMEOUT_SECONDS)
            time.sleep(max(ctx.seconds, 3 * sub.settings.db_timeout))
            ready = service.call("GET", "/readyz")
            detail = ready.body.get("detail", "") if isinstance(ready.body, dict) else ""
            if ready.status != 503 or "server second" not in detail:
                result.wrong += 1
                result.fail(f"/readyz with second down: {ready.shown()}")
            up = time.monotonic()
            second.start()
            back = time.monotonic()
            wait_recovered(loads[far.id], back)
            time.sleep(ctx.seconds)
        finally:
            for load in (*loads.values(), nation):
                load.stop()
        near_load, far_load = loads[near.id], loads[far.id]
        near_answers = near_load.reads + [a for _, a in near_load.writes]
        failed = [a for a in near_answers if not a.ok]
        if failed:
            result.wrong += len(failed)
            result.errors_after += sum(a.status >= 500 for a in failed)
            result.fail(
                f"the tenant on main: {len(failed)} answers not a success: {_statuses(failed)}{_example(failed)}"
            )
        if not failed:
            result.note(f"tenant on main: {len(near_answers)} answers, every one a success")
        far_writes = [a for _, a in far_load.writes]
        bad = refused_badly([a for a in far_load.reads + far_writes if a.started < back])
        if bad:
            result.errors_after += len(bad)
            result.fail(f"the tenant on second while it was down: {_statuses(bad)}{_example(bad)}")
        judge_recovery(result, far_load.reads, far_writes, fault, back, "tenant on second")
        recovered = recovered_at(far_load.reads, far_writes, back) or back
        wrong_nation = []
        for answer in nation.reads:
            if answer.status != 200:
                wrong_nation.append(answer)
                continue
            unreachable = [u["tenant_id"] for u in answer.body.get("unreachable", [])]
            if answer.ended < fault or answer.started > recovered + 2:
                expected = []
            elif answer.started > down and answer.ended < up:
                expected = [far.id]
            else:
                continue  # the server going down or coming back while it was read
            if unreachable != expected:
                wrong_nation.append(answer)
        during = [a for a in nation.reads if a.status == 200 and a.started > down and a.ended < up]
        if not during:
            result.fail("no national read was answered while second was down")
        if wrong_nation:
            result.wrong += len(wrong_nation)
            result.fail(
                f"{len(wrong_nation)} of {len(nation.reads)} national reads not answered with the unreachable"
                f" tenant named (and only while it was){_example(wrong_nation)}"
            )
        result.note(f"national reads: {len(nation.reads)}, {len(during)} while second was down naming {far.id}")
        result.acknowledged += sum(a.ok for a in near_answers + far_load.reads + far_writes + nation.reads)
        for tenant in (near, far):
            after_load(sub, service, tenant, loads[tenant.id].acknowledged(), result)


# ---- a replica promoted under writing clients -----------------------------------------------------
def failover(ctx: Context, result: Result) -> None:
    """A control store and a loaded tenant on a primary with a synchronous standby, the service
    pointed at both hosts (``target_session_attrs=read-write``), 12 writers and 8 readers. The
    primary is stopped as by a crash and the standby promoted (``pg_ctl promote``): the service
    serves again from it without a restart, and every admission it acknowledged is there once."""
    with ReplicatedPostgres() as pair:
        ctx.log(f"postgres: a primary on port {pair.primary.port}, its synchronous standby on {pair.standby.port}")
        settings = dataclasses.replace(
            ctx.settings, database_url=pair.url, servers=(), data_dir=ctx.folder / "failover-data"
        )
        sub = dataclasses.replace(ctx, settings=settings)
        with serving(sub, "failover") as service:
            tenant = sub.loaded(service, "failover")
            base = sub.files.n_members
            load = Load(
                service.port, tenant, sub.files.open_unions, sub.figure_paths(tenant)[:1], WRITERS, READERS, prefix="fo"
            )
            fault, back = under_load(
                sub,
                load,
                result,
                f"failover under {WRITERS} writers and {READERS} readers",
                lambda: f"primary stopped and standby promoted in {pair.fail_over():.1f} s",
            )
            judge_load(sub, result, load, fault, back, base, "failover")
            with Inspector(settings) as inspector, inspector.store(tenant.id) as store, store.transaction() as cur:
                port = cur.scalar("SELECT inet_server_port()")
            if port != pair.standby.port:
                result.fail(f"the tenant is read on port {port}, not the promoted standby's {pair.standby.port}")
            after_load(sub, service, tenant, load.acknowledged(), result)


SERVER_SCENARIOS = {
    "move-killed": (move_killed, ("postgres",)),
    "server-down": (server_down, ("postgres",)),
    "failover": (failover, ("postgres",)),
}
