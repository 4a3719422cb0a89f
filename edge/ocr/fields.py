"""The fields a supervisor checks on a stamped page: title, parties, amount, date.

The amount is read twice, in figures (28,500.00) and in capitals
(贰万捌仟伍佰元整), and the two readings check each other; both end up in
integer fen. Dates are read in Arabic or Chinese numerals.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from edge.ocr.numerals import CAPITAL_CHARS, fen_to_capital, find_dates, normalize_width, parse_capital
from edge.ocr.places import mend_collective

_PUNCT_RE = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize_text(text: str) -> str:
    """For comparing texts: NFKC (full-width to half-width), no whitespace, no punctuation."""
    return _PUNCT_RE.sub("", unicodedata.normalize("NFKC", text))


def clean_ocr_text(text: str) -> str:
    """OCR text for people and search: spaces between Chinese characters removed, lines kept."""
    lines = []
    for line in text.splitlines():
        line = re.sub(r"(?<=[\u2e80-\uffff])\s+(?=[\u2e80-\uffff])", "", line.strip())
        line = re.sub(r"(?<=[\u2e80-\uffff])\s+(?=[0-9A-Za-z¥])|(?<=[0-9A-Za-z])\s+(?=[\u2e80-\uffff])", "", line)
        if line:
            lines.append(line)
    return "\n".join(lines)


@dataclass
class Fields:
    title: str | None = None
    party_a: str | None = None
    party_b: str | None = None
    amount_fen: int | None = None  # the amount the page states (figures and capitals reconciled)
    amount_figures_fen: int | None = None
    amount_capitals_fen: int | None = None
    amount_capitals_text: str | None = None
    amounts_agree: bool | None = None  # None when only one of the two could be read
    date: str | None = None  # YYYY-MM-DD

    def public(self) -> dict[str, Any]:
        """The fields as ``qinglian ocr extract --json`` prints them."""
        parties = None
        if self.party_a or self.party_b:
            parties = {"party_a": self.party_a, "party_b": self.party_b}
        return {"title": self.title, "parties": parties, "amount_fen": self.amount_fen, "date": self.date}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_LABELLED = re.compile(r"^[^:：]{1,8}[:：;；]")
# Tesseract reads the label 甲方 as 申方 now and then (由方, 田方: the same shape less a stroke); only
# a label with its colon is taken that way, so body text that begins 由... is not mistaken for it.
_PARTY_RE = {
    "a": re.compile(r"(?:甲\s*方\s*[:：;；]?|[申由田]\s*方\s*[:：;；])\s*(?![（(]\s*盖)(.+)$"),
    "b": re.compile(r"乙\s*方\s*[:：;；]?\s*(?![（(]\s*盖)(.+)$"),
}
# A line that states a party or the signing date: a party's label with its colon (read as a colon, a
# semicolon or a comma), not the 甲方（盖章） of the signature block; or a date's label.
_FIELD_LINE = re.compile(r"(?:[甲申由田乙]\s*方\s*[:：;；,，]|\S{0,4}日\s*期)")


def is_field_line(text: str) -> bool:
    """Does this line of OCR text carry a party or the signing date (the lines worth a second reading)?"""
    return _FIELD_LINE.match(text.strip()) is not None


_FIGURES_RE = re.compile(r"(?:[¥Y]\s*|人民币\s*|RMB\s*)?((?:\d{1,3}(?:[,，]\d{3})+|\d+)(?:[.。]\d{1,2})?)\s*(元|圆)?")


def _title(lines: list[str]) -> str | None:
    for line in lines[:4]:
        compact = normalize_text(line)
        cjk = sum(1 for ch in compact if ord(ch) > 0x2E80)
        if cjk < 3 or _LABELLED.match(line) or line.startswith(("甲方", "乙方", "编号")):
            continue
        return compact
    return None


def _party(lines: list[str], which: str) -> str | None:
    for line in lines:
        m = _PARTY_RE[which].match(line.strip())
        if m:
            value = normalize_text(m.group(1))
            if value and "盖章" not in value and "签字" not in value:
                # 甲方 is the village's own collective, so in Zhejiang; 乙方 may come from anywhere
                return mend_collective(value) if which == "a" else value
    return None


def _number(token: str) -> int | None:
    """An OCR'd number in figures to fen, forgiving stray separators (1.,595,148.00 -> 1595148.00)."""
    token = token.replace("，", ",").replace("。", ".").strip(".,")
    # a decimal point is followed by one or two digits at the end (thousands come in threes)
    m = re.fullmatch(r"([\d.,]*?)(?:(?:\.|,(?=\d\d$))(\d{1,2}))?", token)
    if m is None or not m.group(1):
        return None
    whole = re.sub(r"[.,]", "", m.group(1))
    if not whole.isdigit() or len(whole) > 12:
        return None
    return int(whole) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def _figures(lines: list[str]) -> list[int]:
    """Amounts in figures on lines about money (金额, ¥, 元, 价款), in page order."""
    found: list[int] = []
    for line in lines:
        text = normalize_width(line)
        if not ("金额" in text or "¥" in text or "元" in text or "价款" in text) or "大写" in text:
            continue
        for m in re.finditer(r"([¥Y]|人民币|RMB)?\s*(\d[\d.,，。]*\d|\d)\s*(元|圆|\))?", text):
            if not (m.group(1) or m.group(3)):
                continue
            tail = text[m.end() : m.end() + 1]
            if tail in "年月日" and tail:
                continue
            value = _number(m.group(2))
            if value is not None:
                found.append(value)
    return found


