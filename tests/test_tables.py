"""The one reader of uploaded tables (edge.kernel.tables): its bounds, met exactly and passed by one, and every
refusal in Chinese a village user can read on a page (the line named where there is one, no English of csv's or
openpyxl's), for CSV in UTF-8 or GBK and for XLSX, hostile or broken."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import pytest
from tables_support import xlsx

from edge.kernel.tables import Kind, Limits, TableError, TooManyRows, _csv_problem, read_table

LIMITS = Limits(rows=5, columns=3, unpacked_bytes=1 << 20, zip_entries=30)


def read(data: bytes, kind: Kind = "csv", limits: Limits = LIMITS) -> list[tuple[int, list[object]]]:
    return [(n, list(row)) for n, row in read_table(data, kind, limits)]


def refusal(data: bytes, kind: Kind = "csv", limits: Limits = LIMITS) -> str:
    with pytest.raises(TableError) as caught:
        read(data, kind, limits)
    message = caught.value.message
    assert not re.search(r"[A-Za-z]", re.sub(r"\b(?:CSV|XLSX|Excel)\b", "", message)), message
    return message


def rezipped(data: bytes, change: dict[str, bytes]) -> bytes:
    """``data`` (a zip) with the entries in ``change`` replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, change.pop(info.filename, src.read(info)))
        for name, body in change.items():
            z.writestr(name, body)
    return out.getvalue()


def test_a_csv_at_the_row_limit_is_read_and_one_more_line_is_refused() -> None:
    at_limit = "".join(f"{n},x\n" for n in range(1, 6)).encode()
    assert read(at_limit) == [(n, [str(n), "x"]) for n in range(1, 6)]
    with pytest.raises(TooManyRows) as caught:
        read(at_limit + b"6,x\n")
    assert caught.value.limit == 5 and "最多 5 行" in caught.value.message


def test_an_xlsx_at_the_row_limit_is_read_and_one_more_row_is_refused() -> None:
    rows = [[n, "x"] for n in range(1, 6)]
    assert read(xlsx(*rows), "xlsx") == [(n, [n, "x"]) for n in range(1, 6)]
    with pytest.raises(TooManyRows):
        read(xlsx(*rows, [6, "x"]), "xlsx")


def test_rows_come_one_at_a_time_so_the_ones_before_a_refusal_are_read() -> None:
    lines = read_table(b"a\nb\nc\nd\ne\nf\n", "csv", LIMITS)
    assert [next(lines)[0] for _ in range(5)] == [1, 2, 3, 4, 5]
    with pytest.raises(TooManyRows):
        next(lines)


def test_blank_cells_past_the_last_column_are_cut_and_a_filled_one_is_refused_at_its_line() -> None:
    assert read(b"a,b,c,,\n") == [(1, ["a", "b", "c"])]
    assert refusal(b"a,b,c\nd,e,f,g\n") == "第 2 行：表格列数过多（最多 3 列）。请删去多余的列。"
    lines = read_table(xlsx(["a"], ["b", None, None, None, None, 0]), "xlsx", LIMITS)
    assert next(lines) == (1, ("a", None, None))  # padded by openpyxl to the sheet's six columns, cut to three
    with pytest.raises(TableError, match="^第 2 行：表格列数过多"):
        next(lines)  # a 0 is something


def test_a_field_past_csvs_limit_is_refused_in_chinese_at_its_line() -> None:
    data = b'a,b\nc,d\ne,"' + b"x" * (csv.field_size_limit() + 1) + b'"\n'
    message = refusal(data)
    assert message.startswith("第 3 行：") and str(csv.field_size_limit()) in message and "引号" in message


@pytest.mark.parametrize("data", [b'a,b\nc,"open\nd,e\n', b'a,b\nc,"d"e\n', b'a,b\nc,"d" ,e\n'])
def test_a_quote_left_open_or_followed_by_text_is_refused_at_its_line(data: bytes) -> None:
    assert refusal(data).startswith("第 2 行：引号")


def test_a_csv_error_csv_has_no_words_for_here_is_said_generally() -> None:
    assert _csv_problem("some message of a later Python", 4) == "第 4 行 CSV 格式错误。请用 Excel 打开后重新另存为 CSV 文件。"


def test_a_gbk_csv_from_excel_and_a_utf8_one_with_a_bom_read_alike() -> None:
    text = "户号,户主\nH1,张三\n"
    assert read(text.encode("gbk")) == read(text.encode("utf-8-sig")) == [(1, ["户号", "户主"]), (2, ["H1", "张三"])]


@pytest.mark.parametrize(("data", "says"), [
    (b"a,b\x00c\n", "二进制"),
    ("户号,户主\n".encode("utf-16"), "二进制"),
    (b"a,b\n\xff\xfe\xff\n", "文字编码"),
])  # fmt: skip
def test_what_is_not_csv_text_is_refused(data: bytes, says: str) -> None:
    assert says in refusal(data)


def test_a_zip_bomb_is_refused_unread_by_its_size_or_its_entries() -> None:
    bomb = rezipped(xlsx(["a"]), {"xl/media/big.bin": b"\0" * ((1 << 20) + 1)})
    assert "解压后过大" in refusal(bomb, "xlsx")
    many = rezipped(xlsx(["a"]), {f"xl/media/{i}.bin": b"" for i in range(30)})
    assert "解压后过大" in refusal(many, "xlsx")


@pytest.mark.parametrize("data", [
    "户号,户主\n".encode(),  # a CSV named .xlsx
    b"PK\x03\x04 not really a zip",
    rezipped(xlsx(["a"]), {"xl/workbook.xml": b"<not xml"}),
])  # fmt: skip
def test_what_is_not_a_workbook_is_refused(data: bytes) -> None:
    assert refusal(data, "xlsx").startswith("无法读取 XLSX 文件：")


def test_a_sheet_that_breaks_while_it_is_read_is_refused() -> None:
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:A2"/>'
             b'<sheetData><row r="1"><c r="A1" t="n"><v>1</v></c></row><row r="2"><c r="A2" t="n"><v>one</v></c></row>'
             b"</sheetData></worksheet>")  # a number cell holding a word: openpyxl fails only on reaching it
    broken = rezipped(xlsx(["a"]), {"xl/worksheets/sheet1.xml": sheet})
    lines = read_table(broken, "xlsx", LIMITS)
    assert next(lines) == (1, (1,))
    with pytest.raises(TableError, match="^无法读取 XLSX 文件的第一张工作表（工作表已损坏）"):
        next(lines)
    assert "工作表已损坏" in refusal(broken, "xlsx")


def test_an_xlsx_with_no_sheet_is_refused() -> None:
    with zipfile.ZipFile(io.BytesIO(xlsx(["a"]))) as z:
        workbook = z.read("xl/workbook.xml")
    no_sheet = rezipped(xlsx(["a"]), {"xl/workbook.xml": re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", workbook)})
    assert refusal(no_sheet, "xlsx") == "XLSX 文件中没有工作表。"
