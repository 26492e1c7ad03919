"""Group commit: commands that queue for a tenant together are saved together.

A command costs a handful of database round trips however few events it records (the
tenant lock, catching the views up, saving, applying, chaining). When commands queue behind
the tenant lock, the first caller leads: under the lock it takes the queued commands, decides
each in turn, saves the events of all in one transaction, applies them to the views and links
them into the chain; then every caller gets its own answer or its own refusal.

A group is only sound if no command's rules can see another's effects. So each command names
the entity it changes (its key), a group never holds two commands with the same key, and only
commands whose rules read nothing another grouped command changes are grouped (``Command.grouped``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from application.scope import Scope
from domain.commands import Command

GROUP_LIMIT = 256  # commands per group: bounds one transaction's size and the leader's extra wait


@dataclass(eq=False)
class Pending:
    """One queued command and, once done, its outcome."""

    command: Command
    scope: Scope | None = None  # a scoped principal's: the command must lie within it
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    sealed: Any = None  # personal data sealed before queueing (UnitOfWork.sealed_ahead)
    settled: int | None = None  # the placements' version its scope was found to hold it at (Scope.settled)
    # Held while its caller waits behind a leader; released once it is done or handed the lead,
    # so that a group's end wakes its own callers and one next leader, not every waiting thread.
    wake: Any = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


Take = Callable[[], list[Pending]]


class GroupCommit:
    """The queue of one tenant's grouped commands, and who leads it.

    ``commit(take)`` is called by the leader with the tenant lock not yet held; it must call
    ``take()`` once (under the lock, so that every command queued meanwhile joins) and set
    ``done`` with a result or an error on every command it took.
    """

    def __init__(self, commit: Callable[[Take], None], limit: int = GROUP_LIMIT):
        self._commit = commit
        self._limit = limit
        self._mutex = threading.Lock()
        self._queue: list[Pending] = []
        self._leading = False

    def queued(self) -> int:
        with self._mutex:
            return len(self._queue)

    def submit(
        self, command: Command, scope: Scope | None = None, sealed: Any = None, settled: int | None = None
    ) -> Any:
        item = Pending(command, scope, sealed=sealed, settled=settled)
        with self._mutex:
            self._queue.append(item)
            lead = not self._leading
            if lead:
                self._leading = True
            else:
                item.wake = threading.Lock()
                item.wake.acquire()
        if not lead:
            item.wake.acquire()  # released when the item is done, or when the lead is handed to it
            item.wake = None
            if item.done:
                return item.outcome()
        try:
            while not item.done:
                self._lead_once()
        except BaseException:
            with self._mutex:
                if item in self._queue:
                    self._queue.remove(item)
            raise
        finally:
            self._hand_on()
        return item.outcome()

    def _hand_on(self) -> None:
        """The lead passes to the first command still queued, whose caller wakes to lead; with none
        queued, the next command to come leads."""
        with self._mutex:
            following = self._queue[0] if self._queue else None
            if following is None:
                self._leading = False
                return
        following.wake.release()

    def _lead_once(self) -> None:
        taken: list[Pending] = []

        def take() -> list[Pending]:
            with self._mutex:
                keys: set[str] = set()
                for item in self._queue:
                    if len(taken) >= self._limit:
                        break
                    if item.command.key not in keys:
                        keys.add(item.command.key)
                        taken.append(item)
                chosen = set(map(id, taken))
                self._queue = [item for item in self._queue if id(item) not in chosen]
            return taken

        try:
            self._commit(take)
        except BaseException as error:
            if not taken:
                raise
            for item in taken:
                if not item.done:
                    item.error, item.done = error, True
        finally:
            for item in taken:
                if not item.done:
                    item.error, item.done = RuntimeError("the group commit left this command undecided"), True
            for item in taken:
                wake = item.wake  # None: the leader's own
                if wake is not None:
                    wake.release()