def _capitals_in_text(lines: list[str]) -> tuple[str | None, int | None]:
    """An amount in capitals as the OCR engine spelled it, when it parses."""
    pattern = re.compile(f"[{re.escape(CAPITAL_CHARS)}]{{2,}}")
    for line in lines:
        if "大写" not in line and "人民币" not in line:
            continue
        for m in pattern.finditer(line.replace(" ", "")):
            try:
                return m.group(0), parse_capital(m.group(0))
            except ValueError:
                continue
    return None, None


def capitals_agree(fen: int, reading: str) -> bool:
    """Whether a reading of capitals fits ``fen``: equal, or a tail of it whose head the reader lost.

    The glyph reader can lose the first characters of an amount when a seal
    ring runs through them; what it read must then be exactly the end of the
    amount written out, and it must reach the units (元/角/分/整).
    """
    full = fen_to_capital(fen)
    try:
        if parse_capital(reading) == fen:
            return True
    except ValueError:
        return False
    return len(reading) >= 3 and reading[-1] in "元圆角分整正" and full.endswith(reading)


def extract_fields(text: str, capitals_reading: str | None = None) -> Fields:
    """Fields from OCR text; ``capitals_reading`` is the glyph reader's amount in capitals, if any."""
    lines = [ln for ln in clean_ocr_text(text).splitlines() if ln.strip()]
    fields = Fields(title=_title(lines), party_a=_party(lines, "a"), party_b=_party(lines, "b"))
    candidates = _figures(lines)
    cap_text, cap_fen = _capitals_in_text(lines)
    if capitals_reading:
        try:
            cap_text, cap_fen = capitals_reading, parse_capital(capitals_reading)
        except ValueError:
            pass
    fields.amount_capitals_text = cap_text
    fields.amount_capitals_fen = cap_fen
    # the figures usually stand twice (人民币28,500.00元（¥28,500.00）): take the one the
    # capitals confirm, else the one read most often
    figures = None
    if candidates:
        agreeing = [c for c in candidates if cap_text is not None and capitals_agree(c, cap_text)]
        figures = agreeing[0] if agreeing else max(candidates, key=candidates.count)
    fields.amount_figures_fen = figures
    if figures is not None and cap_text is not None:
        fields.amounts_agree = capitals_agree(figures, cap_text)
    # Tesseract reads figures far more reliably than capitals, so figures win;
    # a disagreement stays visible in ``amounts_agree``.
    fields.amount_fen = figures if figures is not None else cap_fen
    fields.date = _date("\n".join(lines))
    return fields


# The year of a date in Chinese numerals opens with 二〇, which the reader trips over most: the small
# circle dropped (二二六年), read as a quote or comma, or 二 read as 三 or lost to a seal's ring (三”二七年,
# 卫，二六年), now and then as three marks (二、，二七年). The two digits before 年 are what tell one year
# from another.
_YEAR_HEAD = re.compile(r"[^\s\d年月日:：]{1,3}(?=[〇○一二三四五六七八九]{2}\s*年)")
# The colon after the label read as a comma or a full stop (签订日期，二〇二六年): the year of Chinese
# numerals, whose 〇 is read as a comma too, would take that mark in as one more digit.
_DATE_LABEL = re.compile(r"日期\s*[,，.。;；]")


def _date(text: str) -> str | None:
    """The signing date: the last date on the page; a garbled 二〇 of its year is mended if nothing else reads."""
    text = _DATE_LABEL.sub("日期：", text)
    for attempt in (text, _YEAR_HEAD.sub("二〇", text).replace("才", "十")):  # 才: 十 with a stray stroke
        # a year no village document carries is a misreading (2627 for 2027 under a seal ring)
        dates = [d for _, d in find_dates(attempt) if 1949 <= d.year <= 2100]
        if dates:
            # the date a contract is signed stands at its foot: the last date on the page
            return dates[-1].isoformat()
    return None
