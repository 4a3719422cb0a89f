"""Money as people write and read it: yuan text ↔ integer fen (分), never through a float.

A leaf module (nothing from the rest of ``edge``): the CLI, the web console, the
notifications, the ledger view and every module's lists format and parse amounts
here, so there is one reading of "1,200.50" in the whole edge. (Times on screen are
``edge.ledger.localtime``: the ledger library and the central store read them too.) Parsing reads digits with a
pattern, never with ``Decimal``/``float``: ``1e20``, ``Infinity``, ``NaN``,
``sNaN`` and ``1e999999999`` are not amounts, whatever those types make of them.

Errors are :class:`AmountError` (a ``ValueError`` with a Chinese message);
the seal's desk turns them into the edge's ``InputError``.
"""

from __future__ import annotations

import re

FEN_PER_YUAN = 100
SQLITE_MAX_INT = 2**63 - 1  # SQLite's INTEGER is a signed 64-bit number: nothing stored may exceed it
DEFAULT_MAX_AMOUNT_FEN = 100_000_000 * FEN_PER_YUAN  # 1 亿元: above any village's single stamped matter

# Longest text worth reading: "¥" + 19 digits with separators + 2 decimals + "元" fits well inside.
_MAX_TEXT = 40
# Plain digits or thousands grouped by commas, then at most two decimals; ASCII digits only
# (Python's int() would also take "١٢" or "１２" and "1_000").
_AMOUNT = re.compile(r"(?P<whole>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.(?P<frac>[0-9]{1,2}))?", re.ASCII)


class AmountError(ValueError):
    """An amount that is not accepted; ``message`` says why, in Chinese."""

    code = "bad_amount"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def yuan(fen: int) -> str:
    """Integer fen as people read it: ``¥1,200.50``."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}¥{whole:,}.{part:02d}"


def check_fen(fen: object, ceiling_fen: int) -> int:
    """An amount in fen as a stored record may hold it: an integer with 0 < fen ≤ ``ceiling_fen``."""
    if type(fen) is not int:  # bool is an int subclass, and a float is no amount of fen
        raise AmountError(f"金额应为整数（分），收到 {fen!r:.40}")
    if fen <= 0:
        raise AmountError("金额应大于 0")
    if fen > ceiling_fen:
        raise AmountError(f"金额不能超过 {yuan(ceiling_fen)}")
    return fen


def parse_yuan(text: str, ceiling_fen: int) -> int:
    """Yuan as typed ("1200.5", "1,200.50", "¥1200", "1200元") → fen, 0 < fen ≤ ``ceiling_fen``."""
    if not isinstance(text, str):
        raise AmountError("金额应为文字形式的元数，例如 1200.50")
    cleaned = text.strip()
    if len(cleaned) > _MAX_TEXT:
        raise AmountError(f"金额格式错误：内容过长（最多 {_MAX_TEXT} 个字符）")
    cleaned = cleaned.removeprefix("¥").removeprefix("￥").removesuffix("元").strip()
    if cleaned.startswith("-"):
        raise AmountError("金额应大于 0")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        if re.fullmatch(r"[0-9,]*\.[0-9]{3,}", cleaned, re.ASCII):
            raise AmountError(f"金额最多两位小数（精确到分）：{text.strip()!r:.50}")
        raise AmountError(f"金额格式错误，应为元数，最多两位小数，例如 1200.50：{text.strip()!r:.50}")
    fen = int(match["whole"].replace(",", "")) * FEN_PER_YUAN + int((match["frac"] or "0").ljust(2, "0"))
    return check_fen(fen, ceiling_fen)
