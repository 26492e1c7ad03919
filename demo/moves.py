"""Members who moved from one demo province to the other, accepted into a union there and given a
card by it: the handoff as the two provinces' users make it (application/transfers.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from application.reads import RegisterReads
from application.register import Register
from application.transfers import Transfers
from domain.commands import IssueCard
from domain.errors import DomainError

CANDIDATES = 40  # members looked at to find a few whose history allows a move on the day chosen


def move_members(platform: Any, from_tenant: str, to_tenant: str, today: date, count: int = 3) -> list[str]:
    """Move up to ``count`` members active a year ago and still active, 30 days ago; their ids in ``to_tenant``."""
    on = today - timedelta(days=30)
    transfers = Transfers(platform.registry, platform.stores.use)
    with platform.stores.use(from_tenant) as store:
        page = RegisterReads(store).member_page(as_of=on - timedelta(days=365), status="active", limit=CANDIDATES)
    with platform.stores.use(to_tenant) as store:
        unions = RegisterReads(store).union_page(as_of=on, status="active", limit=1).items
    if not unions:
        return []
    moved: list[str] = []
    for member in page.items:
        if len(moved) == count:
            break
        new_id = f"moved-{member['id']}"[:64]
        try:
            with platform.stores.use(from_tenant) as store:
                proposed = transfers.propose(Register(store), from_tenant, member["id"], to_tenant, on, "demo")
            with platform.stores.use(to_tenant) as store:
                register = Register(store)
                transfers.accept(register, to_tenant, proposed["transfer_id"], unions[0]["id"], new_id, "demo")
                register.execute(
                    IssueCard(member_id=new_id, card_no=f"MV-{len(moved) + 1:05d}", issued_on=on, actor="demo")
                )
        except DomainError:  # left, moved or placed after the day: the next one will do
            continue
        moved.append(new_id)
    return moved
