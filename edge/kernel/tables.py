"""Reading the rows of a table a village user uploads (CSV or XLSX), bounded, any problem refused in Chinese.

One reading for every part that takes a spreadsheet from a page. A CSV's bytes must hold no NUL (binary, or
UTF-16) and decode as UTF-8 or GB18030 (Excel in China saves CSV as GBK unless asked otherwise); its quoting is
read strictly, so a quote left open is refused at its line rather than swallowing the rest of the file into one
cell. An XLSX is a zip: its entries are counted and their declared unpacked size summed before openpyxl opens it
(a zip bomb is refused unread; zipfile stops at the declared size). Rows are yielded one at a time, numbered as
the user sees them in Excel (第 N 行), so a large bank statement is never held whole; past ``Limits.rows`` the
file is refused, and a row's cells past ``Limits.columns`` must be empty and are cut off (an Excel export often
carries blank trailing cells; a row as wide as the sheet's declared size must not be kept).

Every refusal is a :class:`TableError` whose message a page may show as it is: Chinese, with the line where there
is one, never the library's English (csv's and openpyxl's messages stay out of it).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from openpyxl import load_workbook

Kind = Literal["csv", "xlsx"]
Row = Sequence[object]


@dataclass(frozen=True)
class Limits:
    """How much of an uploaded table is read before it is refused; each part sets its own."""

    rows: int  # lines of the file, the header and blank lines among them
    columns: int  # cells of a row that may hold something
    unpacked_bytes: int  # an XLSX's entries unpacked, all together
    zip_entries: int = 200  # an XLSX written by Excel or WPS has a few dozen


class TableError(ValueError):
    """A table refused; ``message`` is Chinese, for the page as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TooManyRows(TableError):
    """Past ``Limits.rows``: a part says it in its own words (how many 户, or to split the statement by year)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"行数过多：一个文件最多 {limit} 行")
        self.limit = limit


_BROKEN_XLSX = "无法读取 XLSX 文件：这个 XLSX 文件已损坏，或不是 Excel 表格。请重新导出。"


def read_table(data: bytes, kind: Kind, limits: Limits) -> Iterator[tuple[int, Row]]:
    """The rows of ``data`` read as ``kind``, each with its line number (from 1); :class:`TableError` for a file
    that cannot be read or is past ``limits``, raised as the rows are read (a generator: nothing before the first)."""
    rows = _csv(data) if kind == "csv" else _xlsx(data, limits)
    for n, row in enumerate(rows, 1):
        if n > limits.rows:
            raise TooManyRows(limits.rows)
        yield n, _within(row, n, limits.columns)


def _within(row: Row, n: int, columns: int) -> Row:
    extra = row[columns:]
    if extra.count(None) + extra.count("") != len(extra):  # counted in C: a padded XLSX row may be 16384 wide
        raise TableError(f"第 {n} 行：表格列数过多（最多 {columns} 列）。请删去多余的列。")
    return row[:columns] if extra else row


# -- CSV --------------------------------------------------------------------------------------------------------


def _csv(data: bytes) -> Iterator[list[str]]:
    if b"\x00" in data:  # no UTF-8 or GB18030 character has a zero byte: this is binary, or UTF-16
        raise TableError("文件含有二进制内容，不是 CSV 表格。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise TableError("无法识别文件的文字编码。请用 Excel 打开后重新另存为 CSV 文件。")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    n = 1  # the line being read: the one csv fails on
    try:
        for row in reader:
            yield row
            n += 1
    except csv.Error as exc:
        raise TableError(_csv_problem(str(exc), n)) from None


def _csv_problem(english: str, n: int) -> str:
    """What csv's English message means, in Chinese (csv.Error carries no code: its text is all there is)."""
    if english.startswith("field larger than field limit"):
        return f"第 {n} 行：有一个单元格超过 {csv.field_size_limit()} 个字，多半是这一行的引号（\"）没有成对。"
    if "expected after" in english or "unexpected end of data" in english:
        return f"第 {n} 行：引号（\"）没有成对，或引号后面紧跟着别的字。带引号的单元格，引号后应是逗号或换行。"
    return f"第 {n} 行 CSV 格式错误。请用 Excel 打开后重新另存为 CSV 文件。"


# -- XLSX -------------------------------------------------------------------------------------------------------


def _xlsx(data: bytes, limits: Limits) -> Iterator[Row]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise TableError(_BROKEN_XLSX) from None
    if len(infos) > limits.zip_entries or sum(i.file_size for i in infos) > limits.unpacked_bytes:
        raise TableError("XLSX 文件解压后过大，拒绝读取。请只导出需要的那一张表。")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl fails in many ways on a damaged file (KeyError, ValueError, zlib.error, lxml's, its own)
        raise TableError(_BROKEN_XLSX) from None
    try:
        if not book.worksheets:
            raise TableError("XLSX 文件中没有工作表。")
        rows = book.worksheets[0].iter_rows(values_only=True)
        while True:
            try:
                row = next(rows, None)
            except Exception:  # noqa: BLE001 - as above: a damaged sheet fails in openpyxl's own ways as it is read
                raise TableError("无法读取 XLSX 文件的第一张工作表（工作表已损坏）。请重新导出。") from None
            if row is None:
                return
            yield row
    finally:
        book.close()
