"""A tenant's register: the one door every use case goes through, from the HTTP API, the command
line and the demo alike. Commands are decided and saved by a unit of work (one transaction with
their views and chain links); reads go through ``reads``, whose views are current.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import cached_property
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Recording

from application import commit, imports
from application.grouping import GroupCommit, Pending, Take
from application.handlers import handle
from application.reads import RegisterReads, member_answer
from application.scope import OutOfScope, Scope, command_reaches
from application.scoped_reads import ScopedReads
from application.unit_of_work import UnitOfWork
from domain.commands import AdmitMember, Command, RecordVerification
from domain.errors import NotFound
from domain.imports import ERRORS_KEPT, ImportPlan
from domain.members import Member, personal_data
from domain.unions import Union
from integrity import cards
from integrity.chain import Digest, Verified
from persistence.vault import Sealing
from projections.placement import Placements
from projections.queries import admitted_member

_groups: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per open tenant store: its queue


class _Reaching:
    """What ``command_reaches`` asks of a unit of work (today; an aggregate, for the few commands
    placed by another's), the unit of work made only if an aggregate is asked for."""

    def __init__(self, store: Any):
        self.store = store
        self.today = store.today

    def get(self, *args: Any) -> Any:
        return commit.unit_of_work(self.store).get(*args)


class Register:
    """``scope_unit_id``: a scoped principal's unit, whose reach every command and read keeps to."""

    def __init__(self, store: Any, scope_unit_id: str | None = None, personal: bool = True):
        self.store = store
        self.scope_unit_id = scope_unit_id
        self.personal = personal
        group = _groups.get(store)
        if group is None:
            group = _groups.setdefault(store, GroupCommit(self._commit_group))
        self._group = group

    @cached_property
    def reads(self) -> RegisterReads | ScopedReads:
        """The one place a request's reads are chosen: a scoped principal gets no read that is not
        kept to its scope. Made at the first read: a command alone (an admission) needs none."""
        reads = RegisterReads(self.store, self.personal)
        scope = self.scope()
        return reads if scope is None else ScopedReads(reads, scope)

    # ---- commands -------------------------------------------------------------------------------------
    def execute(self, command: Command) -> Any:
        """Decide and save ``command``; returns what its handler returns. A grouped command (a
        member's admission, transfer or departure) is saved with those queued beside it, and
        returns the member as the views show it afterwards, personal data opened."""
        scope = self.scope(current=False)  # checked again under the lock if the placements changed
        if command.grouped:
            settled = None
            if scope is not None:
                # Checked here, in the request's own thread, while the lock serves others: the
                # placements it reads stay in the scope, and the check under the lock reads none
                # unless they changed meanwhile, nor checks again what units' and unions' spans
                # alone decided (``settled``). A refusal on what this process knew is only given
                # once asked again on the placements as they are now.
                reaches = command_reaches(command, _Reaching(self.store))
                try:
                    scope.require(reaches)
                except OutOfScope:
                    scope = self.scope()
                    assert scope is not None  # a scoped principal's
                    scope.require(reaches)
                settled = scope.settled(reaches)
            return self._group.submit(command, scope, self._sealed_ahead(command), settled)
        item = Pending(command, scope)
        decided, _recorded = commit.commit(self.store, lambda: [item])
        for each in decided:
            each.done = True
        return item.outcome()

    def _sealed_ahead(self, command: Command) -> tuple | None:
        """An admission's personal data sealed in its request's own thread, before it queues: the
        group's leader then seals nothing while it holds the tenant lock."""
        vault = getattr(self.store, "vault", None)
        if not isinstance(command, AdmitMember) or vault is None:
            return None
        data = personal_data(command.full_name, command.birth_date, command.id_number)
        return (command.id, data, *vault.seal_one(command.id, data))

    def check(self, command: Command) -> None:
        """Decide ``command`` and save nothing: its refusal (rule, scope) is raised, else nothing
        happens. For a use case that must know a write will be taken before it commits to it."""
        uow = commit.unit_of_work(self.store)
        scope = self.scope()
        if scope is not None:
            scope.require(command_reaches(command, uow))
        handle(command, uow)

    def scope(self, current: bool = True) -> Scope | None:
        """A new reach of the scope unit (None: the whole tenant), for one use case; ``current``:
        on the placements as they are now (else as this process last read them: a command's,
        which the check under the lock renews)."""
        if self.scope_unit_id is None:
            return None
        known = getattr(self.store, "known_placements", None)
        return Scope(self.scope_unit_id, Placements(self.store.transaction), known, current)

    def _commit_group(self, take: Take) -> None:
        decided, recorded = commit.commit(self.store, take)
        self._answer([item for item in decided if item.error is None], recorded)
        for item in decided:
            item.done = True

    def _answer(self, items: list[Pending], recorded: list[Recording]) -> None:
        """Each decided member command's answer: an admission's from its event and the personal data
        it was given; the others' read from the views at once."""
        admissions = {
            r.domain_event.member_id: r.domain_event
            for r in recorded
            if isinstance(r.domain_event, Member.MemberAdmitted)
        }
        rest = []
        for item in items:
            event = admissions.get(item.command.key)
            if event is not None:
                c = item.command
                assert isinstance(c, AdmitMember)  # the command whose key an admission answers
                item.result = member_answer(
                    admitted_member(event), personal_data(c.full_name, c.birth_date, c.id_number)
                )
            else:
                rest.append(item)
        if rest:
            found = RegisterReads(self.store).members([item.command.key for item in rest])
            for item in rest:
                item.result = found[item.command.key]

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Many commands in a row under one hold of the tenant lock, saved a few thousand events at a
        time (Batch): for the demo and the generator, which record tens of thousands. What was
        decided before a command that fails is saved all the same, as if each had been sent alone."""
        with self.store.lock():
            self.store.catch_up_locked()
            batch = Batch(self.store)
            try:
                yield batch
            finally:
                batch.save()

    # ---- the hash chain --------------------------------------------------------------------------------
    def digest(self) -> dict:
        """The chain's head, once every event recorded so far is linked (ChainBroken if it cannot be)."""
        with self.store.lock(self.store.lock_wait):
            self.store.chain.extend_locked()
        return self.store.chain.head()

    def export(self, progress: Callable[[int], None] | None = None) -> tuple[int, Iterator[bytes]]:
        """How many positions, and the ledger up to the chain's head with its links and the signed
        checkpoint of that size, gzip JSON lines, in chunks; the chain is extended first, so that a
        broken chain is refused before anything is sent."""
        with self.store.lock(self.store.lock_wait):
            upto = self.store.chain.extend_locked()
            checkpoint = self.store.chain.tree.checkpoint(upto)
        return upto, self.store.chain.export(upto, progress, checkpoint)

    # ---- the Merkle tree: checkpoints and proofs (integrity.tree) -------------------------------------
    def checkpoint(self) -> dict:
        """The signed head of the tree over every event chained, once the events recorded so far are
        (commands and imports chain theirs as they record them: then no lock is needed)."""
        tree = self.store.chain.tree
        size = tree.current()
        if size is None:
            with self.store.lock(self.store.lock_wait):
                self.store.extend_chain_locked()
                size = tree.size()
        return tree.checkpoint(size)

    def public_key(self) -> dict:
        return self.store.chain.tree.public_key()

    # ---- member cards (integrity.cards) ----------------------------------------------------------------
    def card(self, member_id: str) -> dict:
        """The member's latest card, signed with the tenant's key; NotFound if none (or out of scope)."""
        if self.reads.member(member_id) is None:
            raise NotFound(f"member {member_id!r} does not exist", field="id")
        member = commit.unit_of_work(self.store).get(Member, member_id)
        if not member.cards:
            raise NotFound(f"member {member_id!r} holds no card", field="card")
        card_no, issued_on = max(member.cards, key=lambda c: (c[1], c[0]))
        key_id, private = self.store.chain.tree.signing_key()
        fields = {
            "card_no": card_no,
            "tenant": self.store.tenant_id,
            "member_id": member_id,
            "union_id": member.union_id,
            "issued_on": issued_on.isoformat(),
        }
        return cards.sign_card(private, key_id, fields)

    def card_holder(self, fields: dict) -> dict:
        """Whether the member a verified card names is active here now, and holds that card."""
        member = self.reads.member(fields["member_id"])
        held = False
        if member is not None:
            found = commit.unit_of_work(self.store).get(Member, fields["member_id"])
            held = any(no == fields["card_no"] and on.isoformat() == fields["issued_on"] for no, on in found.cards)
        return {"known": held, "active": bool(held and member is not None and member["status"] == "active")}

    def consistency(self, old: int, new: int) -> dict:
        """The proof that the tree of ``new`` events extends that of ``old`` (RFC 9162 2.1.4)."""
        return self.store.chain.tree.consistency(old, new)

    def inclusion(self, position: int, size: int) -> dict:
        """The audit path of the event at ``position`` in the tree of ``size`` events (RFC 9162 2.1.3)."""
        return self.store.chain.tree.inclusion(position, size)

    def verify_chain(self, digest: Digest | None = None, progress: Callable[[int], None] | None = None) -> Verified:
        """Recompute the chain from the stored events (nothing is written); ChainBroken at the first
        position that no longer matches, or where the ledger no longer extends ``digest``."""
        return self.store.chain.verify(digest, progress)

    def recorded(self) -> int:
        """The ledger's last position."""
        return self.store.projector.ledger_position()

    def rebuild(self, progress: Callable[[int], None] | None = None, *, tree: bool = False) -> int:
        """Build every view again from the ledger; readers keep the old ones until the new are complete.
        ``tree``: the ledger's Merkle tree made again too (after its stored rows were changed)."""
        return self.store.rebuild(progress, tree=tree)

    # ---- imports and verification ----------------------------------------------------------------------
    def import_rows(
        self,
        sheets: dict,
        actor: str,
        progress: Callable[[int], None] | None = None,
        wait: float | None = None,
        errors_kept: int = ERRORS_KEPT,
    ) -> ImportPlan:
        """Every row checked (a scoped principal's rows within its scope), then (only if none is
        wrong) all of them recorded in one transaction."""
        return imports.import_rows(self.store, sheets, actor, progress, wait, errors_kept, self.scope())

    def verify_report(self, report_id: str, actor: str) -> dict:
        """Recompute a report's figures against the ledger and record the verdict (ReportVerified)."""
        report = self.reads.report(report_id)
        if report is None:
            raise NotFound(f"report {report_id!r} does not exist", field="id")
        result = self.reads.verification(report)
        summary = [
            {
                **{k: v for k, v in line.items() if k != "late_events"},
                "late_event_positions": [e["position"] for e in line["late_events"]],
            }
            for line in result["lines"]
        ]
        self.execute(RecordVerification(report_id=report_id, verdict=result["verdict"], lines=summary, actor=actor))
        return result


class Batch:
    """Commands decided one after another by a holder of the tenant lock (see Register.batch), and
    saved together: their events, the new members' keys, the view rows and the chain links in one
    transaction (as a group commit saves a group) every ``SAVE_EVERY`` events, before a rule reads
    views that what it holds unsaved bears on (_BatchFacts), before a read, and at the end. Each
    event keeps the instant its command was decided, and the ledger the order in which they were."""

    SAVE_EVERY = 2000  # events held in memory at most before they are saved

    def __init__(self, store: Any):
        self.store = store
        self.reads = _BatchReads(self)
        # Aggregates as the batch left them: no one else writes while it holds the tenant lock, so a
        # union that admits thousands of members is read from the ledger once, not once per member.
        self._known: dict[Any, Any] = {}
        self._decided = _Decided()
        self._facts = _BatchFacts(self)
        # On a ledger empty when the batch began (the lock held since), an aggregate the batch did
        # not save does not exist: asked for (a new member's id), it is not looked for.
        self._ledger: Any = store.event_store.repository
        if store.projector.ledger_position() == 0:
            self._ledger = _OnlySaved(self._ledger)

    def execute(self, command: Command) -> Any:
        store = self.store
        uow = UnitOfWork(self._ledger, self._facts, store.today, sealer=store.vault, shared=self._known)
        try:
            result = handle(command, uow)
        except BaseException:
            # Perhaps changed in memory, not stored: read again when asked for, after what the
            # batch decided before is saved (the ledger then holds the aggregates as they were).
            self.save()
            for storage_id in uow.touched:
                self._known.pop(storage_id, None)
            raise
        self._decided.take(uow)
        if len(self._decided.events) >= self.SAVE_EVERY:
            self.save()
        return result

    def save(self) -> None:
        """Save what was decided and is not saved yet, then catch the views up (a no-op unless
        someone wrote beside the lock)."""
        if self._decided.events:
            decided, self._decided = self._decided, _Decided()
            try:
                commit.record(self.store, decided)  # type: ignore[arg-type]  # events and keys, as a unit of work gives them
            except BaseException:
                # What the lost group changed in memory is not in the ledger: read everything again.
                self._known.clear()
                raise
            if isinstance(self._ledger, _OnlySaved):
                self._ledger.saved.update(e.originator_id for e in decided.events)
        self.store.catch_up_locked()


class _Decided:
    """The events and keys a batch decided and has not saved yet, given to commit.record as a unit
    of work gives them."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.sealing = Sealing()
        self.workplaces_with_unions: set[str] = set()  # of the unions these events found or change

    def take(self, uow: UnitOfWork) -> None:
        self.workplaces_with_unions.update(a.workplace_id for a in uow.added if isinstance(a, Union))
        self.events += uow.collect_events()
        self.sealing.keys.update(uow.sealing.keys)
        self.sealing.tokens.update(uow.sealing.tokens)

    def collect_events(self) -> list[Any]:
        return self.events


class _BatchFacts:
    """The views as the rules of a batch's commands read them (RegisterFacts): current with what the
    batch decided, which it saves first, unless what it holds unsaved does not bear on the question.
    The one-union-per-workplace rule asks of the unions at one workplace (union_state, which only
    unions' events change): while the batch holds no unsaved event of a union there, the views
    answer it as they are, and a run of foundings with admissions between them is saved once."""

    def __init__(self, batch: Batch):
        self.batch = batch

    @property
    def _views(self) -> Any:
        return self.batch.store.views

    def active_union_at_workplace(self, workplace_id: str, on: date) -> str | None:
        if workplace_id in self.batch._decided.workplaces_with_unions:
            self.batch.save()
        return self._views.active_union_at_workplace(workplace_id, on)

    def active_members_in_union(self, union_id: str, on: date) -> int:
        self.batch.save()
        return self._views.active_members_in_union(union_id, on)

    def active_under_unit(self, unit_id: str, on: date) -> int:
        self.batch.save()
        return self._views.active_under_unit(unit_id, on)

    def __getattr__(self, name: str) -> Any:  # any other view a rule may come to read: saved first
        self.batch.save()
        return getattr(self._views, name)


class _OnlySaved:
    """The ledger as a batch that began on an empty one sees it: what the batch saved, and nothing else."""

    def __init__(self, repository: Any):
        self.repository = repository
        self.saved: set[Any] = set()

    def get(self, aggregate_id: Any) -> Any:
        if aggregate_id not in self.saved:
            raise AggregateNotFoundError(aggregate_id)
        return self.repository.get(aggregate_id)

    def __contains__(self, aggregate_id: Any) -> bool:
        return aggregate_id in self.saved


class _BatchReads(RegisterReads):
    """Reads within a batch: what it decided is saved, and the views current, before a read."""

    def __init__(self, batch: Batch):
        super().__init__(batch.store)
        self.batch = batch

    @property
    def _views(self) -> Any:
        self.batch.save()
        return self.store.views
