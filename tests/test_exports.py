"""Every public list is exported the same way: CSV with a BOM (Excel reads the Chinese) and XLSX."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from edge.kernel.exports import BOM, CSV_TYPE, XLSX_TYPE, export_file

COLUMNS = ("姓名", "工种", "金额（分）", "备注")
ROWS = [("张伟", "保洁", 12_000, None), ("李明", "木工, 油漆", 0, '含"引号"')]


def test_csv_starts_with_a_bom_and_reads_back_as_written() -> None:
    f = export_file("csv", "attendance", "出勤表", COLUMNS, ROWS)
    assert f.media_type == CSV_TYPE and f.filename == "attendance.csv"
    text = f.data.decode("utf-8")
    assert text.startswith(BOM) and "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    assert rows == [list(COLUMNS), ["张伟", "保洁", "12000", ""], ["李明", "木工, 油漆", "0", '含"引号"']]


def test_xlsx_has_the_headers_and_numbers_stay_numbers() -> None:
    f = export_file("xlsx", "attendance", "出勤表", COLUMNS, ROWS)
    assert f.media_type == XLSX_TYPE and f.filename == "attendance.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(f.data)).active
    assert sheet.title == "出勤表"
    assert list(sheet.values) == [COLUMNS, ("张伟", "保洁", 12_000, None), ("李明", "木工, 油漆", 0, '含"引号"')]


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        export_file("pdf", "x", "x", COLUMNS, ROWS)
