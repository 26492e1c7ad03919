"""Who may do what: the one place every call asks, from the HTTP API, the console and the CLI.

A principal is the platform admin (tenants only) or a tenant's token holder with a role; each
call names the one action it performs, and ``may`` alone decides. Within a tenant, anything a
principal may not see answers 404 (as another tenant's would); an action its role lacks, 403.
"""

from __future__ import annotations

from enum import StrEnum

PLATFORM_ADMIN = "platform_admin"
NATIONAL = "national"  # the national federation's principals: aggregates of every tenant, no personal data
ROLES = ("federation_admin", "officer", "clerk", "inspector", "auditor", "viewer")  # a tenant principal's roles


class Action(StrEnum):
    PLATFORM = "platform"  # provision and list tenants
    NATIONAL = "national"  # the national level: every tenant's figures, national targets
    READ = "read"  # the register, figures, targets, reports, the audit trail
    LIST_MEMBERS = "list_members"  # lists of members, and finding them by name or id number
    RECORD_MEMBERS = "record_members"  # admit, transfer, record a departure
    RECORD = "record"  # the other register commands: units, workplaces, unions
    PLAN = "plan"  # targets and reports
    IMPORT = "import"  # bulk imports
    MOVE = "move"  # send a member to another province, accept or refuse one sent here
    ERASE = "erase"  # a member's personal data
    VERIFY = "verify"  # a report against the ledger
    DIGEST = "digest"  # the ledger's digest
    EXPORT = "export"  # the whole ledger, for the offline audit
    MANAGE = "manage"  # the tenant's users and tokens
    ACCESS_LOG = "access_log"  # who got in, who was refused
    OWN_ACCOUNT = "own_account"  # a user's own password and session (every tenant role; the call checks whose)
    LOG_IN = "log_in"  # open a session with a password: no principal yet, so no role has it


_READING = {Action.READ, Action.LIST_MEMBERS}
_OWN = {Action.OWN_ACCOUNT}  # every tenant role: its users change their own passwords and log out
PERMISSIONS: dict[str, frozenset[Action]] = {
    PLATFORM_ADMIN: frozenset({Action.PLATFORM}),
    NATIONAL: frozenset({Action.NATIONAL}),
    "federation_admin": frozenset(set(Action) - {Action.PLATFORM, Action.NATIONAL, Action.LOG_IN}),
    "officer": frozenset(
        _READING | _OWN | {Action.RECORD_MEMBERS, Action.RECORD, Action.PLAN, Action.IMPORT, Action.MOVE}
    ),
    "clerk": frozenset(_READING | _OWN | {Action.RECORD_MEMBERS}),
    "inspector": frozenset(_READING | _OWN | {Action.VERIFY, Action.DIGEST}),
    "auditor": frozenset(_READING | _OWN | {Action.DIGEST, Action.EXPORT, Action.ACCESS_LOG}),
    "viewer": frozenset(_OWN | {Action.READ}),
}
UNSCOPED_ROLES = frozenset({"federation_admin", "auditor"})  # they work on the whole tenant: never scoped
SEES_PERSONAL_DATA = frozenset(ROLES) - {"viewer"}  # viewers and national principals never do


def may(role: str, action: Action) -> bool:
    """Whether a principal of ``role`` may perform ``action``."""
    return action in PERMISSIONS.get(role, frozenset())


def sees_arrivals_personal_data(role: str, scope_unit_id: str | None) -> bool:
    """Whether a principal sees the personal data of members other provinces propose to send here.

    Every officer of the receiving tenant sees the proposals (a proposal lies in no unit yet, and any
    of them may accept it into its own subtree), but a proposal's name, birth date and id number go
    only to those who see personal data and work on the whole tenant: a scoped officer finds the
    member by the sending province's member id (on her card, checked with POST /v1/cards/verification)
    and sees her personal data once it has accepted her into its scope."""
    return role in SEES_PERSONAL_DATA and scope_unit_id is None
