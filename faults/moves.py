"""Members who move between provinces, cut short at every step of the handoff.

The handoff (application/transfers.py) writes the control store and two tenants' ledgers one
after the other; ``STEPS`` are the moments between two of those writes. For each step, a process
doing the handoff (this module run as ``python -m faults.moves``: the same use case a gunicorn
worker runs, in a process the suite can stop at that exact moment) is killed with ``kill -9``
there, or (PostgreSQL) a server is crashed there (``pg_ctl stop -m immediate``), the sending
province's (which holds the control store) or the receiving one's, each tenant on a server of its
own. Then the next call about the transfer (``GET /transfers/{id}`` through the service) or the
background step (``unionledger finish-transfers``), one or the other in turn, must finish it: the
member active in exactly one province, each ledger's event written once, the repeated call
answered as the first and changing nothing, the figures counting each member once.
"""

from __future__ import annotations

import dataclasses
import select
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date

from application.transfers import OUTCOME, STEPS, UNFINISHED, Transfers
from faults.checks import Inspector, cli
from faults.load import Tenant
from faults.postgres import ThrowawayPostgres
from faults.scenarios import Context, HarnessError, Result, expect, last_line
from faults.service import Answer, Service

ADMITTED_ON, EFFECTIVE_ON, YEAR = "2024-01-15", "2024-07-01", "2024"


@dataclasses.dataclass
class Case:
    step: str
    fault: str  # "kill -9", or "crash <server>"
    member: str  # the member's id in the sending province
    recovery: str  # "next call" or "finish-transfers"
    transfer_id: str = ""

    @property
    def verb(self) -> str:
        """The call the step falls within: proposal, acceptance, refusal or withdrawal."""
        return STEPS[self.step]

    @property
    def arrived(self) -> str:
        return f"in-{self.member}"

    def __str__(self) -> str:
        return f"{self.step}/{self.fault}/{self.recovery}"


