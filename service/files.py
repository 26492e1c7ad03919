"""Lists, figures and progress as CSV or XLSX files, asked by ``format=csv|xlsx`` or the ``Accept``
type: every page in one file, the columns named by the JSON answer's codes.

A file is streamed: the list is read a page at a time by its cursor, each page written out while
the next one is read, so a million members never sit in memory at once. A CSV leaves as it is
written; an XLSX (a zip, whose directory comes last) is written row by row by openpyxl's
write-only workbook to a temporary file, then streamed from it.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import islice
from typing import Any

from flask import Response, request, stream_with_context
from marshmallow import Schema, fields
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from application.reads import Page
from domain.labels import label
from service.schemas import EntityMeta

JSON = "application/json"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"json": JSON, "csv": CSV, "xlsx": XLSX}
FILE_PAGE = 5000  # items read per page while a file is written: few round trips, bounded memory
FLUSH_BYTES = 1 << 16  # a CSV leaves in pieces of about this size


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


ANSWERS = (
    "JSON by default; with `format=csv` (or `Accept: text/csv`) every page in one CSV file (UTF-8, a"
    " header row of the fields' codes); with `format=xlsx` (or the XLSX `Accept` type) one sheet, a row"
    " of codes then a row of Vietnamese headings. A file comes as an attachment (Content-Disposition)."
)


def documented(blp: Any) -> Callable:
    """The OpenAPI description of the file answers beside the JSON one."""

    def decorate(view: Callable) -> Callable:
        for content_type, schema in ((CSV, {"type": "string"}), (XLSX, {"type": "string", "format": "binary"})):
            view = blp.alt_response(200, content_type=content_type, success=True, description=ANSWERS, schema=schema)(
                view
            )
        return view

    return decorate


# ---- what goes into a file ----------------------------------------------------------------------
def columns_of(schema: type[Schema]) -> list[str]:
    """A list's columns: its item's JSON fields, its own first and the bookkeeping ones last."""
    names = list(schema().fields)
    meta = [n for n in EntityMeta().fields if n in names]
    return [n for n in names if n not in meta] + meta


def walk(first: Page, more: Callable[[str], Page]) -> Iterator[Any]:
    """Every item of a list, from its first page (read before the answer starts, so that a bad
    filter is still a 404 or 422) through the pages after, each read by the cursor of the one before.
    The next page is read in a thread of its own while this one is written out: the database's
    work and the wait for it overlap with the writing."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-page") as reader:
        page = first
        while True:
            ahead = reader.submit(more, page.next) if page.next is not None else None
            yield from page.items
            if ahead is None:
                return
            page = ahead.result()


def plain(value: Any) -> Any:
    """A value as a file holds it: an instant as ISO 8601 text, as JSON writes it (Excel holds no
    offset); numbers, dates, booleans and text as they are."""
    return value.isoformat() if isinstance(value, datetime) else value


def item_rows(items: Iterable[dict], columns: Sequence[str]) -> Iterator[list]:
    for item in items:
        yield [plain(item.get(c)) for c in columns]


def filename(*parts: Any) -> str:
    """A file's name from its parts (tenant, kind, date...): characters safe everywhere."""
    name = "-".join(str(p) for p in parts if p not in (None, ""))
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def answer(
    fmt: str, columns: Sequence[str], rows: Iterable[Sequence], name: str, sheet: str, booleans: Iterable[str] = ()
) -> Response:
    """The streamed file of ``rows`` (values in ``columns``' order) as an attachment ``name``.``fmt``;
    ``booleans`` name the columns holding true or false (which a CSV writes as JSON does)."""
    body = _csv(columns, rows, set(booleans)) if fmt == "csv" else _xlsx(columns, rows, sheet)
    mimetype = FORMATS[fmt]
    response = Response(stream_with_context(body), mimetype=mimetype)
    if fmt == "csv":
        response.mimetype_params["charset"] = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


