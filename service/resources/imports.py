"""Bulk imports of workplaces, unions and members from CSV or XLSX."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from application.policy import Action
from domain.imports import KINDS
from service.access import allow
from service.auth import platform, tenant_register
from service.bodies import Blueprint
from service.errors import problem
from service.importing import read_imports
from service.limits import upload
from service.schemas import Text


class _MultipartParser(FlaskParser):
    """Reads a multipart form's fields and files as one schema (location ``multipart``)."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class _MultipartBlueprint(Blueprint):
    """A blueprint whose multipart forms are documented as one request body, files and fields
    together: two ``arguments`` (files, then form) would document the form's fields as
    parameters ``in: formData``, which OpenAPI 3 does not have."""

    ARGUMENTS_PARSER = _MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }


blp = _MultipartBlueprint(
    "imports",
    __name__,
    url_prefix="/v1/tenants/<tenant>/imports",
    description="Bulk import: every row of every file is checked first; nothing is written if one is wrong",
)


class _FilePart(Upload):
    """A file part of the form; a text field of the same name is refused (422), not read as a file."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("must be a file part of the form (a CSV or XLSX file), not a text field")
        return value


class ImportUpload(Schema):
    file = fields.List(
        _FilePart(),
        required=True,
        validate=validate.Length(min=1),
        metadata={
            "description": "A CSV file (one kind) or an XLSX workbook with sheets workplaces, unions, members, "
            "ratings, womens_committees, dues, training, agreements, conferences, cards; columns named as in the "
            "API. Several files (say workplaces.csv, unions.csv and members.csv) are one "
            "import, checked and written together; each kind may come from one file only"
        },
    )
    kind = Text(
        load_default=None,
        validate=validate.OneOf(KINDS),
        metadata={"description": "For a lone CSV file: what it holds (else taken from its name)"},
    )


class ImportResult(Schema):
    created = fields.Dict(keys=fields.String(), values=fields.Integer())
    skipped = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "Rows whose id exists with the same content; records their entity holds "
            "already with the same values"
        },
    )


@blp.route("", methods=["POST"])
@allow(Action.IMPORT)
@upload
@blp.arguments(ImportUpload(), location="multipart")
@blp.response(201, ImportResult)
def import_file(form: dict, tenant: str):
    """Import a file (or several) of workplaces, unions, members and the plans' other records

    Rows are checked with the same rules as the single commands, workplaces first, then unions,
    then members, then ratings, women's committees, dues, training, agreements, conferences and
    cards (each may refer to rows before them). If any row is wrong, nothing is written and
    the answer (422) lists the first bad rows (100 unless `UNIONLEDGER_IMPORT_ERRORS` says otherwise)
    in `rows`, each with its sheet, line, column and rule, and counts them all in `rows_total`. A
    row whose id exists with the same content is skipped, so a file can be imported again. The
    events are those the single commands record, and the views are current when the answer comes.
    """
    register, who = tenant_register(tenant)
    sheets = read_imports([(file.stream, file.filename) for file in form["file"]], form["kind"])
    settings = platform().settings
    plan = register.import_rows(
        sheets, actor=who.actor, wait=settings.lock_wait_seconds, errors_kept=settings.import_errors
    )
    if plan.errors:
        rows = [
            {"sheet": e.sheet, "line": e.line, "column": e.column, "rule": e.rule, "message": e.message}
            for e in plan.errors
        ]
        listed = "" if len(rows) == plan.errors_total else f" (the first {len(rows)} are listed)"
        return problem(
            422,
            "Rows refused",
            f"{plan.errors_total} row(s) are wrong{listed}; nothing was imported",
            {"file": [f"{r['sheet']} line {r['line']}, {r['column']}: {r['message']}" for r in rows]},
            rows=rows,
            rows_total=plan.errors_total,
        )
    return {"created": {k: len(v) for k, v in plan.creates.items()}, "skipped": plan.skipped}
