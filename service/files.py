"""Lists, figures and progress as CSV or XLSX files, asked by ``format=csv|xlsx`` or the ``Accept``
type: every page in one file, the columns named by the JSON answer's codes.

A file is streamed: the list is read a page at a time by its cursor and each page written out
before the next is read, so a million members never sit in memory at once. A CSV leaves as it is
written; an XLSX (a zip, whose directory comes last) is written row by row by openpyxl's
write-only workbook to a temporary file, then streamed from it.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from flask import Response, request, stream_with_context
from marshmallow import Schema
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from application.reads import Page
from domain.labels import label
from service.schemas import EntityMeta, FormatField

JSON = "application/json"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"json": JSON, "csv": CSV, "xlsx": XLSX}
FILE_PAGE = 5000  # items read per page while a file is written: few round trips, bounded memory
FLUSH_BYTES = 1 << 16  # a CSV leaves in pieces of about this size


class FormatQuery(Schema):
    """What a call that also answers files takes."""

    format = FormatField()


def wanted(args: dict) -> str:
    """``json``, ``csv`` or ``xlsx``: the ``format`` argument (taken out of ``args``), else the
    ``Accept`` type where it names a file's type exactly, else JSON."""
    chosen = args.pop("format", None)
    if chosen is not None:
        return chosen
    best = request.accept_mimetypes.best_match([JSON, CSV, XLSX], default=JSON)
    if best != JSON and not any(value == best for value, _q in request.accept_mimetypes):
        return "json"  # text/* or */* alone asks for no file
    return {CSV: "csv", XLSX: "xlsx"}.get(best, "json")


def documented(blp: Any) -> Callable:
    """The OpenAPI description of the file answers beside the JSON one."""

    def decorate(view: Callable) -> Callable:
        view = blp.alt_response(
            200,
            content_type=CSV,
            success=True,
            description="With `format=csv` or `Accept: text/csv`: every page as CSV (UTF-8, a header row of codes)",
            schema={"type": "string"},
        )(view)
        return blp.alt_response(
            200,
            content_type=XLSX,
            success=True,
            description="With `format=xlsx` or the XLSX `Accept` type: every page as one sheet, "
            "a row of codes then a row of Vietnamese headings",
            schema={"type": "string", "format": "binary"},
        )(view)

    return decorate


# ---- what goes into a file ----------------------------------------------------------------------
def columns_of(schema: type[Schema]) -> list[str]:
    """A list's columns: its item's JSON fields, its own first and the bookkeeping ones last."""
    names = list(schema().fields)
    meta = [n for n in EntityMeta().fields if n in names]
    return [n for n in names if n not in meta] + meta


def walk(first: Page, more: Callable[[str], Page]) -> Iterator[dict]:
    """Every item of a list, from its first page (read before the answer starts, so that a bad
    filter is still a 404 or 422) through the pages after, each read by the cursor of the one before."""
    page = first
    while True:
        yield from page.items
        if page.next is None:
            return
        page = more(page.next)


def item_rows(items: Iterable[dict], columns: Sequence[str]) -> Iterator[list]:
    for item in items:
        yield [item.get(c) for c in columns]


def filename(*parts: Any) -> str:
    """A file's name from its parts (tenant, kind, date...): characters safe everywhere."""
    name = "-".join(str(p) for p in parts if p not in (None, ""))
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def answer(fmt: str, columns: Sequence[str], rows: Iterable[Sequence], name: str, sheet: str) -> Response:
    """The streamed file of ``rows`` (values in ``columns``' order) as an attachment ``name``.``fmt``."""
    body = _csv(columns, rows) if fmt == "csv" else _xlsx(columns, rows, sheet)
    mimetype = FORMATS[fmt]
    response = Response(stream_with_context(body), mimetype=mimetype)
    if fmt == "csv":
        response.mimetype_params["charset"] = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


# ---- CSV ----------------------------------------------------------------------------------------------
def _csv_value(value: Any) -> Any:
    """As the JSON answer writes it: true/false, instants in ISO 8601 (dates already are, numbers
    by str(), None as an empty field by the csv module)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _csv(columns: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        if buffer.tell() >= FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


# ---- XLSX ---------------------------------------------------------------------------------------------
def _xlsx_value(value: Any) -> Any:
    """Numbers, dates and booleans as Excel's own; an instant as ISO 8601 text (Excel holds no offset)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _xlsx(columns: Sequence[str], rows: Iterable[Sequence], sheet: str) -> Iterator[bytes]:
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(sheet[:31])
    bold = Font(bold=True)
    for heading in (list(columns), [label(c) for c in columns]):
        cells = []
        for text in heading:
            cell = WriteOnlyCell(ws, value=text)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
    for row in rows:
        ws.append([_xlsx_value(v) for v in row])
    with tempfile.TemporaryFile() as out:
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(1 << 16):
            yield chunk


def list_file(fmt: str, kind: str, item: type[Schema], args: dict, read: Callable[..., Page], tenant: str) -> Response:
    """A whole list as a file: ``read`` (a ``*_page`` read) walked from the first page to the last
    with the list's filters, ``limit`` and ``after`` aside (a file holds every page)."""
    filters = {k: v for k, v in args.items() if k not in ("limit", "after")}
    columns = columns_of(item)
    first = read(**filters, limit=FILE_PAGE)
    items = walk(first, lambda after: read(**filters, after=after, limit=FILE_PAGE))
    return answer(fmt, columns, item_rows(items, columns), filename(tenant, kind, filters.get("as_of")), kind)


TOTAL = "Tổng cộng"  # the name of a figures file's total row, whose key is empty


def figures_file(fmt: str, figures: dict, tenant: str) -> Response:
    """An /indicators answer as a file: one row per group (with ``group_by``), then the total row;
    each row says the question (period, unit, as_of, known_at) and has a column per code."""
    codes = list(figures["figures"])
    question = [figures["period"], figures["unit_id"], figures["as_of"], figures["known_at"]]
    columns = ["period", "unit_id", "as_of", "known_at", "key", "name", *codes]
    groups = figures.get("groups") or []
    rows = [[*question, g["key"], g["name"], *(g["figures"].get(c) for c in codes)] for g in groups]
    rows.append([*question, None, TOTAL, *(figures["figures"][c] for c in codes)])
    name = filename(tenant, "indicators", figures["period"], figures["unit_id"], figures["as_of"])
    return answer(fmt, columns, rows, name, "indicators")


PROGRESS_LINE = ("target_id", "indicator", "target", "actual", "achieved_pct", "expected_to_date", "status")


def progress_file(fmt: str, progress: dict, tenant: str) -> Response:
    """A /targets/progress answer as a file: a row per target, each saying the period, unit and as_of."""
    columns = ["period", "unit_id", "as_of", *PROGRESS_LINE]
    question = [progress["period"], progress["unit_id"], progress["as_of"]]
    rows = [[*question, *(line.get(c) for c in PROGRESS_LINE)] for line in progress["lines"]]
    name = filename(tenant, "progress", progress["period"], progress["unit_id"], progress["as_of"])
    return answer(fmt, columns, rows, name, "progress")
