"""Signing in and out, and the language switch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from console import session as console_session
from console.common import LANGUAGES
from console.session import LoginLocked, LoginRefused, public

bp = Blueprint("login", __name__)


def _safe_next(target: str | None) -> str:
    """Back to the page asked for, on this site only."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("console.dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
@public
def form():
    """The sign-in form (tenant, username, password); on success, the page the user wanted."""
    error, status, headers = None, 200, {}
    if request.method == "POST":
        try:
            console_session.log_in(
                request.form.get("tenant", ""), request.form.get("username", ""), request.form.get("password", "")
            )
        except LoginRefused:
            error, status = _("Wrong username or password."), 401
        except LoginLocked as locked:
            minutes = max(1, -(-locked.wait // 60))
            error = _("Too many failed sign-ins for this account; try again in %(minutes)s minutes.", minutes=minutes)
            status, headers = 429, {"Retry-After": str(locked.wait)}
        else:
            return redirect(_safe_next(request.args.get("next")))
    expired = session.pop("expired", False)
    page = render_template(
        "console/login.html",
        error=error,
        expired=expired,
        tenant=request.form.get("tenant", ""),
        username=request.form.get("username", ""),
    )
    return page, status, headers


@bp.route("/login/national", methods=["GET", "POST"])
@public
def national():
    """The national federation's sign-in, with a national token; on success, the national figures."""
    error, status = None, 200
    if request.method == "POST":
        try:
            console_session.log_in_national(request.form.get("token", ""))
        except LoginRefused:
            error, status = _("This is not a national token."), 401
        else:
            return redirect(url_for("console.national.index"))
    return render_template("console/login_national.html", error=error), status


@bp.route("/logout", methods=["POST"])
@public
def logout():
    console_session.log_out()
    return redirect(url_for("console.login.form"))


@bp.route("/lang/<lang>", methods=["POST"])
@public
def switch(lang: str):
    """Vietnamese or English, kept for the session."""
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("back")))