class Moves:
    """Two provinces (A sends, B receives) on one gunicorn, and the checks of each case."""

    def __init__(self, ctx: Context, service: Service, servers: dict[str, ThrowawayPostgres], result: Result):
        self.ctx, self.service, self.servers, self.result = ctx, service, servers, result
        two = "second" in servers
        self.a = self.province("a", "ua", {"server": "main"} if two else {})
        self.b = self.province("b", "ub", {"server": "second"} if two else {})
        self.admitted: list[str] = []
        self.states: list[str] = []  # each case's transfer as the fault left it

    def province(self, name: str, union: str, placed: dict) -> Tenant:
        self.ctx.tenants += 1
        tenant_id = f"moves-{name}-{self.ctx.tenants}"
        body = {"id": tenant_id, "name": f"Fault suite {tenant_id}"} | placed
        answer = expect(self.service.call("POST", "/v1/tenants", self.ctx.settings.admin_token, body), 201)
        tenant = Tenant(tenant_id, answer.body["token"])
        for path, body in (
            ("/units", {"id": "D", "name": "D", "kind": "district", "established_on": "2020-01-01"}),
            ("/workplaces", {"id": "w", "name": "W", "sector": "fdi_enterprise", "unit_id": "D", "workers": 500,
                             "female_workers": 300, "as_of": "2020-01-01"}),
            ("/unions", {"id": union, "name": union, "workplace_id": "w", "unit_id": "D", "founded_on": "2020-02-01"}),
        ):  # fmt: skip
            expect(self.call(tenant, "POST", path, body), 201)
        return tenant

    def call(self, tenant: Tenant, method: str, path: str, body: dict | None = None) -> Answer:
        return self.service.call(method, tenant.path(path), tenant.token, body)

    def until_answered(self, tenant: Tenant, method: str, path: str, body: dict | None = None) -> Answer:
        """The call again until the service answers something else than a 503 with Retry-After
        (the server just restarted) or nothing (60 s at most); a 5xx then counts as after recovery."""
        deadline = time.monotonic() + 60
        while True:
            answer = self.call(tenant, method, path, body)
            waiting = answer.status == 0 or (answer.status == 503 and answer.retry_after)
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if answer.status >= 500 or answer.status == 0:
            self.result.errors_after += 1
            self.result.fail(f"after recovery: {answer.shown()}")
        else:
            self.result.acknowledged += answer.ok
        return answer

    # ---- one case --------------------------------------------------------------------------------
    def run(self, case: Case) -> None:
        self.admit(case.member)
        if case.verb != "proposal":
            proposed = expect(
                self.until_answered(self.a, "POST", f"/members/{case.member}/transfer-out", self.proposal(case)), 201
            )
            case.transfer_id = proposed.body["transfer_id"]
            self.result.acknowledged += 1
        case.transfer_id = self.cut_short(case) or case.transfer_id
        left = self.state(case)
        self.states.append(f"{case.step}/{case.fault}: {left}")
        if case.fault == "kill -9" and left not in UNFINISHED:
            self.wrong(
                case, f"killed at {case.step}, the transfer was {left}: the kill did not fall between two writes"
            )
        self.recover(case)
        self.judge(case)

    def admit(self, member: str) -> None:
        body = {"id": member, "union_id": "ua", "admitted_on": ADMITTED_ON, "full_name": "Lê Thị Hoa",
                "gender": "female", "birth_date": "1995-04-02", "id_number": "045195000123"}  # fmt: skip
        expect(self.until_answered(self.a, "POST", "/members", body), 201)
        self.admitted.append(member)

    def proposal(self, case: Case) -> dict:
        return {"to_tenant": self.b.id, "effective_on": EFFECTIVE_ON}

    def cut_short(self, case: Case) -> str:
        """The handoff's call in a process stopped at ``case.step``, then the fault; returns the
        transfer's id as the process saw it."""
        args = {
            "proposal": [self.a.id, case.member, self.b.id, EFFECTIVE_ON],
            "acceptance": [self.b.id, case.transfer_id, "ub", case.arrived],
            "refusal": [self.b.id, case.transfer_id],
            "withdrawal": [self.a.id, case.transfer_id],
        }[case.verb]
        process = subprocess.Popen(
            [sys.executable, "-m", "faults.moves", case.step, case.verb, *args],
            env=self.service.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            ready, _, _ = select.select([process.stdout], [], [], 120)
            line = process.stdout.readline().split() if ready else []
            if line[:2] != ["at", case.step]:
                process.kill()
                _out, err = process.communicate()
                raise HarnessError(f"{case}: the handoff did not stop at its step: {line} {last_line(err)}")
            if case.fault == "kill -9":
                process.kill()
                process.wait()
            else:
                server = self.servers[case.fault.split()[1]]
                server.stop("immediate")
                process.stdin.write("go\n")
                process.stdin.flush()
                try:
                    process.wait(timeout=90)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    self.result.note(f"{case}: the handoff hung with its server down; killed")
                server.start()
            return line[2]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    def recover(self, case: Case) -> None:
        if case.recovery == "finish-transfers":
            deadline = time.monotonic() + 60
            while True:
                done = subprocess.run(
                    cli("finish-transfers"), env=self.service.env, capture_output=True, text=True, timeout=300
                )
                if done.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)  # the server just restarted: the command is run again, as by a timer
            if done.returncode != 0:
                self.result.fail(
                    f"{case}: unionledger finish-transfers exited {done.returncode}: {last_line(done.stderr)}"
                )
            state = self.state(case)
            if state != OUTCOME[case.verb]:
                self.wrong(case, f"unionledger finish-transfers left the transfer {state}")
            return
        # the next call about transfers, in the province the process was not working for
        other = self.a if case.verb in ("acceptance", "refusal") else self.b
        path = f"/transfers/{case.transfer_id}" if other is self.a else "/transfers/incoming"
        self.until_answered(other, "GET", path)

    def state(self, case: Case) -> str | None:
        """The transfer's state in the control store, read from outside the service (finishing nothing)."""
        with Inspector(self.ctx.settings) as inspector:
            return Transfers(inspector.platform.registry, inspector.platform.stores.use).state(case.transfer_id)

    # ---- what must hold after each case ------------------------------------------------------------
    def wrong(self, case: Case, why: str) -> None:
        self.result.wrong += 1
        self.result.fail(f"{case}: {why}")

    def events(self, tenant: Tenant, member: str) -> list[str]:
        answer = self.call(tenant, "GET", f"/members/{member}/history")
        return [e["event"] for e in answer.body["events"]] if answer.status == 200 else []

    def judge(self, case: Case) -> None:
        state = self.until_answered(self.a, "GET", f"/transfers/{case.transfer_id}")
        if state.status != 200:
            self.result.lost += 1
            self.wrong(case, f"the transfer is gone: {state.shown()}")
            return
        if state.body["status"] != OUTCOME[case.verb]:
            self.wrong(case, f"the transfer is {state.body['status']}, not {OUTCOME[case.verb]}, after recovery")
        if case.verb == "proposal":
            # the client had no answer: it proposes again and is told the move is under way
            again = self.call(self.a, "POST", f"/members/{case.member}/transfer-out", self.proposal(case))
            if again.status != 409 or case.transfer_id not in (again.body or {}).get("detail", ""):
                self.wrong(case, f"the repeated proposal: {again.shown()}")
            accepted = self.call(self.b, "POST", f"/transfers/{case.transfer_id}/acceptance", self.acceptance(case))
            if accepted.status != 201:
                self.wrong(case, f"the recovered proposal could not be accepted: {accepted.shown()}")
            self.check_sent(case, accepted=True)
            return
        body = self.acceptance(case) if case.verb == "acceptance" else {"reason": "not employed here"}
        path = f"/transfers/{case.transfer_id}/{case.verb}"
        before = self.events(self.a, case.member), self.events(self.b, case.arrived)
        repeated = self.until_answered(self.a if case.verb == "withdrawal" else self.b, "POST", path, body)
        if repeated.status != 201:
            self.wrong(case, f"the repeated call: {repeated.shown()}")
        if (self.events(self.a, case.member), self.events(self.b, case.arrived)) != before:
            self.wrong(case, "the repeated call wrote again")
        self.check_sent(case, accepted=case.verb == "acceptance")

    def acceptance(self, case: Case) -> dict:
        return {"union_id": "ub", "member_id": case.arrived}

    def check_sent(self, case: Case, accepted: bool) -> None:
        """The member active in exactly one province, each ledger's events once."""
        here = self.call(self.a, "GET", f"/members/{case.member}")
        there = self.call(self.b, "GET", f"/members/{case.arrived}")
        active = [
            name
            for name, answer in (("sending", here), ("receiving", there))
            if answer.status == 200 and answer.body["status"] == "active"
        ]
        if active != (["receiving"] if accepted else ["sending"]):
            self.wrong(case, f"active in {active or 'neither province'}")
        sent = self.events(self.a, case.member)
        last = {"acceptance": "MemberTransferredOut", "refusal": "MemberTransferRefused"}
        expected = ["MemberAdmitted", "MemberTransferProposed", last.get(case.verb, "MemberTransferWithdrawn")]
        if case.verb == "proposal":  # accepted once recovered
            expected[-1] = "MemberTransferredOut"
        if sent != expected:
            self.result.duplicated += len(sent) > len(expected)
            self.wrong(case, f"the sending ledger holds {sent}, not {expected}")
        received = self.events(self.b, case.arrived)
        if received != (["MemberTransferredIn"] if accepted else []):
            self.result.duplicated += len(received) > 1
            self.wrong(case, f"the receiving ledger holds {received}")
        if accepted and there.status == 200 and there.body["admitted_on"] != ADMITTED_ON:
            self.wrong(case, f"admitted_on {there.body['admitted_on']} at the receiver, not {ADMITTED_ON}")

    def judge_figures(self, accepted: int) -> None:
        """Each member counted once between the two provinces; every move once out and once in, as no admission."""
        codes = "members_total,members_admitted,members_transferred_in,members_transferred_out"
        path = f"/indicators?period={YEAR}&as_of={YEAR}-12-31&indicators={codes}"
        a = self.until_answered(self.a, "GET", path).body["figures"]
        b = self.until_answered(self.b, "GET", path).body["figures"]
        n = len(self.admitted)
        wanted = {
            "members_total (both)": (a["members_total"] + b["members_total"], n),
            "members_total (receiving)": (b["members_total"], accepted),
            "members_admitted (sending, receiving)": ((a["members_admitted"], b["members_admitted"]), (n, 0)),
            "members_transferred_out (sending)": (a["members_transferred_out"], accepted),
            "members_transferred_in (receiving)": (b["members_transferred_in"], accepted),
        }
        for what, (got, want) in wanted.items():
            if got != want:
                self.result.wrong += 1
                self.result.fail(f"{what}: {got}, not {want}")
        self.result.note(f"{n} members moved, refused or kept; figures sending {a}, receiving {b}")


