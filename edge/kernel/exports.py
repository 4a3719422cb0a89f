"""Lists as files for 公示 and for supervisors: CSV (UTF-8 with a BOM, so Excel reads the Chinese) and XLSX.

One helper for every list: the ledger's CSV, each part's exports (``Part.exports``) and the notice board
all write their columns and rows through here, so a cell reads the same in every file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook

BOM = "\ufeff"  # first in a CSV file: Excel then reads it as UTF-8
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
_SHEET_TITLE_CHARS = 31  # Excel's limit on a sheet's name


@dataclass(frozen=True)
class ExportFile:
    data: bytes
    media_type: str
    filename: str


def cell(value: Any) -> str | int:
    """A value as a cell: integers stay numbers (sums in a spreadsheet), None is empty, the rest is text."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV lines (CRLF, as Excel writes them); a streamed file starts with :data:`BOM` once."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([cell(v) for v in row] for row in rows)
    return buf.getvalue()


def xlsx_bytes(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """One sheet: the column headers, then the rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:_SHEET_TITLE_CHARS] or "Sheet1")
    sheet.append(list(columns))
    for row in rows:
        sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_file(fmt: str, name: str, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> ExportFile:
    """The list as a file to download: ``fmt`` is ``csv`` or ``xlsx``; ValueError for another."""
    if fmt == "csv":
        return ExportFile((BOM + csv_text([columns, *rows])).encode("utf-8"), CSV_TYPE, f"{name}.csv")
    if fmt == "xlsx":
        return ExportFile(xlsx_bytes(title, columns, rows), XLSX_TYPE, f"{name}.xlsx")
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
