"""Members who move between provinces: a handoff between two tenants' ledgers.

The two ledgers may live on different servers, so no one transaction spans both writes. The
transfer's state in the control store is the outbox that makes them one: it says what the receiving
province chose before either ledger is written, and a transfer left half done by a crash (after the
receiving write, before the sending one) is finished by the next call about it in either province,
or by ``finish_pending``. Each ledger write is idempotent (keyed by the transfer's id), so finishing
twice records nothing twice.

States: ``proposing`` (the sender's MemberTransferProposed, which holds the member there, to be
written), ``pending`` (proposed; the member counts at the sender), ``accepting`` (the receiver's union
and member id are chosen; the writes are under way or to be finished), ``done``, ``refusing`` (the
sender's MemberTransferRefused to be written), ``refused``, and ``withdrawing`` (the sender took its
proposal back before the decision; its MemberTransferWithdrawn to be written), ``withdrawn``.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from typing import Any

from application.register import Register
from domain.commands import ProposeMove, RecordMoveRefused, RecordMoveWithdrawn, TransferMemberIn, TransferMemberOut
from domain.errors import Conflict, DomainError, InvalidValue, NotFound
from domain.members import PERSONAL_FIELDS

DDL = (
    "CREATE TABLE IF NOT EXISTS member_transfers (transfer_id TEXT PRIMARY KEY, from_tenant TEXT NOT NULL,"
    " to_tenant TEXT NOT NULL, member_id TEXT NOT NULL, effective_on TEXT NOT NULL, status TEXT NOT NULL,"
    " union_id TEXT, new_member_id TEXT, reason TEXT, requested_by TEXT NOT NULL, requested_at TEXT NOT NULL,"
    " decided_by TEXT, decided_at TEXT)",
    "CREATE INDEX IF NOT EXISTS member_transfers_to ON member_transfers (to_tenant, status)",
    "CREATE INDEX IF NOT EXISTS member_transfers_from ON member_transfers (from_tenant, status)",
)
COLUMNS = (
    "transfer_id",
    "from_tenant",
    "to_tenant",
    "member_id",
    "effective_on",
    "status",
    "union_id",
    "new_member_id",
    "reason",
    "requested_by",
    "decided_by",
)
log = logging.getLogger(__name__)
# a member has at most one transfer in these states
OPEN = ("proposing", "pending", "accepting", "refusing", "withdrawing")
# as answered ("proposing" shows as pending)
STATUSES = ("pending", "accepting", "done", "refusing", "refused", "withdrawing", "withdrawn")
UNFINISHED = ("proposing", "accepting", "refusing", "withdrawing")  # the next call or finish_pending ends them
# The moments between two writes of the handoff, in order, and the call each falls within:
# ``Transfers.at`` is called at each (the fault suite kills the process or a database server there,
# and checks that the next call finishes what it left).
STEPS = {
    "proposing": "proposal",  # the control store says proposing; the sender's hold not yet written
    "accepting": "acceptance",  # before the receiving ledger's write
    "received": "acceptance",  # between the receiving ledger's write and the sending one's
    "sent": "acceptance",  # both ledgers written; the control store not yet done
    "refusing": "refusal",  # before the sender's MemberTransferRefused
    "freed": "refusal",  # after it; the control store not yet refused
    "withdrawing": "withdrawal",  # before the sender's MemberTransferWithdrawn
    "released": "withdrawal",  # after it; the control store not yet withdrawn
}
OUTCOME = {"proposal": "pending", "acceptance": "done", "refusal": "refused", "withdrawal": "withdrawn"}

Stores = Callable[[str], AbstractContextManager[Any]]  # tenant id -> its store, opened for a use case


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Transfers:
    """``registry``: the control store (where transfers wait); ``use``: opens a tenant's store.
    ``at(step, row)`` is called at each of ``STEPS``, between two writes, where a crash must leave
    nothing that the next call does not finish (the fault suite and the tests crash there)."""

    def __init__(self, registry: Any, use: Stores, at: Callable[[str, dict], None] | None = None):
        self.registry = registry
        self.use = use
        self.at = at
        self._made = False

    def _step(self, step: str, row: dict) -> None:
        if self.at is not None:
            self.at(step, row)

    # ---- the control store ------------------------------------------------------------------------
    def _tables(self) -> None:
        if not self._made:
            with self.registry.transaction() as cur:
                for statement in DDL:
                    cur.execute(statement)
            self._made = True

    def _rows(self, where: str, params: tuple) -> list[dict]:
        self._tables()
        with self.registry.transaction(write=False) as cur:
            rows = cur.execute(f"SELECT {', '.join(COLUMNS)} FROM member_transfers WHERE {where}", params).fetchall()
        return [dict(zip(COLUMNS, row)) for row in rows]

    def _row(self, transfer_id: str, tenant: str) -> dict:
        """The transfer, seen from one of its two provinces; any other sees none (404)."""
        rows = self._rows("transfer_id = ?", (transfer_id,))
        if not rows or tenant not in (rows[0]["from_tenant"], rows[0]["to_tenant"]):
            raise NotFound(f"transfer {transfer_id!r} does not exist", field="transfer_id")
        return rows[0]

    def _move(self, transfer_id: str, old: str, new: str, **values: Any) -> bool:
        """Change a transfer's state if it is still ``old``: False if another call changed it first."""
        sets = ", ".join(f"{k} = ?" for k in ("status", *values))
        with self.registry.transaction() as cur:
            cur.execute(
                f"UPDATE member_transfers SET {sets} WHERE transfer_id = ? AND status = ?",
                (new, *values.values(), transfer_id, old),
            )
            return cur.raw.rowcount == 1

    # ---- the sending province ---------------------------------------------------------------------
    def propose(self, register: Register, tenant: str, member_id: str, to_tenant: str, effective_on: date, actor: str):
        """A move of one of ``register``'s members (within its principal's scope) to ``to_tenant``."""
        self.finish_pending(tenant)
        if to_tenant == tenant:
            raise InvalidValue("must be another province", field="to_tenant")
        if self.registry.tenant(to_tenant) is None:
            raise NotFound(f"tenant {to_tenant!r} does not exist", field="to_tenant")
        transfer_id = "tr-" + secrets.token_hex(8)
        proposal = ProposeMove(
            member_id=member_id, to_tenant=to_tenant, transfer_id=transfer_id, effective_on=effective_on, actor=actor
        )
        # The sending ledger's rules first (the member is here, in scope, active, placed by then, not
        # already moving), so that neither the proposal nor the write on acceptance is refused.
        register.check(proposal)
        self._tables()
        with self.registry.transaction() as cur:
            found = cur.execute(
                "SELECT transfer_id FROM member_transfers WHERE from_tenant = ? AND member_id = ?"
                f" AND status IN ({_marks(OPEN)})",
                (tenant, member_id, *OPEN),
            ).fetchone()
            if found is not None:
                raise Conflict(f"member {member_id} is already being moved ({found[0]})", rule="transfer_open")
            cur.execute(
                "INSERT INTO member_transfers (transfer_id, from_tenant, to_tenant, member_id, effective_on, status,"
                " requested_by, requested_at) VALUES (?, ?, ?, ?, ?, 'proposing', ?, ?)",
                (transfer_id, tenant, to_tenant, member_id, effective_on.isoformat(), actor, _now()),
            )
        # MemberTransferProposed then holds the member here (no departure nor transfer) until the decision.
        self._finish(self._row(transfer_id, tenant), (tenant, register))
        return {"transfer_id": transfer_id, "status": "pending"}

    # ---- the receiving province -------------------------------------------------------------------
    def incoming(self, tenant: str, personal: bool) -> list[dict]:
        """Transfers waiting for ``tenant``, with what the sender holds of each member; its personal
        data null unless ``personal`` (policy.sees_arrivals_personal_data)."""
        self.finish_pending(tenant)
        out = []
        for row in self._rows("to_tenant = ? AND status = 'pending' ORDER BY transfer_id", (tenant,)):
            member = self._sent_member(row)
            out.append(
                {
                    "transfer_id": row["transfer_id"],
                    "from_tenant": row["from_tenant"],
                    "member_id": row["member_id"],
                    "admitted_on": member["admitted_on"],
                    "effective_on": date.fromisoformat(row["effective_on"]),
                    "gender": member["gender"],
                    **{field: member[field] if personal else None for field in PERSONAL_FIELDS},
                }
            )
        return out

    def accept(self, register: Register, tenant: str, transfer_id: str, union_id: str, member_id: str, actor: str):
        """The member recorded here (MemberTransferredIn) and gone from the sender (MemberTransferredOut)."""
        row = self._receiving(transfer_id, tenant)
        chosen = {"union_id": union_id, "new_member_id": member_id}
        _not_closed(row)
        if row["status"] == "pending":
            sent = self._sent_member(row)
            with self.use(row["from_tenant"]) as store:
                Register(store).check(_out_of(row | {"decided_by": actor}))
            # The receiving rules first (scope, union open, id free): a refusal there changes nothing.
            self._write_in(register, row | chosen, sent, actor, dry=True)
            if not self._move(transfer_id, "pending", "accepting", **chosen, decided_by=actor, decided_at=_now()):
                row = self._receiving(transfer_id, tenant)
                _not_closed(row)
            else:
                row = row | chosen | {"status": "accepting", "decided_by": actor}
        if (row["union_id"], row["new_member_id"]) != (union_id, member_id):
            raise Conflict(
                f"transfer {transfer_id} was accepted into union {row['union_id']} as member {row['new_member_id']}",
                rule="transfer_accepted",
            )
        self._finish(row, (tenant, register))
        answer = register.reads.member(member_id)
        if answer is None:
            raise NotFound(f"member {member_id!r} does not exist", field="member_id")
        return answer

    def refuse(self, tenant: str, transfer_id: str, reason: str, actor: str) -> dict:
        """The move refused: ``refusing`` first, then the sender's MemberTransferRefused frees the
        member there, then ``refused``; finished like an acceptance if cut short."""
        row = self._receiving(transfer_id, tenant)
        if row["status"] == "pending" and self._move(
            transfer_id, "pending", "refusing", reason=reason, decided_by=actor, decided_at=_now()
        ):
            row = row | {"status": "refusing", "reason": reason, "decided_by": actor}
        else:
            row = self._receiving(transfer_id, tenant)
        if row["status"] == "refusing":
            self._finish(row, None)
            row = self._receiving(transfer_id, tenant)
        if row["status"] != "refused":
            _not_closed(row)
            raise Conflict(f"transfer {transfer_id} was accepted", rule="transfer_accepted")
        return self._answer(row)

    def withdraw(self, register: Register, tenant: str, transfer_id: str, reason: str, actor: str) -> dict:
        """The sending province takes its proposal back before the other decides: ``withdrawing``
        first, then the sender's MemberTransferWithdrawn frees the member, then ``withdrawn``;
        finished like the others if cut short. A move already accepted or refused is a conflict."""
        row = self._sending(register, transfer_id, tenant)
        if row["status"] == "pending" and self._move(
            transfer_id, "pending", "withdrawing", reason=reason, decided_by=actor, decided_at=_now()
        ):
            self._finish(row | {"status": "withdrawing", "reason": reason, "decided_by": actor}, (tenant, register))
        row = self._sending(register, transfer_id, tenant)
        if row["status"] != "withdrawn":
            if row["status"] == "refused":
                raise Conflict(f"transfer {transfer_id} was refused", rule="transfer_refused")
            raise Conflict(f"transfer {transfer_id} was accepted", rule="transfer_accepted")
        return self._answer(row)

    # ---- the sending province's view ---------------------------------------------------------------
    def outgoing(self, register: Register, tenant: str, status: str | None = None) -> list[dict]:
        """Moves ``tenant`` proposed (of ``status`` only, if given), of the members its principal may
        read: a scoped officer sees the moves of the members under its scope, the province's all."""
        self.finish_pending(tenant)
        if status is not None and status not in STATUSES:
            raise InvalidValue(f"must be one of {', '.join(STATUSES)}", field="status")
        where = "from_tenant = ?"
        params: tuple[str, ...] = (tenant,)
        if status is not None:  # an answer says pending for what is still being proposed
            shown_as = ("proposing", "pending") if status == "pending" else (status,)
            where += f" AND status IN ({_marks(shown_as)})"
            params += shown_as
        rows = self._rows(where + " ORDER BY transfer_id", params)
        readable = register.reads.members(sorted({row["member_id"] for row in rows}))
        return [self._answer(row) for row in rows if row["member_id"] in readable]

    def transfer(self, register: Register, tenant: str, transfer_id: str) -> dict:
        """A transfer as either province sees it: the sender's principal, only that of a member it may
        read; the receiver's, any (a proposal lies in no unit there until accepted)."""
        self.finish_pending(tenant)
        row = self._row(transfer_id, tenant)
        if row["from_tenant"] == tenant:
            row = self._sending(register, transfer_id, tenant)
        return self._answer(row)

    def state(self, transfer_id: str) -> str | None:
        """The transfer's state as the control store holds it, finishing nothing (None: no such transfer)."""
        rows = self._rows("transfer_id = ?", (transfer_id,))
        return rows[0]["status"] if rows else None

    # ---- finishing --------------------------------------------------------------------------------
    def finish_pending(self, tenant: str | None = None, only: set[tuple[str, str]] | None = None) -> int:
        """Finish every accepted transfer whose writes were cut short (of ``tenant``, or all; of
        ``only``'s (transfer id, state) pairs, if given)."""
        self._tables()
        if tenant is None:
            rows = self._rows(f"status IN ({_marks(UNFINISHED)})", UNFINISHED)
        else:
            rows = self._rows(
                f"status IN ({_marks(UNFINISHED)}) AND (from_tenant = ? OR to_tenant = ?)",
                (*UNFINISHED, tenant, tenant),
            )
        if only is not None:
            rows = [row for row in rows if (row["transfer_id"], row["status"]) in only]
        finished = 0
        for row in rows:
            try:
                self._finish(row, None)
                finished += 1
            except Exception:  # one province out of reach holds up no other transfer
                log.warning("transfer %s: not finished yet", row["transfer_id"], exc_info=True)
        return finished

    def unfinished(self) -> set[tuple[str, str]]:
        """(transfer id, state) of every transfer whose writes are under way or were cut short."""
        return {
            (row["transfer_id"], row["status"]) for row in self._rows(f"status IN ({_marks(UNFINISHED)})", UNFINISHED)
        }

    def finish_in_background(self, every: float, stop: threading.Event) -> threading.Thread:
        """A daemon thread that finishes, every ``every`` seconds, the transfers that stood unfinished
        in the same state a whole round: cut short by a crash, with no call about them since (one
        under way in a request moves on within the round and is left to it)."""

        def rounds() -> None:
            seen: set[tuple[str, str]] = set()
            while not stop.wait(every):
                try:
                    now = self.unfinished()
                    if seen & now:
                        self.finish_pending(only=seen & now)
                    seen = now
                except Exception:  # a server out of reach now: the next round tries again
                    log.warning("finishing transfers in the background failed", exc_info=True)

        thread = threading.Thread(target=rounds, name="finish-transfers", daemon=True)
        thread.start()
        return thread

    def _finish(self, row: dict, own: tuple[str, Register] | None) -> None:
        """The writes left of ``row``'s state, each idempotent, then its next state: safe to run again
        after any failure. ``own``: the caller's tenant and register, used for that tenant's write."""
        if row["status"] == "proposing":
            self._step("proposing", row)
            with self._opened(row["from_tenant"], own) as register:
                try:
                    register.execute(_proposal_of(row))
                except DomainError:
                    # Refused by the sending rules since the check (she left meanwhile): nothing was proposed.
                    with self.registry.transaction() as cur:
                        cur.execute(
                            "DELETE FROM member_transfers WHERE transfer_id = ? AND status = 'proposing'",
                            (row["transfer_id"],),
                        )
                    raise
            self._move(row["transfer_id"], "proposing", "pending")
            return
        if row["status"] == "withdrawing":
            self._step("withdrawing", row)
            with self._opened(row["from_tenant"], own) as register:
                withdrawn = RecordMoveWithdrawn(
                    member_id=row["member_id"],
                    transfer_id=row["transfer_id"],
                    reason=row["reason"] or "",
                    actor=row["decided_by"],
                )
                register.execute(withdrawn)
            self._step("released", row)
            self._move(row["transfer_id"], "withdrawing", "withdrawn")
            return
        if row["status"] == "refusing":
            self._step("refusing", row)
            with self.use(row["from_tenant"]) as store:
                refused = RecordMoveRefused(
                    member_id=row["member_id"],
                    transfer_id=row["transfer_id"],
                    reason=row["reason"] or "",
                    actor=f"{row['to_tenant']}:{row['decided_by']}",
                )
                Register(store).execute(refused)
            self._step("freed", row)
            self._move(row["transfer_id"], "refusing", "refused")
            return
        if row["status"] != "accepting":
            return
        self._step("accepting", row)
        sent = self._sent_member(row)
        with self._opened(row["to_tenant"], own) as register:
            try:
                self._write_in(register, row, sent, row["decided_by"] or "transfer", dry=False)
            except DomainError:
                # Refused by the receiving rules since the check (the id taken, the union gone): the
                # member is still only at the sender, so the transfer waits for a decision again.
                self._move(row["transfer_id"], "accepting", "pending", union_id=None, new_member_id=None)
                raise
        self._step("received", row)
        with self.use(row["from_tenant"]) as store:
            try:
                Register(store).execute(_out_of(row))
            except Conflict as error:
                # Gone from the sender by a departure recorded after the acceptance's check: she is
                # active only here, which is all the handoff promises; nothing is left to write.
                if error.rule != "member_left":
                    raise
        self._step("sent", row)
        self._move(row["transfer_id"], "accepting", "done")

    def _opened(self, tenant: str, own: tuple[str, Register] | None) -> AbstractContextManager[Register]:
        """``tenant``'s register: the caller's own where it is that tenant's, else one opened unscoped."""

        @contextmanager
        def opened() -> Iterator[Register]:
            if own is not None and own[0] == tenant:
                yield own[1]
                return
            with self.use(tenant) as store:
                yield Register(store)

        return opened()

    def _write_in(self, register: Register, row: dict, sent: dict, actor: str, dry: bool) -> None:
        command = TransferMemberIn(
            member_id=row["new_member_id"],
            union_id=row["union_id"],
            admitted_on=date.fromisoformat(str(sent["admitted_on"])),
            effective_on=date.fromisoformat(row["effective_on"]),
            gender=sent["gender"],
            full_name=sent["full_name"] or "",
            birth_date=date.fromisoformat(str(sent["birth_date"])) if sent["birth_date"] else None,
            id_number=sent["id_number"],
            from_tenant=row["from_tenant"],
            transfer_id=row["transfer_id"],
            actor=actor,
        )
        if dry:
            register.check(command)
        else:
            register.execute(command)

    def _sent_member(self, row: dict) -> dict:
        """The member as the sending province holds them, personal data opened (under its keys)."""
        with self.use(row["from_tenant"]) as store:
            from application.reads import RegisterReads

            member = RegisterReads(store).member(row["member_id"])
        if member is None:  # the sender's ledger never loses a member
            raise NotFound(f"member {row['member_id']!r} does not exist", field="member_id")
        return member

    def _sending(self, register: Register, transfer_id: str, tenant: str) -> dict:
        """A transfer ``tenant`` proposed, of a member ``register``'s principal may read, finished
        if cut short; any other answers 404."""
        row = self._row(transfer_id, tenant)
        if row["from_tenant"] != tenant or register.reads.member(row["member_id"]) is None:
            raise NotFound(f"transfer {transfer_id!r} does not exist", field="transfer_id")
        if row["status"] in UNFINISHED:
            self._finish(row, None)
            row = self._row(transfer_id, tenant)
        return row

    def _receiving(self, transfer_id: str, tenant: str) -> dict:
        row = self._row(transfer_id, tenant)
        if row["to_tenant"] != tenant:
            raise NotFound(f"transfer {transfer_id!r} does not exist", field="transfer_id")
        if row["status"] in UNFINISHED:
            self._finish(row, None)
            row = self._row(transfer_id, tenant)
        return row

    @staticmethod
    def _answer(row: dict) -> dict:
        return {
            "transfer_id": row["transfer_id"],
            "from_tenant": row["from_tenant"],
            "to_tenant": row["to_tenant"],
            "member_id": row["member_id"],
            "effective_on": date.fromisoformat(row["effective_on"]),
            "status": "pending" if row["status"] == "proposing" else row["status"],
            "union_id": row["union_id"],
            "new_member_id": row["new_member_id"],
            "reason": row["reason"],
        }


