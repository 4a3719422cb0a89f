"""Reading a household register file a village brings (CSV from any spreadsheet, or XLSX) into rows.

A hostile or broken file is refused with a message that says what to fix, before anything is recorded:
too large, not a spreadsheet, a zip that expands past its limit, text in an encoding nobody uses here.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from edge.modules.household_assembly.rules import MAX_HOUSEHOLDS, RuleError

MAX_FILE_BYTES = 2 << 20  # a register of a few thousand households is far below this
MAX_UNPACKED_BYTES = 20 << 20  # an XLSX is a zip: refuse one that expands past this (a zip bomb)
_MAX_COLUMNS = 20
# What reading a broken or foreign file raises in zipfile and openpyxl (a missing part: KeyError; bad XML:
# ParseError, a SyntaxError; a cell or style it cannot take: ValueError, TypeError, IndexError, AttributeError).
_BROKEN = (
    zipfile.BadZipFile, zipfile.LargeZipFile, InvalidFileException, KeyError, ValueError, TypeError, IndexError,
    AttributeError, OSError, EOFError, SyntaxError, NotImplementedError,  # openpyxl: a feature it does not read
)  # fmt: skip


def read_rows(filename: str, data: bytes) -> list[Sequence[object]]:
    """The rows of a CSV or XLSX file, the header first."""
    if not data:
        raise RuleError("文件是空的")
    if len(data) > MAX_FILE_BYTES:
        raise RuleError(f"文件太大（{len(data) >> 10} KB），名册文件不能超过 {MAX_FILE_BYTES >> 20} MB")
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _xlsx(data)
    if name.endswith(".csv"):
        return _csv(data)
    raise RuleError("只接受 .csv 或 .xlsx 文件")


def _csv(data: bytes) -> list[Sequence[object]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK unless asked for UTF-8
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost any bytes; kept for the strict reading above
        raise RuleError("无法识别文件的文字编码，请另存为 UTF-8 的 CSV")
    if "\x00" in text:
        raise RuleError("文件含有二进制内容，不是 CSV 表格")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise RuleError(f"CSV 格式错误：{exc}") from None
    return _bounded(rows)


def _xlsx(data: bytes) -> list[Sequence[object]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED_BYTES:
                raise RuleError("XLSX 解压后过大，拒绝读取")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except RuleError:  # a ValueError too: our own refusal, said as it is
        raise
    except _BROKEN:
        raise RuleError("无法读取 XLSX 文件：文件已损坏或不是 Excel 表格") from None
    try:
        sheet = book.worksheets[0]
        rows: list[Sequence[object]] = []
        for row in sheet.iter_rows(values_only=True, max_col=_MAX_COLUMNS):
            rows.append(row)
            if len(rows) > MAX_HOUSEHOLDS + 1:
                break
    except _BROKEN:
        raise RuleError("无法读取 XLSX 文件的第一张工作表") from None
    finally:
        book.close()
    return _bounded(rows)


def _bounded(rows: Sequence[Sequence[object]]) -> list[Sequence[object]]:
    if len(rows) > MAX_HOUSEHOLDS + 1:
        raise RuleError(f"一个文件最多 {MAX_HOUSEHOLDS} 户")
    if any(len(r) > _MAX_COLUMNS for r in rows):
        raise RuleError(f"表格列数过多（最多 {_MAX_COLUMNS} 列）")
    return list(rows)