def cases(servers: list[str]) -> list[Case]:
    """Every step under ``kill -9`` (and, with servers, a crash of each); recovered in turn by the
    next call and by finish-transfers."""
    faults = ["kill -9"] + [f"crash {s}" for s in servers]
    made = []
    for fault in faults:
        for step in STEPS:
            i = len(made)
            made.append(Case(step, fault, f"m{i}", "next call" if i % 2 == 0 else "finish-transfers"))
    return made


def run_cases(ctx: Context, result: Result, moves: Moves, chosen: list[Case]) -> None:
    for case in chosen:
        ctx.log(f"move cut short: {case}")
        before = len(result.failures)
        moves.run(case)
        if len(result.failures) > before:
            ctx.log(f"  {case}: {result.failures[-1]}")
    accepted = sum(c.verb in ("proposal", "acceptance") for c in chosen)  # a recovered proposal is accepted afterwards
    moves.judge_figures(accepted)
    result.note("left by the fault: " + ", ".join(moves.states))
    result.note(f"{len(chosen)} cases: {', '.join(sorted({c.fault for c in chosen}))} at {', '.join(STEPS)}")


# ---- the scenarios --------------------------------------------------------------------------------
def kill_move(ctx: Context, result: Result) -> None:
    """``kill -9`` of the process doing the handoff at each step, both provinces on one store."""
    with ctx.service("kill-move") as service:
        moves = Moves(ctx, service, {}, result)
        run_cases(ctx, result, moves, cases([]))
        for tenant in (moves.a, moves.b):
            ctx.check(service, tenant, result)


