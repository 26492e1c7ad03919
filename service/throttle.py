"""Guessing tokens: failed authentications are counted per client address in the control store,
so that every worker counts them together, and an address past the limit within its window is
answered 429, without being authenticated, until the window passes.

The control store is written only on a failure. Each worker remembers the addresses it found
blocked, so a request costs one dictionary lookup and no round trip; a worker that has not yet
seen a blocked address fail learns of the block at its first failure from it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from tenants.registry import Registry

BLOCKED_KEPT = 100_000  # blocked addresses a worker remembers (an attack from many addresses)


class AuthThrottle:
    def __init__(self, registry: Registry, failures: int, window_seconds: int, clock: Callable[[], float] = time.time):
        self.registry, self.failures, self.window = registry, failures, window_seconds
        self.clock = clock  # the wall clock: the workers share the windows' starts
        self._blocked: dict[str, float] = {}  # address -> end of its window
        self._lock = threading.Lock()

    def wait(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None if it may now."""
        until = self._blocked.get(address)
        if until is None:
            return None
        left = until - self.clock()
        if left > 0:
            return math.ceil(left)
        with self._lock:
            if self._blocked.get(address) == until:
                del self._blocked[address]
        return None

    def failed(self, address: str) -> tuple[int, int | None]:
        """Count a failed authentication: the failures of the address's window, and the seconds it
        must wait once it has reached the limit (None before)."""
        now = self.clock()
        failures, started = self.registry.auth_failed(address, now, self.window)
        if failures < self.failures:
            return failures, None
        until = started + self.window
        with self._lock:
            self._blocked.pop(address, None)
            self._blocked[address] = until  # last in the order of insertion: dropped last
            if len(self._blocked) > BLOCKED_KEPT:
                for gone in [a for a, u in self._blocked.items() if u <= now] or [next(iter(self._blocked))]:
                    del self._blocked[gone]
        return failures, max(1, math.ceil(until - now))
