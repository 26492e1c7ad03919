"""Clients in threads: writers admitting members with ids of their own, readers polling figures.

Every answer is kept with when it was asked and answered, for the scenarios to judge: which
writes were acknowledged, which reads were right, and what the service answered once a fault
was over.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from domain.clock import vietnam_today
from faults.service import Answer, Client


@dataclass
class Tenant:
    id: str
    token: str

    def path(self, rest: str) -> str:
        return f"/v1/tenants/{self.id}{rest}"


def indicators_path(tenant: Tenant, period: str) -> str:
    return tenant.path(f"/indicators?period={period}")


def admission(member_id: str, union_id: str) -> dict:
    """A new member admitted yesterday (in Vietnam: never in the future), to a union founded earlier."""
    return {
        "id": member_id,
        "union_id": union_id,
        "admitted_on": (vietnam_today() - timedelta(days=1)).isoformat(),
        "full_name": f"Đoàn viên {member_id}",
        "gender": "female",
    }


@dataclass
class Load:
    """``writers`` threads POST admissions with unique ids (``{prefix}-{writer}-{n}``) to the
    unions given, one after the other; ``readers`` threads GET the ``paths`` in turn every
    ``interval`` seconds. ``start()``, then ``stop()``; ``writes`` and ``reads`` hold every answer."""

    port: int
    tenant: Tenant
    unions: list[str]
    paths: list[str]
    writers: int = 0
    readers: int = 0
    interval: float = 0.1
    prefix: str = "w"
    writes: list[tuple[str, Answer]] = field(default_factory=list)
    reads: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write, args=(w,), daemon=True) for w in range(self.writers)]
        self._threads += [threading.Thread(target=self._read, args=(r,), daemon=True) for r in range(self.readers)]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=360)

    def _write(self, writer: int) -> None:
        client = Client(self.port, self.tenant.token)
        n = 0
        while not self._stop.is_set():
            member_id = f"{self.prefix}-{writer}-{n}"
            union_id = self.unions[(writer * 7919 + n) % len(self.unions)]
            self.writes.append(
                (member_id, client.call("POST", self.tenant.path("/members"), admission(member_id, union_id)))
            )
            n += 1
        client.close()

    def _read(self, reader: int) -> None:
        client = Client(self.port, self.tenant.token)
        n = reader
        while not self._stop.is_set():
            self.reads.append(client.call("GET", self.paths[n % len(self.paths)]))
            n += 1
            self._stop.wait(self.interval)
        client.close()

    def acknowledged(self) -> list[str]:
        return [member_id for member_id, answer in self.writes if answer.status == 201]


def run_while(load: Load, work: Callable[[], object], settle: float = 0.5) -> object:
    """Start ``load``, let it run ``settle`` seconds, do ``work``, let it run ``settle`` more, stop it."""
    load.start()
    try:
        time.sleep(settle)
        result = work()
        time.sleep(settle)
    finally:
        load.stop()
    return result


def members_total_wrong(reads: list[Answer], writes: list[tuple[str, Answer]], base: int) -> list[Answer]:
    """Reads of ``members_total`` (today) that no state of the register ever had: fewer than
    ``base`` plus every admission acknowledged before the read was sent (another client's
    acknowledged write is visible to the next read), or more than ``base`` plus every admission
    sent before the read was answered."""
    acked = sorted(a.ended for _, a in writes if a.status == 201)
    sent = sorted(a.started for _, a in writes)
    wrong = []
    for read in reads:
        if read.status != 200:
            continue
        total = read.body["figures"]["members_total"]
        low = base + bisect.bisect_left(acked, read.started)
        high = base + bisect.bisect_right(sent, read.ended)
        if not low <= total <= high:
            wrong.append(read)
    return wrong