# ---- CSV ----------------------------------------------------------------------------------------------
def _csv(columns: Sequence[str], rows: Iterable[Sequence], booleans: set[str]) -> Iterator[bytes]:
    """Values as JSON writes them: booleans in lower case, None as an empty field (by the csv
    module), dates and numbers by str(); written a thousand rows to a call."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    flags = [i for i, c in enumerate(columns) if c in booleans]
    if flags:
        rows = _json_booleans(rows, flags)
    rows = iter(rows)
    while batch := list(islice(rows, 1000)):
        writer.writerows(batch)
        if buffer.tell() >= FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _json_booleans(rows: Iterable[Sequence], flags: list[int]) -> Iterator[Sequence]:
    for row in rows:
        row = list(row)
        for i in flags:
            if row[i] is not None:
                row[i] = "true" if row[i] else "false"
        yield row


# ---- XLSX ---------------------------------------------------------------------------------------------
SHEET_ROWS = 1_048_576  # the most rows a sheet of Excel holds


def _xlsx(columns: Sequence[str], rows: Iterable[Sequence], sheet: str) -> Iterator[bytes]:
    """One sheet, its two header rows then the rows; past Excel's rows a sheet, the rows go on in
    another sheet (``members 2``...) under the same headers."""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)

    def new_sheet(number: int) -> Any:
        ws = workbook.create_sheet(sheet[:28] + (f" {number}" if number > 1 else ""))
        for heading in (list(columns), [label(c) for c in columns]):
            cells = []
            for text in heading:
                cell = WriteOnlyCell(ws, value=text)
                cell.font = bold
                cells.append(cell)
            ws.append(cells)
        return ws

    sheets, room = 1, SHEET_ROWS - 2
    ws = new_sheet(sheets)
    for row in rows:
        if not room:
            sheets, room = sheets + 1, SHEET_ROWS - 2
            ws = new_sheet(sheets)
        ws.append(row)
        room -= 1
    with tempfile.TemporaryFile() as out:
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(1 << 16):
            yield chunk


def list_file(fmt: str, kind: str, item: type[Schema], args: dict, read: Callable[..., Page], tenant: str) -> Response:
    """A whole list as a file: ``read`` (a ``*_page`` read) walked from the first page to the last
    with the list's filters, ``limit`` and ``after`` aside (a file holds every page)."""
    columns = columns_of(item)
    return rows_file(fmt, kind, item, columns, args, read, tenant, lambda items: item_rows(items, columns))


def rows_file(
    fmt: str,
    kind: str,
    item: type[Schema],
    columns: Sequence[str],
    args: dict,
    read: Callable[..., Page],
    tenant: str,
    rows_of: Callable[[Iterator[Any]], Iterable[Sequence]] = lambda rows: rows,
    as_text: bool = False,
) -> Response:
    """As ``list_file``, from a read whose pages hold rows of ``columns`` (``item``'s fields) already;
    ``as_text``: a CSV's booleans are written in them already (``true``/``false``)."""
    filters = {k: v for k, v in args.items() if k not in ("limit", "after")}
    first = read(**filters, limit=FILE_PAGE)
    items = walk(first, lambda after: read(**filters, after=after, limit=FILE_PAGE))
    booleans = [] if as_text else [name for name, field in item().fields.items() if isinstance(field, fields.Boolean)]
    return answer(fmt, columns, rows_of(items), filename(tenant, kind, filters.get("as_of")), kind, booleans)


TOTAL = "Tổng cộng"  # the name of a figures file's total row, whose key is empty


def figures_file(fmt: str, figures: dict, tenant: str) -> Response:
    """An /indicators answer as a file: one row per group (with ``group_by``), then the total row;
    each row says the question (period, unit, as_of, known_at) and has a column per code."""
    codes = list(figures["figures"])
    question = [figures["period"], figures["unit_id"], figures["as_of"], plain(figures["known_at"])]
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
