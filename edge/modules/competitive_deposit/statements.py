"""Reading an account's balances from a bank statement or an accounting export (CSV or XLSX).

A file is checked before anything is kept: its size, what its first bytes say it is, what
:mod:`edge.kernel.tables` checks as it reads the rows one by one (a zip bomb refused unread; the text
encoding, UTF-8 or GB18030 as Chinese banks export; at most :data:`MAX_ROWS` lines), a header row naming a
date column and a balance column, every row's date and balance (no negative, no third decimal, no date after
today), the dates in order (oldest or newest first), and an account-number column, when there is one,
matching the account. Any problem is a :class:`StatementError` with a Chinese message naming the line;
nothing is recorded then.

Rows without a date (totals such as 本月合计, 本年累计, 期初余额 without a day) are skipped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from edge.kernel.tables import Kind, Limits, TableError, TooManyRows, read_table

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000  # lines of the file, blank ones too
MAX_DAYS = 3_700  # ten years of days in one import
LIMITS = Limits(rows=MAX_ROWS, columns=100, unpacked_bytes=50 * 1024 * 1024)  # no bank exports 100 columns
HEADER_SEARCH_ROWS = 30
MAX_FEN = 10**9 * 100  # 10 亿元

DATE_HEADERS = ("交易日期", "记账日期", "入账日期", "日期", "交易时间", "date")
BALANCE_HEADERS = ("余额", "账户余额", "当前余额", "联机余额", "balance")
ACCOUNT_HEADERS = ("账号", "帐号", "账户", "卡号", "account")
SUMMARY_PREFIXES = ("合计", "小计", "累计", "本月", "本年", "本期", "期初", "期末", "上年", "承前", "过次")

_DATE = re.compile(
    r"(?P<y>[0-9]{4})(?:[-/.年](?P<m>[0-9]{1,2})[-/.月](?P<d>[0-9]{1,2})日?|(?P<m2>[0-9]{2})(?P<d2>[0-9]{2}))"
    r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?", re.ASCII,
)  # fmt: skip
_AMOUNT = re.compile(r"(?P<whole>[0-9]+)(?:\.(?P<frac>[0-9]+))?", re.ASCII)


class StatementError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Statement:
    rows: list[tuple[date, int]]  # (day, balance in fen), oldest first, in the order they happened
    skipped: int  # rows without a date (totals)
    format: str  # csv | xlsx


def read_statement(data: bytes, filename: str, account: str, today: date) -> Statement:
    """The balances in an uploaded file for ``account``; :class:`StatementError` for anything doubtful."""
    if not data:
        raise StatementError("文件是空的，请重新选择。")
    if len(data) > MAX_FILE_BYTES:
        raise StatementError(f"文件过大：最多 {MAX_FILE_BYTES // (1024 * 1024)} MB。请按年份分开导出。")
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    kind: Kind
    if data.startswith(b"PK\x03\x04"):
        if ext != "xlsx":
            raise StatementError(f"文件“{filename}”的内容是 Excel（XLSX）或压缩包，扩展名却不是 .xlsx。")
        kind = "xlsx"
    elif ext == "xlsx":
        raise StatementError(f"文件“{filename}”不是真正的 XLSX 文件（改扩展名无效）。请从银行或财务软件重新导出。")
    elif ext in ("csv", "txt"):
        kind = "csv"
    else:
        raise StatementError("只接受 CSV 或 XLSX 格式的银行流水或财务导出文件（旧版 Excel 文件请另存为 XLSX）。")
    try:
        rows, skipped = _balances(read_table(data, kind, LIMITS), account, today)
    except TooManyRows:
        raise StatementError(f"行数过多：一次最多导入 {MAX_ROWS} 行。请按年份分开导入。") from None
    except TableError as exc:
        raise StatementError(exc.message) from None
    return Statement(rows, skipped, kind)


# -- rows -------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _find(header: Sequence[Any], names: Sequence[str]) -> int | None:
    cells = [_text(c).lower() for c in header]
    for name in names:
        if name in cells:
            return cells.index(name)
    return None


def _balances(lines: Iterator[tuple[int, Sequence[Any]]], account: str, today: date) -> tuple[list[tuple[date, int]], int]:
    date_col = balance_col = account_col = None
    for n, row in lines:
        date_col, balance_col = _find(row, DATE_HEADERS), _find(row, BALANCE_HEADERS)
        if date_col is not None and balance_col is not None:
            account_col = _find(row, ACCOUNT_HEADERS)
            break
        if n >= HEADER_SEARCH_ROWS:
            break
    if date_col is None or balance_col is None:
        raise StatementError("找不到表头：文件前 30 行中应有“日期”（或“交易日期”“记账日期”）和“余额”两列。")
    rows: list[tuple[int, date, int]] = []
    skipped = 0
    for n, row in lines:
        cells = list(row)
        if not any(_text(c) for c in cells):
            continue
        raw_date = cells[date_col] if date_col < len(cells) else None
        if not _text(raw_date) or _text(raw_date).startswith(SUMMARY_PREFIXES):
            skipped += 1
            continue
        day = _date(raw_date, n, today)
        fen = _fen(cells[balance_col] if balance_col < len(cells) else None, n)
        if account_col is not None and account_col < len(cells) and _text(cells[account_col]):
            shown = re.sub(r"[\s-]", "", _text(cells[account_col]))
            if shown != account:
                raise StatementError(f"第 {n} 行：账号 {shown[:40]} 与所选账户 {account} 不符，请确认导入的是这个账户的流水。")
        rows.append((n, day, fen))
    if not rows:
        raise StatementError("文件中没有带日期和余额的行。")
    days = [d for _, d, _ in rows]
    if any(a > b for a, b in pairwise(days)):  # not oldest first: newest first, or out of order
        if any(a < b for a, b in pairwise(days)):
            bad = next(n for (n, a, _), (_, b, _) in pairwise(rows) if a > b)
            raise StatementError(f"第 {bad} 行前后日期顺序混乱：流水应按日期从早到晚（或从晚到早）排列。")
        rows.reverse()
    if len(set(days)) > MAX_DAYS:
        raise StatementError(f"日期跨度过大：一次最多导入 {MAX_DAYS} 天的余额。")
    return [(d, f) for _, d, f in rows], skipped


def _date(value: Any, n: int, today: date) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        m = _DATE.fullmatch(_text(value))
        if m is None:
            raise StatementError(f"第 {n} 行：日期无法识别：{_text(value)[:40]}（应为 2026-03-15 这样的日期）")
        try:
            day = date(int(m["y"]), int(m["m"] or m["m2"]), int(m["d"] or m["d2"]))
        except ValueError:
            raise StatementError(f"第 {n} 行：不存在的日期：{_text(value)[:40]}") from None
    if day.year < 2000:
        raise StatementError(f"第 {n} 行：日期过早：{day.isoformat()}")
    if day > today:
        raise StatementError(f"第 {n} 行：日期 {day.isoformat()} 晚于今天，流水不可能有未来的余额。")
    return day


def _fen(value: Any, n: int) -> int:
    if isinstance(value, bool) or value is None:
        raise StatementError(f"第 {n} 行：余额为空或格式错误。")
    if isinstance(value, (int, float, Decimal)):
        try:
            text = str(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
        except InvalidOperation:
            raise StatementError(f"第 {n} 行：余额不是数字。") from None
    else:
        text = _text(value)
    cleaned = text.replace(",", "").removeprefix("¥").removeprefix("￥").removesuffix("元").strip()
    if cleaned.startswith("-"):
        raise StatementError(f"第 {n} 行：余额为负数（{text[:30]}）。村集体账户不应透支，请核对流水。")
    m = _AMOUNT.fullmatch(cleaned)
    if m is None:
        raise StatementError(f"第 {n} 行：余额格式错误：{text[:40]}（应为元数，最多两位小数）")
    frac = (m["frac"] or "").rstrip("0") if len(m["frac"] or "") > 2 else (m["frac"] or "")
    if len(frac) > 2:
        raise StatementError(f"第 {n} 行：余额最多两位小数（精确到分）：{text[:40]}")
    fen = int(m["whole"]) * 100 + int(frac.ljust(2, "0"))
    if fen > MAX_FEN:
        raise StatementError(f"第 {n} 行：余额超过 10 亿元，请核对。")
    return fen
