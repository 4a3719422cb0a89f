"""Reading a household register file a village brings (CSV from any spreadsheet, or XLSX) into rows.

A hostile or broken file is refused with a message that says what to fix, before anything is recorded:
too large, not a spreadsheet, a zip that expands past its limit, text in an encoding nobody uses here
(read by :mod:`edge.kernel.tables`; the limits, and the words for too many rows, are the register's).
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.kernel.tables import Kind, Limits, TableError, TooManyRows, read_table
from edge.modules.household_assembly.rules import MAX_HOUSEHOLDS, RuleError

MAX_FILE_BYTES = 2 << 20  # a register of a few thousand households is far below this
LIMITS = Limits(
    rows=MAX_HOUSEHOLDS + 1,  # the header, then a household a line
    columns=20,
    unpacked_bytes=20 << 20,  # an XLSX is a zip: refuse one that expands past this (a zip bomb)
)


def read_rows(filename: str, data: bytes) -> list[Sequence[object]]:
    """The rows of a CSV or XLSX file, the header first."""
    if not data:
        raise RuleError("文件是空的")
    if len(data) > MAX_FILE_BYTES:
        raise RuleError(f"文件太大（{len(data) >> 10} KB），名册文件不能超过 {MAX_FILE_BYTES >> 20} MB")
    name = filename.lower()
    kind: Kind
    if name.endswith(".xlsx"):
        kind = "xlsx"
    elif name.endswith(".csv"):
        kind = "csv"
    else:
        raise RuleError("只接受 .csv 或 .xlsx 文件")
    try:
        return [row for _, row in read_table(data, kind, LIMITS)]
    except TooManyRows:
        raise RuleError(f"一个文件最多 {MAX_HOUSEHOLDS} 户") from None
    except TableError as exc:
        raise RuleError(exc.message) from None
