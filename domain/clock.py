"""The calendar the register's business dates are kept in: Vietnamese days."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7))


def vietnam_today() -> date:
    """Business dates are Vietnamese calendar days: after 17:00 UTC it is tomorrow there."""
    return datetime.now(VIETNAM).date()
