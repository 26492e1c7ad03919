"""Who may do what: the one place every call asks, from the HTTP API, the console and the CLI.

A principal is the platform admin (tenants only) or a tenant's token holder with a role; each
call names the one action it performs, and ``may`` alone decides. Within a tenant, anything a
principal may not see answers 404 (as another tenant's would); an action its role lacks, 403.
"""

from __future__ import annotations

from enum import StrEnum

PLATFORM_ADMIN = "platform_admin"
ROLES = ("federation_admin", "inspector", "auditor")  # a tenant token's roles


class Action(StrEnum):
    PLATFORM = "platform"  # provision and list tenants
    READ = "read"  # the register, figures, targets, reports, the audit trail, digests
    RECORD = "record"  # register commands, targets, reports, imports
    ERASE = "erase"  # a member's personal data
    VERIFY = "verify"  # a report against the ledger
    EXPORT = "export"  # the whole ledger, for the offline audit
    MANAGE = "manage"  # the tenant's tokens


PERMISSIONS: dict[str, frozenset[Action]] = {
    PLATFORM_ADMIN: frozenset({Action.PLATFORM}),
    "federation_admin": frozenset(
        {Action.READ, Action.RECORD, Action.ERASE, Action.VERIFY, Action.EXPORT, Action.MANAGE}
    ),
    "inspector": frozenset({Action.READ, Action.VERIFY}),
    "auditor": frozenset({Action.READ, Action.EXPORT}),
}


def may(role: str, action: Action) -> bool:
    """Whether a principal of ``role`` may perform ``action``."""
    return action in PERMISSIONS.get(role, frozenset())
