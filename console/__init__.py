"""The web console: the register's pages for the federation's staff, served by the same service at ``/``.

Server-rendered pages on top of the API's own use cases (application/register.py, reads.py) and
access policy (application/policy.py): a view is allowed exactly what its user's role allows.
One module per page family; the shared pieces (the session, the register of a request,
formatting) live in ``session`` and ``common``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask

from console import (
    account,
    admin,
    audit,
    breakdowns,
    common,
    dashboard,
    forms,
    imports,
    login,
    national,
    register,
    reports,
    session,
)
from service import access

HERE = Path(__file__).parent
bp = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)
for family in (login, dashboard, register, forms, reports, imports, audit, admin, national):
    bp.register_blueprint(family.bp)
for family in (breakdowns, account):  # the breakdowns by sector and gender; a user's own account
    bp.register_blueprint(family.bp)
bp.before_request(session.authenticate)
bp.app_context_processor(common.page_context)
common.register_errors(bp)


def install(app: Flask) -> None:
    """Serve the console at ``/``: its blueprints, its translations, its session key."""
    session.configure(app)
    common.configure(app)
    app.register_blueprint(bp)


def is_console(endpoint: str | None) -> bool:
    """Whether a request's endpoint is a console page (signed in with the console's session, not a bearer token)."""
    return endpoint is not None and endpoint.startswith("console.")


def undeclared(app: Flask) -> list[str]:
    """Console pages that declare neither an action nor that they are public: the app does not start with any."""
    views = [(e, v) for e, v in app.view_functions.items() if is_console(e) and e != "console.static"]
    return sorted(e for e, v in views if not hasattr(v, access.ACTION) and not getattr(v, session.PUBLIC, False))
