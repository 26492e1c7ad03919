"""Imports: upload a workbook or CSV files, see every bad row with its sheet, line, column and rule
(nothing is written then), or the rows imported. The same reading and the same use case as
``POST /imports``."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request

from application.policy import Action
from console.common import register
from console.messages import explain
from domain.errors import DomainError
from domain.imports import KINDS
from service.access import allow
from service.importing import read_imports
from service.limits import upload

bp = Blueprint("imports", __name__)


@bp.route("/imports", methods=["GET", "POST"])
@allow(Action.IMPORT)
@upload
def index():
    """The upload form; on a POST, the rows checked and (only if none is wrong) imported."""
    result, rows, total, error = None, [], 0, None
    if request.method == "POST":
        files = [f for f in request.files.getlist("file") if f.filename]
        kind = request.form.get("kind") or None
        if not files:
            error = explain("Missing data for required field.")
        else:
            settings = current_app.extensions["unionledger"].settings
            try:
                sheets = read_imports([(f.stream, f.filename or "") for f in files], kind)
                plan = register().import_rows(
                    sheets, actor=g.principal.actor, wait=settings.lock_wait_seconds, errors_kept=settings.import_errors
                )
            except DomainError as refused:
                error = explain(refused.message, refused.rule)
            else:
                if plan.errors:
                    rows = [
                        {"sheet": e.sheet, "line": e.line, "column": e.column, "rule": e.rule,
                         "message": explain(e.message, e.rule)}
                        for e in plan.errors
                    ]  # fmt: skip
                    total = plan.errors_total
                else:
                    result = {"created": {k: len(v) for k, v in plan.creates.items()}, "skipped": plan.skipped}
    status = 422 if (rows or error) else 200
    template = "console/import_result.html" if request.headers.get("HX-Request") else "console/imports.html"
    return render_template(template, kinds=KINDS, result=result, rows=rows, total=total, error=error), status
