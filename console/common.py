"""What every console page shares: the register of the request, the date it is about, the
language and the way figures and dates are written (Vietnamese first: 30/11/2025, 28.437)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, g, render_template, request, session
from flask_babel import Babel, format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from application.policy import Action, may
from application.register import Register
from domain.errors import DomainError, NotFound
from persistence.outage import database_away
from service.auth import tenant_register
from service.errors import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

LANGUAGES = ("vi", "en")
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    """Vietnamese unless the user switched to English (kept in the session)."""
    lang = session.get("lang")
    return lang if lang in LANGUAGES else "vi"


def configure(app: Flask) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        timezone_selector=lambda: "Asia/Ho_Chi_Minh",
        default_translation_directories=str(TRANSLATIONS),
    )
    app.jinja_env.filters.update(day=day, number=number, pct=pct, instant=instant)


def register() -> Register:
    """The signed-in user's register: the same door, with the same checks, as the API's calls."""
    return tenant_register(g.principal.tenant_id)[0]


def may_do(action: str) -> bool:
    """Whether the signed-in user's role may ``action`` (for showing only the links they may follow)."""
    who = g.get("principal")
    return who is not None and may(who.role, Action(action))


def xlsx_url(resource: str, **params: Any) -> str:
    """The API's ``format=xlsx`` answer of ``resource`` (``members``, ``indicators``, ``forms/1-hdcd``...)
    for the signed-in user's tenant: the download links of the console are the API's own files,
    read with the same role and scope (the sign-in gave the browser the API's session cookie too)."""
    from urllib.parse import urlencode

    query = {k: v for k, v in params.items() if v not in (None, "") and k not in ("after", "limit")}
    query["format"] = "xlsx"
    return f"/v1/tenants/{g.principal.tenant_id}/{resource}?{urlencode(query)}"


def page_context() -> dict[str, Any]:
    from console.messages import label, word
    from console.session import csrf_token

    return {
        "word": word,
        "label": label,
        "who": g.get("principal"),
        "may": may_do,
        "xlsx_url": xlsx_url,
        "csrf_token": csrf_token,
        "lang": str(get_locale() or "vi"),
    }


def asked_day(name: str = "as_of", default: date | None = None) -> tuple[date | None, str | None]:
    """A date from the query (YYYY-MM-DD, as an <input type=date> sends it); the error to show if unreadable."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default, None
    try:
        return date.fromisoformat(raw), None
    except ValueError:
        return default, _("Not a valid date.")


# ---- how things are written -------------------------------------------------------------------------
def day(value: date | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return format_date(value, "dd/MM/yyyy")


def instant(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_datetime(value, "dd/MM/yyyy HH:mm")


def number(value: float | int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return format_decimal(value, "#,##0.0")
    return format_decimal(int(value), "#,##0")


def pct(value: float | int | None) -> str:
    return "—" if value is None else f"{format_decimal(value, '#,##0.0')}%"


# ---- errors as pages ---------------------------------------------------------------------------------
def register_errors(bp: Blueprint) -> None:
    bp.register_error_handler(NotFound, lambda e: (render_template("console/error.html", status=404), 404))
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(DomainError, refused)
    bp.register_error_handler(Exception, unexpected)


def refused(error: DomainError):
    """A refusal no form caught (a date or code in the address the register does not take): said in words."""
    from console.messages import explain

    message = explain(error.message, error.rule)
    return render_template("console/error.html", status=422, message=message), 422


def unavailable(error: Exception):
    log.warning("store unavailable: %s: %s", type(error).__name__, error)
    return render_template("console/error.html", status=503), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def unexpected(error: Exception):
    """A failure of the service: logged, and a page that says so (never the API's JSON to a browser);
    the database away (persistence.outage.database_away, whatever it was wrapped in): 503, as
    nothing the user did; the same page will do later."""
    if database_away(error):
        return unavailable(error)
    log.exception("unexpected error in the console", exc_info=error)
    return render_template("console/error.html", status=500), 500


def http_error(error: HTTPException):
    return render_template("console/error.html", status=error.code), error.code or 500
