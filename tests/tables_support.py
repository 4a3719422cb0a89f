"""An XLSX workbook as a spreadsheet program saves it (numbers as numbers), for the tests of every part that
reads an uploaded table."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook


def xlsx(*rows: Sequence[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