def _out(transfer_id: str, tenant: str, member_id: str, to_tenant: str, on: date, actor: str) -> TransferMemberOut:
    return TransferMemberOut(
        member_id=member_id, to_tenant=to_tenant, transfer_id=transfer_id, effective_on=on, actor=actor
    )


def _marks(values: tuple) -> str:
    """As many SQL parameter marks as ``values``."""
    return ", ".join("?" for _ in values)


def _not_closed(row: dict) -> None:
    """A conflict if the move was refused by the receiving province or withdrawn by the sending one."""
    if row["status"] in ("refusing", "refused"):
        raise Conflict(f"transfer {row['transfer_id']} was refused", rule="transfer_refused")
    if row["status"] in ("withdrawing", "withdrawn"):
        raise Conflict(
            f"transfer {row['transfer_id']} was withdrawn by {row['from_tenant']}", rule="transfer_withdrawn"
        )


def _proposal_of(row: dict) -> ProposeMove:
    """The sending ledger's hold on the member while the move waits for its decision."""
    return ProposeMove(
        member_id=row["member_id"],
        to_tenant=row["to_tenant"],
        transfer_id=row["transfer_id"],
        effective_on=date.fromisoformat(row["effective_on"]),
        actor=row["requested_by"],
    )


def _out_of(row: dict) -> TransferMemberOut:
    """The sending ledger's write; its actor names the receiving province's principal who accepted."""
    return _out(
        row["transfer_id"],
        row["from_tenant"],
        row["member_id"],
        row["to_tenant"],
        date.fromisoformat(row["effective_on"]),
        f"{row['to_tenant']}:{row['decided_by']}",
    )
