"""The demo province's users: one of each role, with one known password, to log in with
(``POST /v1/sessions``) and see what each role and scope may do."""

from __future__ import annotations

from typing import Any

DEMO_PASSWORD = "demo-password"
# (username, full name, role, scope unit, what the scope is)
DEMO_USERS = (
    ("admin", "Nguyễn Văn Hùng", "federation_admin", None, "the whole province"),
    ("officer.giolinh", "Lê Thị Hoa", "officer", "u-gl", "Gio Linh district, until it closed on 2025-07-01"),
    ("clerk.khesanh", "Trần Văn Nam", "clerk", "u-hh-1", "Khe Sanh commune, from 2025-07-01"),
    ("inspector", "Phạm Thị Mai", "inspector", None, "the whole province"),
    ("auditor", "Hoàng Văn Đức", "auditor", None, "the whole province"),
    ("viewer.kkt", "Võ Thị Lan", "viewer", "u-kkt", "the economic zone's union"),
)


def ensure_demo_users(registry: Any, tenant_id: str) -> list[tuple[str, str, str]]:
    """Add the demo users the tenant lacks; returns each one's username, role and scope, as said to a reader."""
    from tenants.passwords import hash_password

    for username, full_name, role, scope, _said in DEMO_USERS:
        if registry.user(tenant_id, username) is None:
            user = {"username": username, "full_name": full_name, "role": role, "scope_unit_id": scope}
            registry.add_user(tenant_id, user, hash_password(DEMO_PASSWORD), actor="demo", address=None)
    return [
        (username, role, f"{scope}: {said}" if scope else said) for username, _name, role, scope, said in DEMO_USERS
    ]
