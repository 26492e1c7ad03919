"""The unit of work: what one use case (or a group of commands) sees of a tenant and decides.

Handlers load aggregates through it (from the ledger, or given preloaded for a group), read the
facts their rules need across entities from the views, seal new members' personal data with keys
made in memory, and add what they changed. Nothing is written until the unit of work is committed
(application.commit): then the events, the keys, the view rows and the chain links go in one
transaction, under the tenant lock, after the views were caught up with the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import StoredEvent

from domain.base import RegisterAggregate, check_client_id
from domain.errors import AlreadyExists, NotFound
from persistence.vault import Sealing

A = TypeVar("A", bound=RegisterAggregate)


class RegisterFacts(Protocol):
    """What rules across entities read from the views (which hold every event recorded so far)."""

    def active_members_in_union(self, union_id: str, on: date) -> int:
        """Members of the union active on ``on`` or at any later date."""

    def active_union_at_workplace(self, workplace_id: str, on: date) -> str | None:
        """Another union of the workplace active on ``on`` or later, if any."""

    def active_under_unit(self, unit_id: str, on: date) -> int:
        """Child units, unions and workplaces under the unit on ``on`` or later."""


class Repository(Protocol):
    def get(self, aggregate_id: UUID) -> Any: ...

    def __contains__(self, aggregate_id: UUID) -> bool: ...


class Sealer(Protocol):
    def seal_one(self, member_id: str, data: dict[str, Any]) -> tuple[str, bytes, list[int]]:
        """A new member's sealed personal data, its key and its blind index tokens."""
        ...


class UnitOfWork:
    def __init__(
        self,
        repository: Repository,
        facts: RegisterFacts,
        today: Callable[[], date],
        preloaded: dict[UUID, RegisterAggregate | None] | None = None,
        sealer: Sealer | None = None,
        shared: dict[UUID, RegisterAggregate | None] | None = None,
    ):
        """``preloaded`` is copied; ``shared`` is used as it is, and keeps what this unit of work reads
        and adds (a batch's memory, application.register.Batch)."""
        self.repository = repository
        self.facts = facts
        self.today = today
        self.sealer = sealer
        # Aggregates read so far, by storage id; None: known not to exist (a group's preload).
        self._known: dict[UUID, RegisterAggregate | None] = dict(preloaded or {}) if shared is None else shared
        self.touched: set[UUID] = set()  # storage ids read from the ledger or added by this unit of work
        self.added: list[RegisterAggregate] = []
        self.sealing = Sealing()  # new members' keys and index tokens, stored with the events that use them
        # What the command being decided had sealed before it queued: (member id, data, sealed, key, tokens)
        self.sealed_ahead: tuple[str, dict[str, Any], str, bytes, list[int]] | None = None

    def get(self, cls: type[A], client_id: str, field: str = "id") -> A:
        """The aggregate of kind ``cls`` with the client's id; NotFound (naming ``field``) if none."""
        storage_id = cls.storage_id(client_id)
        if storage_id not in self._known:
            self.touched.add(storage_id)
            try:
                self._known[storage_id] = self.repository.get(storage_id)
            except AggregateNotFoundError:
                self._known[storage_id] = None
        found = self._known[storage_id]
        if found is None or not isinstance(found, cls):
            raise NotFound(f"{cls.KIND} {client_id!r} does not exist", field=field)
        return found

    def require_new(self, cls: type[RegisterAggregate], client_id: str) -> None:
        """The client's id is well formed and not taken (else 409: posting it again changes nothing)."""
        check_client_id(client_id)
        storage_id = cls.storage_id(client_id)
        exists = self._known[storage_id] is not None if storage_id in self._known else storage_id in self.repository
        if exists:
            raise AlreadyExists(f"{cls.KIND} {client_id!r} exists already", field="id", rule="unique_id")

    def add(self, aggregate: A) -> A:
        """``aggregate`` changed (or is new): its events are saved at commit, in the order added."""
        if not any(a is aggregate for a in self.added):
            self.added.append(aggregate)
        self._known[aggregate.id] = aggregate
        self.touched.add(aggregate.id)
        return aggregate

    def seal(self, member_id: str, data: dict[str, Any]) -> str:
        """Seal a new member's personal data with a key of their own, stored only if they are saved."""
        if self.sealer is None:
            raise RuntimeError("this unit of work seals no personal data")
        ahead = self.sealed_ahead
        if ahead is not None and ahead[0] == member_id and ahead[1] == data:
            sealed, key, tokens = ahead[2:]
        else:
            sealed, key, tokens = self.sealer.seal_one(member_id, data)
        self.sealing.add(member_id, key, tokens)
        return sealed

    def mark(self) -> tuple[int, set[str]]:
        return len(self.added), set(self.sealing.keys)

    def undo(self, mark: tuple[int, set[str]]) -> None:
        """Forget what was added since ``mark``: a command of a group that its rules refused."""
        count, keys = mark
        for aggregate in self.added[count:]:
            aggregate.collect_events()
            self._known.pop(aggregate.id, None)  # read again, as stored, if asked for
        del self.added[count:]
        self.sealing.drop(set(self.sealing.keys) - keys)

    def collect_events(self) -> list[Any]:
        return [e for aggregate in self.added for e in aggregate.collect_events()]


def project(events: Iterable[Any]) -> Any:
    """The aggregate the events make (the library's project_aggregate, less a costly protocol check)."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def preload(store: Any, ids: list[UUID], cur: Any = None) -> dict[UUID, RegisterAggregate | None]:
    """Every aggregate of ``ids`` from one query (None where there is none): a group's loads;
    in ``cur``'s transaction if given (a group's, which holds the tenant lock)."""
    if not ids:
        return {}
    if cur is None:
        with store.transaction() as cur:
            rows = _stored_events(store, cur, ids)
    else:
        rows = _stored_events(store, cur, ids)
    return aggregates(store, ids, rows)


def aggregates(store: Any, ids: list[UUID], rows: list[tuple]) -> dict[UUID, RegisterAggregate | None]:
    """The aggregates of ``ids`` from their stored events' rows (``STORED_EVENTS``), None where none."""
    events: dict[UUID, list] = {i: [] for i in ids}
    mapper = store.event_store.mapper
    for originator_id, version, topic, state in rows:
        originator_id = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        events[originator_id].append(mapper.to_domain_event(StoredEvent(originator_id, version, topic, bytes(state))))
    return {i: project(e) if e else None for i, e in events.items()}


# The stored events of the aggregates of an array of ids, in order (PostgreSQL)
STORED_EVENTS = (
    "SELECT originator_id, originator_version, topic, state FROM {table}"
    " WHERE originator_id = ANY(?) ORDER BY originator_id, originator_version"
)


def _stored_events(store: Any, cur: Any, ids: list[UUID]) -> list[tuple]:
    table = store.event_store.events_table
    if cur.dialect == "postgres":
        return cur.execute(STORED_EVENTS.format(table=table), (ids,)).fetchall()
    return cur.execute(
        f"SELECT originator_id, originator_version, topic, state FROM {table}"
        f" WHERE originator_id IN ({', '.join('?' * len(ids))})"
        " ORDER BY originator_id, originator_version",
        [i.hex for i in ids],
    ).fetchall()
