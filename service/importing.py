"""Reading import files: CSV (one kind per file) or XLSX (one sheet per kind)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import PurePath
from typing import IO, Any

from domain.errors import InvalidValue
from domain.imports import KINDS

Sheets = dict[str, list[tuple[int, dict[str, Any]]]]


def kind_from_name(filename: str) -> str | None:
    stem = PurePath(filename or "").stem.lower()
    return next((k for k in KINDS if stem == k or stem.endswith("-" + k) or stem.endswith("_" + k)), None)


def _rows(header: list[Any], rows, first_line: int) -> list[tuple[int, dict[str, Any]]]:
    names = [str(h).strip() if h is not None else "" for h in header]
    out = []
    for line, values in enumerate(rows, start=first_line):
        if values is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        out.append((line, {name: value for name, value in zip(names, values) if name}))
    return out


def read_csv(stream: IO[bytes], kind: str) -> Sheets:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidValue("the file is empty", field="file") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise InvalidValue(f"not a readable UTF-8 CSV file: {error}", field="file") from None
    try:
        return {kind: _rows(header, reader, 2)}
    except (UnicodeDecodeError, csv.Error) as error:
        raise InvalidValue(f"not a readable UTF-8 CSV file: {error}", field="file") from None


def _cell(value: Any) -> Any:
    """A cell as openpyxl reads it: empty as None, a whole number as an int (calamine gives every
    number as a float, so an id number typed as a number would read as "38190000001.0")."""
    if value == "":
        return None
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def read_xlsx(stream: IO[bytes]) -> Sheets:
    """Every worksheet's rows, the first row naming the columns. Read with calamine (Rust): a
    province's workbook of hundreds of thousands of members reads in seconds, not minutes."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    try:
        book = CalamineWorkbook.from_filelike(stream)
        sheets: Sheets = {}
        for meta in book.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            # From A1, as a spreadsheet numbers its lines, not from the first cell with a value.
            rows = [
                [_cell(v) for v in row] for row in book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
            ]
            if rows:
                sheets[meta.name.strip().lower()] = _rows(rows[0], rows[1:], 2)
        book.close()
    except Exception as error:  # noqa: BLE001 - calamine raises many kinds for a bad file
        raise InvalidValue(
            f"not a readable XLSX workbook ({_reason(error)}): save it from the spreadsheet as an"
            " Excel workbook (.xlsx) and send it again",
            field="file",
        ) from None
    return sheets


def _reason(error: Exception) -> str:
    """The reader's own words on a bad workbook ("cannot detect file format"), on one line."""
    words = " ".join(str(error).split())
    return (words[:1].lower() + words[1:])[:200] if words else "unknown format"


def read_imports(files: Sequence[tuple[IO[bytes], str]], kind: str | None = None) -> Sheets:
    """The rows by kind of one import made of several files (say a CSV file per kind), checked
    and written together: each kind may come from one file only. ``kind`` names what a lone CSV
    file holds; with several files, their names (or their sheets) say it."""
    if len(files) > 1 and kind is not None:
        raise InvalidValue(
            "name what several files hold by their names (workplaces.csv, unions.csv, members.csv), not by one kind",
            field="kind",
        )
    sheets: Sheets = {}
    source: dict[str, str] = {}
    for stream, filename in files:
        for sheet, rows in read_import(stream, filename, kind).items():
            if sheet in sheets and sheet in KINDS:
                raise InvalidValue(
                    f"{sheet} come from two files ({source[sheet]} and {filename}): send each kind once", field="file"
                )
            if sheet not in sheets:  # a sheet of no kind is reported by the check, once
                sheets[sheet], source[sheet] = rows, filename
    return sheets


def read_import(stream: IO[bytes], filename: str, kind: str | None = None) -> Sheets:
    """The rows of an import file by kind; the kind of a CSV comes from ``kind`` or its name."""
    if (filename or "").lower().endswith(".xlsx"):
        return read_xlsx(stream)
    kind = kind or kind_from_name(filename)
    if kind not in KINDS:
        raise InvalidValue(
            f"say which kind {PurePath(filename).name if filename else 'a CSV file'} holds"
            f" ({', '.join(KINDS)}): by a file name such as members.csv or, for a lone file,"
            " by the kind field",
            field="kind",
        )
    return read_csv(stream, kind)