def crash_move(ctx: Context, result: Result) -> None:
    """The two provinces on two PostgreSQL servers (the sending one with the control store on
    ``main``, the receiving one on ``second``); at each step the process is killed, or one server
    or the other crashes."""
    if ctx.pg is None:
        raise HarnessError("needs PostgreSQL")
    with ThrowawayPostgres() as second:
        settings = dataclasses.replace(ctx.settings, servers=(("main", ctx.pg.url), ("second", second.url)))
        both = dataclasses.replace(ctx, settings=settings)
        servers = f"main={ctx.pg.url},second={second.url}"
        with Service(
            settings, ctx.folder / f"{ctx.store}-crash-move.log", UNIONLEDGER_DATABASE_URLS=servers
        ) as service:
            moves = Moves(both, service, {"main": ctx.pg, "second": second}, result)
            run_cases(both, result, moves, [c for c in cases(["main", "second"]) if c.fault != "kill -9"])
            for tenant in (moves.a, moves.b):
                both.check(service, tenant, result)


SCENARIOS: dict[str, tuple[Callable[[Context, Result], None], tuple[str, ...]]] = {
    "kill-move": (kill_move, ("postgres", "sqlite")),
    "crash-move": (crash_move, ("postgres",)),
}


# ---- the process doing the handoff, stopped at a step --------------------------------------------
def handoff(step: str, verb: str, *args: str) -> None:
    """Run one handoff call as the service would; at ``step`` say so on stdout and wait for a line
    on stdin (the suite kills this process there, or crashes a server and then lets it go on)."""
    from application.register import Register
    from application.transfers import Transfers
    from tenants.bootstrap import bootstrap

    def at(reached: str, row: dict) -> None:
        if reached == step:
            print("at", step, row["transfer_id"], flush=True)
            sys.stdin.readline()

    platform = bootstrap()
    try:
        transfers = Transfers(platform.registry, platform.stores.use, at=at)
        tenant = args[0]
        with platform.stores.use(tenant) as store:
            register = Register(store)
            if verb == "proposal":
                member, to_tenant, on = args[1:]
                transfers.propose(register, tenant, member, to_tenant, date.fromisoformat(on), "faults:officer")
            elif verb == "acceptance":
                transfer_id, union_id, member = args[1:]
                transfers.accept(register, tenant, transfer_id, union_id, member, "faults:officer")
            elif verb == "refusal":
                transfers.refuse(tenant, args[1], "not employed here", "faults:officer")
            else:
                transfers.withdraw(register, tenant, args[1], "not employed here", "faults:officer")
    finally:
        platform.close()


if __name__ == "__main__":
    handoff(*sys.argv[1:])
