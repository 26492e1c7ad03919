"""Forms of Decision 1454/QĐ-TLĐ: 1-HĐCĐ (a grassroots union) and 2-HĐCĐ (an upper level, or the
whole tenant), filled from the ledger, as JSON or as the paper form's sheet."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import Response
from marshmallow import Schema, fields, validate
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from application import forms
from application.policy import Action
from domain.forms import FORMS
from service import files
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.schemas import Text

blp = Blueprint(
    "forms",
    __name__,
    url_prefix="/v1/tenants/<tenant>/forms",
    description="The statistical forms of Decision 1454/QĐ-TLĐ, filled from the ledger",
)


class FormQuery(Schema):
    year = fields.Integer(required=True, metadata={"description": "The report's year"})
    as_of = fields.Date(
        load_default=None,
        metadata={"description": "The cut-off, within `year`; default 30 November (today, until then)"},
    )
    format = Text(
        load_default=None,
        validate=validate.OneOf(["json", "xlsx"], error="must be one of: json, xlsx"),
        metadata={"description": "`xlsx`: the paper form's sheet (default: the `Accept` type, else JSON)"},
    )


class UnionFormQuery(FormQuery):
    union_id = Text(required=True, metadata={"description": "The grassroots union reporting"})


class UpperFormQuery(FormQuery):
    unit_id = Text(load_default=None, metadata={"description": "The upper-level union; omit for the whole tenant"})


class FormRowOut(Schema):
    code = fields.String(metadata={"description": "The row's code (an indicator code where the register fills it)"})
    label = fields.String(metadata={"description": "Nội dung: the line as the paper form words it"})
    unit = fields.String(metadata={"description": "Đơn vị tính"})
    value = fields.Raw(
        allow_none=True, metadata={"description": "Số lượng; null where the register keeps no such figure"}
    )
    note = fields.String(allow_none=True, metadata={"description": "Ghi chú"})


class FormOut(Schema):
    form = fields.String(metadata={"description": "1-hdcd or 2-hdcd"})
    number = fields.String(metadata={"description": "As printed: Mẫu 1-HĐCĐ"})
    title = fields.String()
    year = fields.Integer()
    as_of = fields.Date(metadata={"description": "The cut-off: stocks at it, flows over the year's days up to it"})
    union_id = fields.String(allow_none=True)
    unit_id = fields.String(allow_none=True)
    name = fields.String(allow_none=True, metadata={"description": "The union's or unit's name (null: the tenant)"})
    rows = fields.List(fields.Nested(FormRowOut))


def _documented(view: Any) -> Any:
    return blp.alt_response(
        200,
        content_type=files.XLSX,
        success=True,
        description="JSON by default; with `format=xlsx` (or the XLSX `Accept` type) the form laid out as on"
        " paper: title, reporting unit, cut-off, then Nội dung / Đơn vị tính / Số lượng / Ghi chú (an attachment)",
        schema={"type": "string", "format": "binary"},
    )(view)


def _answer(form: dict, fmt: str, tenant: str) -> Any:
    if fmt != "xlsx":
        return form
    name = files.filename(tenant, form["form"], form["union_id"] or form["unit_id"], form["year"])
    response = Response(sheet(form, tenant), mimetype=files.XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


def _format(args: dict) -> str:
    fmt = files.wanted(args)
    return "xlsx" if fmt == "xlsx" else "json"  # a form has no CSV: JSON unless XLSX is asked


@blp.route("/1-hdcd", methods=["GET"])
@allow(Action.READ)
@blp.arguments(UnionFormQuery(), location="query")
@blp.response(200, FormOut)
@_documented
def union_form(args: dict, tenant: str):
    """Form 1-HĐCĐ: a grassroots union's yearly statistics

    The members' rows (total, admitted, left, net growth in the year up to `as_of`) and the share of
    the workplace's workers who are members are filled from the ledger; the workers' rows (wages,
    contracts, insurance, disputes, strikes) are not kept in the register and come back null.
    """
    fmt = _format(args)
    register, _ = tenant_register(tenant)
    form = forms.fill(register.reads, "1-hdcd", args["year"], args["as_of"], union_id=args["union_id"])
    return _answer(form, fmt, tenant)


@blp.route("/2-hdcd", methods=["GET"])
@allow(Action.READ)
@blp.arguments(UpperFormQuery(), location="query")
@blp.response(200, FormOut)
@_documented
def upper_form(args: dict, tenant: str):
    """Form 2-HĐCĐ: an upper-level union's (or the tenant's) consolidated yearly statistics

    Unions (total, founded, dissolved), eligible and covered workplaces, coverage, members and their
    share of the workers where a union is are filled from the ledger, counted under the unit as the
    structure stood; the workers' rows are not kept in the register and come back null.
    """
    fmt = _format(args)
    register, _ = tenant_register(tenant)
    form = forms.fill(register.reads, "2-hdcd", args["year"], args["as_of"], unit_id=args["unit_id"])
    return _answer(form, fmt, tenant)


HEADINGS = ("Nội dung", "Đơn vị tính", "Số lượng", "Ghi chú")


def sheet(form: dict, tenant: str) -> bytes:
    """The form as on paper: who reports and the form's number, the title, the year and cut-off,
    then the four columns."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = FORMS[form["form"]].number.replace("Mẫu ", "")
    bold, thin = Font(bold=True), Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws["A1"] = f"Đơn vị báo cáo: {form['name'] or tenant}"
    ws["D1"] = form["number"]
    ws["D1"].font = bold
    ws["D1"].alignment = Alignment(horizontal="right")
    ws.merge_cells("A3:D3")
    ws["A3"] = form["title"]
    ws["A3"].font = Font(bold=True, size=13)
    ws["A3"].alignment = Alignment(horizontal="center", wrap_text=True)
    ws.row_dimensions[3].height = 36
    ws.merge_cells("A4:D4")
    as_of: date = form["as_of"]
    ws["A4"] = f"Năm {form['year']} - Thời điểm báo cáo: {as_of:%d/%m/%Y}"
    ws["A4"].font = Font(italic=True)
    ws["A4"].alignment = Alignment(horizontal="center")
    ws.append([])
    ws.append(list(HEADINGS))
    for cell in ws[ws.max_row]:
        cell.font, cell.border = bold, box
        cell.alignment = Alignment(horizontal="center")
    for row in form["rows"]:
        ws.append([row["label"], row["unit"], row["value"], row["note"]])
        for cell in ws[ws.max_row]:
            cell.border = box
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCD", (60, 18, 14, 30)):
        ws.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
