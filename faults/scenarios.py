"""The fault scenarios. Each runs against a gunicorn of its own on one store and fills a Result.

What every scenario reports (docs/faults.md says what each proves):

- acknowledged: requests answered with success (2xx), reads and writes;
- lost: acknowledged writes missing from the ledger or the register (an admission's id; every
  row of an import answered 201);
- duplicated: member ids admitted more than once in the ledger;
- 5xx after recovery: answers 500-599 to requests sent once the fault was over (a worker killed:
  at once, the other serves; PostgreSQL: once it accepts connections again), but for a 503 with
  Retry-After sent before the service had recovered;
- seconds to recover: from the fault until a read and a write sent after it both succeeded;
- wrong: answers the scenario's own rule refuses (a figure no state of the register had, a
  partial import, a second 201 for one id...);
- views equal to a rebuild, and the chain verifies, for every tenant the fault touched.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from domain.clock import vietnam_today
from faults.checks import Inspector, chain_verifies, cli
from faults.load import Load, Tenant, admission, indicators_path, members_total_wrong, run_while
from faults.postgres import ThrowawayPostgres
from faults.province import ProvinceFiles
from faults.service import Answer, Service, multipart
from tenants.settings import Settings

WRITERS, READERS, SAME_ID_CLIENTS = 12, 8, 30


@dataclass
class Result:
    scenario: str
    store: str
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    errors_after: int = 0
    recover_s: float | None = None
    wrong: int = 0
    views_equal: bool | None = None
    chain_ok: bool | None = None
    failures: list[str] = field(default_factory=list)  # why it fails
    notes: list[str] = field(default_factory=list)  # what else was seen
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return (
            not self.failures
            and self.lost == 0
            and self.duplicated == 0
            and self.errors_after == 0
            and self.wrong == 0
            and self.views_equal is True
            and self.chain_ok is True
        )

    def fail(self, why: str) -> None:
        self.failures.append(why)

    def note(self, what: str) -> None:
        self.notes.append(what)


@dataclass
class Context:
    """One store's run: its settings, its throwaway server (PostgreSQL), the files, the options."""

    store: str
    settings: Settings
    pg: ThrowawayPostgres | None
    files: ProvinceFiles
    folder: Path
    log: Callable[[str], None]
    seconds: float = 3.0
    kill_at: tuple[float, ...] = (0.3, 0.6, 0.9)
    tenants: int = 0

    def service(self, scenario: str) -> Service:
        return Service(self.settings, self.folder / f"{self.store}-{scenario}.log")

    def tenant(self, service: Service, scenario: str) -> Tenant:
        self.tenants += 1
        tenant_id = f"{scenario}-{self.tenants}"[-40:].strip("-")
        body = {"id": tenant_id, "name": f"Fault suite {tenant_id}"}
        answer = service.call("POST", "/v1/tenants", self.settings.admin_token, body)
        # Setting a scenario up, not its fault: a 503 ("try again shortly", as a server just freed
        # by the scenario before is still slow to answer) is asked again, as a client would.
        deadline = time.monotonic() + 30
        while answer.status == 503 and time.monotonic() < deadline:
            time.sleep(1)
            answer = service.call("POST", "/v1/tenants", self.settings.admin_token, body)
        expect(answer, 201)
        return Tenant(tenant_id, answer.body["token"])

    def structure(self, service: Service, tenant: Tenant) -> None:
        """The province's units (one POST each), workplaces and unions (one import)."""
        client = service.client(tenant.token)
        for unit in self.files.units:
            expect(client.call("POST", tenant.path("/units"), unit), 201)
        client.close()
        body, content_type = multipart([("workplaces.csv", self.files.workplaces), ("unions.csv", self.files.unions)])
        expect(service.call("POST", tenant.path("/imports"), tenant.token, data=body, content_type=content_type), 201)

    def import_members(self, service: Service, tenant: Tenant, client=None) -> Answer:
        body, content_type = multipart([("members.csv", self.files.members)])
        client = client or service.client(tenant.token)
        try:
            return client.call("POST", tenant.path("/imports"), data=body, content_type=content_type)
        finally:
            client.close()

    def loaded(self, service: Service, scenario: str) -> Tenant:
        """A tenant holding the whole province, members imported."""
        tenant = self.tenant(service, scenario)
        self.structure(service, tenant)
        expect(self.import_members(service, tenant), 201)
        return tenant

    def figure_paths(self, tenant: Tenant) -> list[str]:
        """This year's figures (stocks today) and 2020's (stocks and flows of a past year)."""
        return [indicators_path(tenant, str(vietnam_today().year)), indicators_path(tenant, "2020")]

    def figures(self, service: Service, tenant: Tenant, paths: list[str]) -> dict[str, dict]:
        client = service.client(tenant.token)
        try:
            return {path: expect(client.call("GET", path), 200).body["figures"] for path in paths}
        finally:
            client.close()

    def check(self, service: Service, tenant: Tenant, result: Result) -> None:
        """Views equal to a rebuild (tables, and the figures the service answers), chain verifies."""
        paths = self.figure_paths(tenant)
        client = service.client(tenant.token)
        before = [client.call("GET", path) for path in paths]
        with Inspector(self.settings) as inspector:
            equal, why = inspector.views_equal_rebuild(tenant.id)
        after = [client.call("GET", path) for path in paths]
        client.close()
        unanswered = [a for a in before + after if a.status != 200]
        if unanswered:
            equal = False
            result.errors_after += sum(a.status >= 500 for a in unanswered)
            why = (
                (why + "; " if why else "")
                + f"figures around the rebuild: {_statuses(unanswered)}"
                + _example(unanswered)
            )
        elif [a.body for a in before] != [a.body for a in after]:
            equal = False
            why = (
                (why + "; " if why else "")
                + "figures changed by a rebuild: "
                + _differences({a.path: a.body["figures"] for a in before}, {a.path: a.body["figures"] for a in after})
            )
        if not equal:
            result.fail(f"{tenant.id}: {why}")
        result.views_equal = equal if result.views_equal in (None, True) else False
        ok, why = chain_verifies(service.env, tenant.id)
        if not ok:
            result.fail(f"{tenant.id}: {why}")
        result.chain_ok = ok if result.chain_ok in (None, True) else False

    def present(
        self, service: Service, tenant: Tenant, acknowledged: list[str], result: Result, look_up: bool = True
    ) -> Counter:
        """Lost: acknowledged admissions missing from the ledger or (``look_up``) not answered by
        GET /members/{id}; duplicated: members admitted more than once. Returns the ledger's
        admissions by member id."""
        with Inspector(self.settings) as inspector:
            admitted = inspector.admissions(tenant.id)
        missing = {m for m in acknowledged if m not in admitted}
        if look_up:
            unanswered = self.look_up(service, tenant, acknowledged)
            not_found = [a for a in unanswered if a.status == 404]
            missing |= {a.path.rsplit("/", 1)[-1] for a in not_found}
            result.errors_after += sum(a.status >= 500 for a in unanswered)
            if unanswered:
                result.fail(
                    f"{len(unanswered)} acknowledged member(s) not answered 200 by GET /members/{{id}}:"
                    f" {_statuses(unanswered)}{_example(unanswered)}"
                )
        twice = {m: n for m, n in admitted.items() if n > 1}
        result.lost += len(missing)
        result.duplicated += len(twice)
        not_in_ledger = [m for m in acknowledged if m not in admitted]
        if not_in_ledger:
            result.fail(
                f"{len(not_in_ledger)} acknowledged admission(s) missing from the ledger, e.g. {not_in_ledger[:3]}"
            )
        if twice:
            result.fail(f"{len(twice)} member(s) admitted more than once, e.g. {list(twice.items())[:3]}")
        return admitted

    @staticmethod
    def look_up(service: Service, tenant: Tenant, member_ids: list[str]) -> list[Answer]:
        """GET /members/{id} of each (8 clients): the answers that are not 200."""
        unanswered: list[Answer] = []

        def look(ids: list[str]) -> None:
            client = service.client(tenant.token)
            for member_id in ids:
                answer = client.call("GET", tenant.path(f"/members/{member_id}"))
                if answer.status != 200:
                    unanswered.append(answer)
            client.close()

        threads = [threading.Thread(target=look, args=(member_ids[i::8],)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return unanswered


class HarnessError(Exception):
    """The suite could not set a scenario up: an answer it needs was not given."""


def expect(answer: Answer, status: int) -> Answer:
    if answer.status != status:
        raise HarnessError(f"expected {status}: {answer.shown()}")
    return answer


def _differences(before: dict[str, dict], after: dict[str, dict]) -> str:
    shown = []
    for path, figures in before.items():
        for code, value in figures.items():
            if after.get(path, {}).get(code) != value:
                shown.append(f"{code} {value} -> {after.get(path, {}).get(code)} ({path.rsplit('=', 1)[-1]})")
    return ", ".join(shown[:4])


def _statuses(answers: list[Answer]) -> str:
    counts = Counter(a.status if a.status else "no answer" for a in answers)
    return ", ".join(f"{n} x {s}" for s, n in sorted(counts.items(), key=lambda kv: str(kv[0])))


def last_line(text: str) -> str:
    """A command's last words (an exception's type and message), for one line of the table."""
    lines = text.strip().splitlines()
    return lines[-1][-300:] if lines else ""


def _example(answers: list[Answer]) -> str:
    return f" (e.g. {answers[0].shown()})" if answers else ""


# ---- after a fault ---------------------------------------------------------------------------
def recovered_at(reads: list[Answer], writes: list[Answer] | None, back: float) -> float | None:
    """When a read and a write (None: no writes) sent once the fault was over had both succeeded."""
    read = min((a.ended for a in reads if a.started >= back and a.ok), default=None)
    write = min((a.ended for a in writes if a.started >= back and a.ok), default=None) if writes is not None else read
    return None if read is None or write is None else max(read, write)


def errors_after(answers: list[Answer], back: float, recovered: float | None) -> list[Answer]:
    """5xx answers to requests sent once the fault was over; a 503 with Retry-After is an
    answer the client can act on, while the service is still recovering."""
    return [
        a
        for a in answers
        if a.started >= back
        and a.status >= 500
        and not (a.status == 503 and a.retry_after and (recovered is None or a.started < recovered))
    ]


def judge_recovery(
    result: Result, reads: list[Answer], writes: list[Answer] | None, fault: float, back: float, phase: str = ""
) -> float | None:
    """Seconds to recover and 5xx after recovery (see ``errors_after``); what was answered
    during the fault itself is noted."""
    recovered = recovered_at(reads, writes, back)
    prefix = f"{phase}: " if phase else ""
    if recovered is None:
        result.fail(
            f"{prefix}the service never answered a read{' and a write' if writes is not None else ''} after the fault"
        )
    else:
        result.recover_s = max(result.recover_s or 0.0, recovered - fault)
    answers = reads + (writes or [])
    errors = errors_after(answers, back, recovered)
    result.errors_after += len(errors)
    if errors:
        result.fail(
            f"{prefix}{len(errors)} of {sum(a.started >= back for a in answers)} answers 5xx after the"
            f" fault was over: {_statuses(errors)}{_example(errors)}"
        )
    during = [a for a in answers if a.started < back and a.ended >= fault]
    if during:
        result.note(f"{prefix}during the fault: {_statuses(during)}")
    return recovered


def judge_load(ctx: Context, result: Result, load: Load, fault: float, back: float, base: int, phase: str = "") -> None:
    """What ``load`` met around a fault: its answers logged, the recovery judged (judge_recovery),
    members_total checked against the admissions (judge_members_total), the successes counted."""
    writes = [a for _, a in load.writes]
    ctx.log(f"{len(writes)} admissions sent ({_statuses(writes)}), {len(load.reads)} reads ({_statuses(load.reads)})")
    judge_recovery(result, load.reads, writes if load.writers else None, fault, back, phase)
    judge_members_total(result, load.reads, load.writes, base, phase)
    result.acknowledged += sum(a.ok for a in load.reads + writes)


def wait_recovered(load: Load, back: float, timeout: float = 60) -> None:
    deadline = back + timeout
    while time.monotonic() < deadline:
        writes = [a for _, a in list(load.writes)] if load.writers else None
        if recovered_at(list(load.reads), writes, back) is not None:
            return
        time.sleep(0.1)


def burst(service: Service, tenant: Tenant, unions: list[str], tag: str, n: int = 10) -> tuple[list[Answer], list[str]]:
    """After the load: ``n`` reads and ``n`` admissions, one by one; returns the answers and the
    ids acknowledged."""
    client = service.client(tenant.token)
    answers, acked = [], []
    for i in range(n):
        answers.append(client.call("GET", indicators_path(tenant, str(vietnam_today().year))))
        member_id = f"{tag}-{i}"
        answer = client.call("POST", tenant.path("/members"), admission(member_id, unions[i % len(unions)]))
        answers.append(answer)
        if answer.status == 201:
            acked.append(member_id)
        answers.append(client.call("GET", tenant.path(f"/members/{member_id}")))
    client.close()
    return answers, acked


def after_load(ctx: Context, service: Service, tenant: Tenant, acked: list[str], result: Result) -> None:
    """Once the load has stopped: views and chain as the fault and the load left them; then a
    burst of reads and writes (no 5xx), and every acknowledged admission in the ledger once and
    in the register."""
    ctx.check(service, tenant, result)
    answers, burst_acked = burst(service, tenant, ctx.files.open_unions, "after")
    errors = [a for a in answers if a.status >= 500]
    if errors:
        result.errors_after += len(errors)
        result.fail(f"{len(errors)} of {len(answers)} requests after the load answered 5xx{_example(errors)}")
    result.acknowledged += sum(a.ok for a in answers)
    ctx.present(service, tenant, acked + burst_acked, result)


# ---- 1. an import with readers ---------------------------------------------------------------
def import_readers(ctx: Context, result: Result) -> None:
    """8 readers poll the figures every 0.1 s while the members' file is imported by HTTP:
    every answer is 200 and the figures before the import or after it, never in between."""
    n = ctx.files.n_members
    with ctx.service("import-readers") as service:
        tenant = ctx.tenant(service, "import-readers")
        ctx.structure(service, tenant)
        paths = ctx.figure_paths(tenant)
        before = ctx.figures(service, tenant, paths)
        load = Load(service.port, tenant, ctx.files.open_unions, paths, readers=READERS)
        ctx.log(f"importing {n:,} members by HTTP while {READERS} readers poll the figures")
        answer = run_while(load, lambda: ctx.import_members(service, tenant))
        ctx.log(f"import answered {answer.status} in {answer.ended - answer.started:.1f} s; {len(load.reads)} reads")
        after = ctx.figures(service, tenant, paths)
        imported = answer.status == 201 and answer.body["created"]["members"] == n
        if not imported:
            result.fail(f"the import: {answer.shown()}")
            result.errors_after += answer.status >= 500
        total = after[paths[0]]["members_total"]
        if total not in ((n,) if imported else (0, n)):
            result.wrong += 1
            result.fail(f"after the import members_total is {total}, not {n if imported else f'0 or {n}'}")
        judge_reads(
            result,
            load.reads,
            lambda a: a.body["figures"] in (before[a.path], after[a.path]),
            "neither the figures before the import nor after it",
            lambda a: f"members_total {a.body['figures']['members_total']}",
        )
        result.acknowledged += imported
        ctx.present(service, tenant, ctx.files.member_ids if imported else [], result, look_up=False)
        result.note(f"import {answer.ended - answer.started:.1f} s, {len(load.reads)} reads meanwhile")
        ctx.check(service, tenant, result)


def judge_reads(
    result: Result,
    reads: list[Answer],
    right: Callable[[Answer], bool],
    wrong_means: str,
    shown: Callable[[Answer], str],
) -> None:
    """Every read 200 and right; the others counted as wrong (5xx as 5xx too)."""
    failed = [a for a in reads if a.status != 200]
    wrong = [a for a in reads if a.status == 200 and not right(a)]
    result.acknowledged += sum(a.status == 200 for a in reads)
    result.wrong += len(failed) + len(wrong)
    errors = [a for a in reads if a.status >= 500]
    result.errors_after += len(errors)
    if failed:
        result.fail(f"{len(failed)} of {len(reads)} reads not answered 200: {_statuses(failed)}{_example(failed)}")
    if wrong:
        values = Counter(shown(a) for a in wrong)
        result.fail(
            f"{len(wrong)} of {len(reads)} reads were {wrong_means}: "
            + ", ".join(f"{v} ({k}x)" for v, k in values.most_common(4))
        )


# ---- 2. kill -9 of a worker mid-command --------------------------------------------------------
def kill_command(ctx: Context, result: Result) -> None:
    """12 writers admit members with ids of their own, readers poll; a worker is killed."""
    with ctx.service("kill-command") as service:
        tenant = ctx.tenant(service, "kill-command")
        ctx.structure(service, tenant)
        load = Load(
            service.port,
            tenant,
            ctx.files.open_unions,
            ctx.figure_paths(tenant)[:1],
            writers=WRITERS,
            readers=READERS,
            prefix="k",
        ).start()
        try:
            time.sleep(ctx.seconds)
            victim = service.workers()[0]
            ctx.log(f"{len(load.writes)} admissions sent; kill -9 worker {victim}")
            fault = time.monotonic()
            service.kill(victim)
            waited = service.wait_for_workers()
            result.note(f"worker back in {waited:.1f} s")
            wait_recovered(load, fault)
            time.sleep(ctx.seconds)
        finally:
            load.stop()
        judge_load(ctx, result, load, fault, fault, 0)
        after_load(ctx, service, tenant, load.acknowledged(), result)


def judge_members_total(
    result: Result, reads: list[Answer], writes: list[tuple[str, Answer]], base: int, phase: str = ""
) -> None:
    wrong = members_total_wrong(reads, writes, base)
    result.wrong += len(wrong)
    if wrong:
        values = Counter(a.body["figures"]["members_total"] for a in wrong)
        result.fail(
            f"{phase + ': ' if phase else ''}{len(wrong)} of {len(reads)} reads gave a members_total no"
            " state of the register had"
            f" (at least {base} plus every admission acknowledged before): "
            + ", ".join(f"{v} ({k}x)" for v, k in values.most_common(4))
        )


# ---- 3. kill -9 mid-import ---------------------------------------------------------------------
class HttpImport:
    """The members' file POSTed to /imports in a thread, on a connection whose worker can be found."""

    how = "HTTP"

    def __init__(self, ctx: Context, service: Service, tenant: Tenant):
        self.service = service
        self.client = service.client(tenant.token)
        self.client_port = self.client.connect()
        self.answers: list[Answer] = []
        self.thread = threading.Thread(
            target=lambda: self.answers.append(ctx.import_members(service, tenant, self.client)), daemon=True
        )
        self.thread.start()

    def running(self) -> bool:
        return self.thread.is_alive()

    def kill(self) -> str | None:
        """kill -9 the worker serving the import; what the killed request was answered (nothing,
        normally). None if the import was answered first."""
        victim = self.service.worker_holding(self.client_port)
        if victim is None:
            self.thread.join(timeout=5)
            if not self.thread.is_alive():
                return None  # answered meanwhile: the connection is closed
            raise HarnessError("no worker holds the import's connection")
        self.service.kill(victim)
        self.thread.join()
        return f"worker {victim}" + (f", answered {self.answers[0].shown()}" if self.answers[0].status else "")

    @staticmethod
    def whole(ctx: Context, service: Service, tenant: Tenant) -> Answer:
        return ctx.import_members(service, tenant)


class CliImport:
    """``unionledger import --tenant T members.csv`` in a process of its own."""

    how = "command line"

    def __init__(self, ctx: Context, service: Service, tenant: Tenant):
        with open(ctx.folder / f"{ctx.store}-import-{tenant.id}.log", "ab") as log:
            self.process = subprocess.Popen(
                cli("import", "--tenant", tenant.id, str(ctx.files.members_file)),
                env=service.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ctx.folder,
            )

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> str:
        self.process.kill()
        self.process.wait()
        return f"unionledger import ({self.process.pid})"

    @staticmethod
    def whole(ctx: Context, service: Service, tenant: Tenant) -> subprocess.CompletedProcess:
        return subprocess.run(
            cli("import", "--tenant", tenant.id, str(ctx.files.members_file)),
            env=service.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            cwd=ctx.folder,
        )


def succeeded(outcome: Answer | subprocess.CompletedProcess) -> tuple[bool, str]:
    if isinstance(outcome, Answer):
        return outcome.status == 201, outcome.shown()
    return outcome.returncode == 0, f"exit {outcome.returncode}: {last_line(outcome.stderr)}"


def wait_midway(
    inspector: Inspector,
    tenant: Tenant,
    n: int,
    before: int,
    started: float,
    deadline: float,
    running: Callable[[], bool],
) -> tuple[str, int]:
    """Until more of the file than ``before`` rows is visible in the ledger, or ``deadline``
    seconds have passed, or the import has finished: why it stopped waiting and the rows then."""
    while True:
        count = inspector.admitted_count(tenant.id)
        if before < count < n:
            return "rows visible", count
        if not running() or count >= n:
            return "finished", count
        if time.monotonic() - started >= deadline:
            return "by the clock", count
        time.sleep(0.02)


def all_or_none(
    ctx: Context, service: Service, tenant: Tenant, inspector: Inspector, result: Result, moment: str
) -> int:
    """After a kill: the ledger and the figures hold every row of the file or none; returns the rows."""
    n = ctx.files.n_members
    in_ledger = inspector.admitted_count(tenant.id)
    answer = service.call("GET", indicators_path(tenant, str(vietnam_today().year)), tenant.token)
    served = answer.body["figures"]["members_total"] if answer.status == 200 else None
    result.note(f"{moment}: {in_ledger:,} of {n:,} rows in the ledger, members_total {served}")
    if in_ledger not in (0, n):
        result.wrong += 1
        result.fail(f"{moment}: {in_ledger:,} of {n:,} rows in the ledger (all or none)")
    if answer.status != 200:
        result.wrong += 1
        result.errors_after += answer.status >= 500
        result.fail(f"{moment}: the figures: {answer.shown()}")
    elif served != in_ledger:
        result.wrong += 1
        result.fail(f"{moment}: members_total {served} with {in_ledger:,} rows in the ledger")
    return in_ledger


def probe(
    service: Service, read: tuple[Tenant, str], write: Tenant, unions: list[str], tag: str, timeout: float = 60
) -> tuple[list[Answer], list[Answer], list[str]]:
    """After a fault: reads and admissions, each again until 5 have succeeded; returns reads,
    writes and the ids acknowledged."""
    reader, path = read
    reads, writes, acked = [], [], []
    deadline = time.monotonic() + timeout
    while (sum(a.ok for a in reads) < 5 or len(acked) < 5) and time.monotonic() < deadline:
        reads.append(service.call("GET", path, reader.token))
        member_id = f"{tag}-{len(writes)}"
        writes.append(
            service.call(
                "POST", write.path("/members"), write.token, admission(member_id, unions[len(writes) % len(unions)])
            )
        )
        if writes[-1].status == 201:
            acked.append(member_id)
        if not (reads[-1].ok and writes[-1].ok):
            time.sleep(0.05)
    return reads, writes, acked


def kill_import(kind: type) -> Callable[[Context, Result], None]:
    def scenario(ctx: Context, result: Result) -> None:
        """A whole import is timed on one tenant (which then takes the probes' admissions); on
        another, imports of the same file are killed (kill -9) at each share of that time in
        ``--kill-at``, or as soon as rows show in the ledger: after each kill the tenant holds
        every row or none and the service answers; the import done once more completes it."""
        n = ctx.files.n_members
        name = f"kill-import-{'http' if kind is HttpImport else 'cli'}"
        with ctx.service(name) as service:
            spare = ctx.tenant(service, name)
            ctx.structure(service, spare)
            began = time.monotonic()
            done, shown = succeeded(kind.whole(ctx, service, spare))
            whole = time.monotonic() - began
            if not done:
                raise HarnessError(f"a whole import failed: {shown}")
            result.note(f"a whole {kind.how} import {whole:.1f} s")
            tenant = ctx.tenant(service, name)
            ctx.structure(service, tenant)
            acked: list[str] = []
            kills = 0
            with Inspector(ctx.settings) as inspector:
                inspector.admitted_count(tenant.id)  # opened now, not while an import holds the tenant's lock
                for share in ctx.kill_at:
                    before = inspector.admitted_count(tenant.id)
                    running = kind(ctx, service, tenant)
                    began = time.monotonic()
                    why, visible = wait_midway(inspector, tenant, n, before, began, share * whole, running.running)
                    if why == "finished":
                        result.note(f"the import at {share:.0%} had finished before the kill")
                        break
                    at = time.monotonic() - began
                    fault = time.monotonic()
                    victim = running.kill()
                    if victim is None:
                        result.note(f"the import at {share:.0%} had finished before the kill")
                        break
                    kills += 1
                    moment = f"kill {kills} at {at:.1f} s ({why}, {visible:,} rows)"
                    ctx.log(f"{moment}: {victim}")
                    reads, writes, probed = probe(
                        service,
                        (tenant, indicators_path(tenant, "2020")),
                        spare,
                        ctx.files.open_unions,
                        f"probe-{kills}",
                    )
                    acked += probed
                    service.wait_for_workers()
                    judge_recovery(result, reads, writes, fault, fault)
                    result.acknowledged += sum(a.ok for a in reads + writes)
                    if all_or_none(ctx, service, tenant, inspector, result, moment) == n:
                        break
            if not kills:
                raise HarnessError("no kill landed before the import finished (use more --members)")
            outcome = kind.whole(ctx, service, tenant)
            done, shown = succeeded(outcome)
            if isinstance(outcome, Answer) and outcome.status >= 500:
                result.errors_after += 1
            if done:
                result.acknowledged += 1
                admitted = ctx.present(service, tenant, ctx.files.member_ids, result, look_up=False)
                if len(admitted) != n:
                    result.fail(f"after the repeated import {len(admitted):,} members in the ledger, not {n:,}")
            else:
                result.fail(f"the repeated import: {shown}")
            ctx.present(service, spare, acked, result)
            ctx.check(service, tenant, result)

    return scenario


# ---- 4. PostgreSQL restarts --------------------------------------------------------------------
def pg_restart(mode: str) -> Callable[[Context, Result], None]:
    def scenario(ctx: Context, result: Result) -> None:
        """On a loaded tenant, PostgreSQL restarts (``pg_ctl restart -m mode``) twice: under 12
        writers and 8 readers, then under the 8 readers alone (after a crash nothing but the
        reads then finds the views emptied)."""
        name = f"pg-{'crash' if mode == 'immediate' else 'restart'}"
        base = ctx.files.n_members
        with ctx.service(name) as service:
            tenant = ctx.loaded(service, name)
            paths = ctx.figure_paths(tenant)[:1]
            load = Load(
                service.port, tenant, ctx.files.open_unions, paths, writers=WRITERS, readers=READERS, prefix=mode[0]
            )
            fault, back = restart_under(ctx, load, mode, f"{WRITERS} writers and {READERS} readers", result)
            judge_load(ctx, result, load, fault, back, base, "under writers")
            readers = Load(service.port, tenant, ctx.files.open_unions, paths, readers=READERS)
            fault, back = restart_under(ctx, readers, mode, f"{READERS} readers alone", result)
            ctx.log(f"{len(readers.reads)} reads ({_statuses(readers.reads)})")
            judge_recovery(result, readers.reads, None, fault, back, "readers alone")
            judge_members_total(result, readers.reads, load.writes, base, "readers alone")
            result.acknowledged += sum(a.ok for a in readers.reads)
            after_load(ctx, service, tenant, load.acknowledged(), result)

    return scenario


def restart_under(ctx: Context, load: Load, mode: str, what: str, result: Result) -> tuple[float, float]:
    """PostgreSQL restarted (``pg_ctl restart -m mode``) under ``load`` (under_load)."""

    def restart() -> str:
        started = time.monotonic()
        ctx.pg.restart(mode)
        return f"{what}: server back in {time.monotonic() - started:.1f} s"

    return under_load(ctx, load, result, f"pg_ctl restart -m {mode} under {what}", restart)


def under_load(ctx: Context, load: Load, result: Result, what: str, fault: Callable[[], str]) -> tuple[float, float]:
    """``load`` runs ``--seconds``, ``fault`` happens (logged as ``what``; it returns what to note),
    and ``load`` runs until the service has recovered and ``--seconds`` more; returns when the
    fault began and when it was over."""
    load.start()
    try:
        time.sleep(ctx.seconds)
        ctx.log(what)
        began = time.monotonic()
        result.note(fault())
        back = time.monotonic()
        wait_recovered(load, back)
        time.sleep(ctx.seconds)
    finally:
        load.stop()
    return began, back


# ---- 5. a rebuild with readers -------------------------------------------------------------------
def rebuild_readers(ctx: Context, result: Result) -> None:
    """``unionledger rebuild`` while 8 readers poll: it exits 0, every read is 200 and unchanged."""
    with ctx.service("rebuild-readers") as service:
        tenant = ctx.loaded(service, "rebuild-readers")
        paths = ctx.figure_paths(tenant)
        before = ctx.figures(service, tenant, paths)
        load = Load(service.port, tenant, ctx.files.open_unions, paths, readers=READERS)
        ctx.log(f"unionledger rebuild while {READERS} readers poll the figures")
        done = run_while(
            load,
            lambda: subprocess.run(
                cli("rebuild", "--tenant", tenant.id),
                env=service.env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            ),
        )
        ctx.log(f"rebuild exited {done.returncode}; {len(load.reads)} reads")
        if done.returncode:
            result.fail(f"unionledger rebuild exited {done.returncode}: {last_line(done.stderr)}")
        judge_reads(
            result,
            load.reads,
            lambda a: a.body["figures"] == before[a.path],
            "not the figures before the rebuild",
            lambda a: f"members_total {a.body['figures']['members_total']}",
        )
        ctx.check(service, tenant, result)


# ---- 6. one id, 30 admissions at once -------------------------------------------------------------
def same_id(ctx: Context, result: Result, rounds: int = 3) -> None:
    """30 clients POST the same admission at the same moment: one 201, 29 409, one event."""
    with ctx.service("same-id") as service:
        tenant = ctx.tenant(service, "same-id")
        ctx.structure(service, tenant)
        acked = []
        for r in range(rounds):
            member_id = f"same-{r}"
            body = admission(member_id, ctx.files.open_unions[r])
            clients = [service.client(tenant.token) for _ in range(SAME_ID_CLIENTS)]
            for client in clients:
                client.connect()
            start = threading.Barrier(SAME_ID_CLIENTS)
            answers: list[Answer] = []

            def admit(client, start: threading.Barrier, answers: list[Answer], body: dict) -> None:
                start.wait()
                answers.append(client.call("POST", tenant.path("/members"), body))
                client.close()

            threads = [threading.Thread(target=admit, args=(c, start, answers, body)) for c in clients]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            statuses = Counter(a.status for a in answers)
            ctx.log(f"round {r + 1}: {_statuses(answers)}")
            if statuses[201] == 1:
                acked.append(member_id)
            result.acknowledged += statuses[201]
            wrong = abs(statuses[201] - 1) + sum(n for s, n in statuses.items() if s not in (201, 409))
            result.errors_after += sum(n for s, n in statuses.items() if s >= 500)
            if wrong:
                result.wrong += wrong
                result.fail(
                    f"{member_id}: {_statuses(answers)} (one 201 and {SAME_ID_CLIENTS - 1} 409 expected)"
                    + _example([a for a in answers if a.status not in (201, 409)])
                )
        admitted = ctx.present(service, tenant, acked, result)
        for r in range(rounds):
            if admitted.get(f"same-{r}", 0) != 1:
                result.wrong += 1
                result.fail(f"same-{r}: {admitted.get(f'same-{r}', 0)} MemberAdmitted events in the ledger")
        ctx.check(service, tenant, result)


# name -> (function, stores it applies to)
SCENARIOS: dict[str, tuple[Callable[[Context, Result], None], tuple[str, ...]]] = {
    "import-readers": (import_readers, ("postgres", "sqlite")),
    "kill-command": (kill_command, ("postgres", "sqlite")),
    "kill-import-http": (kill_import(HttpImport), ("postgres", "sqlite")),
    "kill-import-cli": (kill_import(CliImport), ("postgres", "sqlite")),
    "pg-restart": (pg_restart("fast"), ("postgres",)),
    "pg-crash": (pg_restart("immediate"), ("postgres",)),
    "rebuild-readers": (rebuild_readers, ("postgres", "sqlite")),
    "same-id": (same_id, ("postgres", "sqlite")),
}
