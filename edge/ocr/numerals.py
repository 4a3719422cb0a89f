"""Chinese numerals on documents: amounts in capital numerals (大写) and dates.

Amounts are integer fen (分) throughout; nothing here touches a float.

    fen_to_capital(2_850_000)          -> "贰万捌仟伍佰元整"
    parse_capital("贰万捌仟伍佰元整")    -> 2_850_000
    parse_figures("28,500.00")         -> 2_850_000
    parse_date("二〇二六年十一月二十八日") -> datetime.date(2026, 11, 28)

The writer follows the rules banks apply to cheques (one 零 for a run of
zeros, 零 before a 分 with no 角, 整 after 元 or 角). The reader is lenient
where OCR and people are (lower-case 一二三, 两, 圆 for 元, 正 for 整, a bare 拾
for 壹拾) and strict where a mistake would change the amount: two digits in
a row, a unit out of order, or anything it does not know is a ``ValueError``.
"""

from __future__ import annotations

import datetime as dt
import re

CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_DIGITS = {ch: i for i, ch in enumerate(CAPITAL_DIGITS)}
_DIGITS.update({ch: i for i, ch in enumerate("〇一二三四五六七八九")})
_DIGITS.update({"○": 0, "O": 0, "o": 0, "两": 2, "贰": 2, "叁": 3, "參": 3, "陸": 6, "貳": 2})
_SMALL_UNITS = {"拾": 10, "十": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
_YUAN = "元圆"
_WHOLE = "整正"

MAX_FEN = 10**14 - 1  # just under a trillion yuan: more than any village will ever stamp

# Characters that can appear in an amount written in capitals (for finding one in OCR text).
CAPITAL_CHARS = "".join(
    sorted(set(_DIGITS) | set(_SMALL_UNITS) | set(_BIG_UNITS) | set(_YUAN) | set(_WHOLE) | set("角分"))
)


# -- amounts in capitals ---------------------------------------------------------------


def _section_to_capital(n: int) -> str:
    """0 < n < 10000 as capitals with 仟佰拾, zeros inside collapsed to one 零."""
    out: list[str] = []
    zero = False
    for unit, name in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        d = n // unit % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(CAPITAL_DIGITS[d] + name)
    return "".join(out)


def _int_to_capital(n: int) -> str:
    """0 < n < 10**12 yuan as capitals with 亿 and 万 sections."""
    sections = []
    while n:
        sections.append(n % 10_000)
        n //= 10_000
    out: list[str] = []
    skipped = False
    for i in range(len(sections) - 1, -1, -1):
        sec = sections[i]
        if sec == 0:
            skipped = bool(out)
            continue
        if out and (skipped or sec < 1000):
            out.append("零")
        skipped = False
        out.append(_section_to_capital(sec) + ("", "万", "亿")[i])
    return "".join(out)


def fen_to_capital(fen: int) -> str:
    """An amount in fen written in capital numerals as on a cheque or contract."""
    if type(fen) is not int or fen < 0 or fen > MAX_FEN:
        raise ValueError(f"amount must be an int in 0..{MAX_FEN} fen, got {fen!r}")
    yuan, rest = divmod(fen, 100)
    jiao, fen_digit = divmod(rest, 10)
    if fen == 0:
        return "零元整"
    out = _int_to_capital(yuan) + "元" if yuan else ""
    if jiao == 0 and fen_digit == 0:
        return out + "整"
    if jiao:
        if yuan and yuan % 10 == 0:
            out += "零"  # 壹拾元零伍角: the 元 digit is zero
        out += CAPITAL_DIGITS[jiao] + "角"
    elif yuan:
        out += "零"  # 壹元零伍分: no 角
    if fen_digit:
        out += CAPITAL_DIGITS[fen_digit] + "分"
    else:
        out += "整"
    return out


def _parse_integer(text: str) -> int:
    """Capital (or lower-case) numerals with units, no 元: e.g. 贰万捌仟伍佰."""
    total = 0  # closed by 亿
    wan = 0  # closed by 万, below 亿
    section = 0  # below 万
    digit: int | None = None
    last_small = 10_000  # small units within a section must fall
    had_wan = had_yi = False
    seen = False
    for ch in text:
        if ch in _DIGITS:
            seen = True
            d = _DIGITS[ch]
            if d == 0:
                if digit is not None:
                    raise ValueError(f"a digit before 零 without a unit in {text!r}")
                continue
            if digit is not None:
                raise ValueError(f"two digits without a unit in {text!r}")
            digit = d
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if unit >= last_small:
                raise ValueError(f"unit {ch} out of order in {text!r}")
            if digit is None:
                if unit != 10 or section or wan or total:
                    raise ValueError(f"unit {ch} without a digit in {text!r}")
                digit = 1  # a leading 拾 is 壹拾
            section += digit * unit
            digit = None
            last_small = unit
            seen = True
        elif ch in _BIG_UNITS:
            value = section + (digit or 0)
            if _BIG_UNITS[ch] == 10_000:
                if value == 0 or had_wan:
                    raise ValueError(f"unit {ch} out of place in {text!r}")
                wan, had_wan = value * 10_000, True
            else:
                value += wan
                if value == 0 or had_yi:
                    raise ValueError(f"unit {ch} out of place in {text!r}")
                total, had_yi = value * 100_000_000, True
                wan, had_wan = 0, False
            section, digit, last_small = 0, None, 10_000
        else:
            raise ValueError(f"not a numeral: {ch!r} in {text!r}")
    if not seen:
        raise ValueError(f"no number in {text!r}")
    return total + wan + section + (digit or 0)


def parse_capital(text: str) -> int:
    """An amount in capital numerals (贰万捌仟伍佰元整, 壹拾元零伍角, 伍分) to fen."""
    s = re.sub(r"\s+", "", text)
    s = s.removeprefix("人民币").removeprefix("RMB")
    s = s.rstrip("".join(_WHOLE))
    if not s:
        raise ValueError("empty amount")
    yuan_part, sep, frac = s, "", ""
    for ch in _YUAN:
        if ch in s:
            yuan_part, sep, frac = s.partition(ch)
            break
    if not sep:
        # no 元: only 角/分, e.g. 伍角 or 伍分
        yuan_part, frac = "", s
        if not any(u in s for u in "角分"):
            raise ValueError(f"an amount needs 元, 角 or 分: {text!r}")
    yuan = _parse_integer(yuan_part) if yuan_part else 0
    if sep and not yuan_part:
        raise ValueError(f"元 without a number in {text!r}")
    jiao = fen = 0
    m = re.fullmatch(r"零?(?:(.)角)?零?(?:(.)分)?", frac)
    if m is None:
        raise ValueError(f"bad 角/分 part {frac!r} in {text!r}")
    for group, name in ((m.group(1), "角"), (m.group(2), "分")):
        if group is not None and (group not in _DIGITS or _DIGITS[group] == 0):
            raise ValueError(f"bad digit before {name} in {text!r}")
    if m.group(1):
        jiao = _DIGITS[m.group(1)]
    if m.group(2):
        fen = _DIGITS[m.group(2)]
    total = yuan * 100 + jiao * 10 + fen
    if total > MAX_FEN:
        raise ValueError(f"amount too large: {text!r}")
    return total


# -- amounts in figures ----------------------------------------------------------------

_FIGURES_RE = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")


def parse_figures(text: str) -> int:
    """28,500.00 / 28500 / ¥28,500.5 to fen (full-width digits and separators accepted)."""
    s = normalize_width(text).strip().lstrip("¥").strip().replace("，", ",").replace("。", ".")
    s = re.sub(r"\s+", "", s)
    m = _FIGURES_RE.match(s)
    if m is None:
        raise ValueError(f"not an amount in figures: {text!r}")
    yuan = int(m.group(1).replace(",", ""))
    frac = (m.group(2) or "").ljust(2, "0")
    total = yuan * 100 + int(frac)
    if total > MAX_FEN:
        raise ValueError(f"amount too large: {text!r}")
    return total


def fen_to_figures(fen: int) -> str:
    """28,500.00 for 2_850_000 fen."""
    if type(fen) is not int or fen < 0:
        raise ValueError(f"amount must be a non-negative int of fen, got {fen!r}")
    yuan, rest = divmod(fen, 100)
    return f"{yuan:,}.{rest:02d}"


def normalize_width(text: str) -> str:
    """Full-width ASCII (０-９, Ａ-Ｚ, ￥, ：) to half-width."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E and ch not in "，。：；（）":
            out.append(chr(code - 0xFEE0))
        elif ch == "￥":
            out.append("¥")
        elif ch == "\u3000":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


# -- dates -----------------------------------------------------------------------------

_SMALL_NUM_RE = "[〇○零一二两三四五六七八九十]"
_YEAR_ZERO = "〇○零Oo0“”\"'，,。"  # OCR reads 〇 as O, 0, a quotation mark or a comma, and sometimes twice
CHINESE_DATE_RE = re.compile(
    rf"([{_YEAR_ZERO}一二三四五六七八九]{{4,6}})\s*年\s*({_SMALL_NUM_RE}{{1,3}})\s*月\s*({_SMALL_NUM_RE}{{1,4}})(?:\s*[日号])?"
)
ARABIC_DATE_RE = re.compile(
    r"(\d{4})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})(?!\d)(?:\s*[日号])?|[-/.](\d{1,2})[-/.](\d{1,2})(?!\d))"
)


def _small_number(text: str) -> int:
    """一 .. 三十一 (十一, 二十, 二十八) as an int."""
    if "十" in text:
        tens, _, ones = text.partition("十")
        value = (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)
        if tens and _DIGITS[tens] == 0:
            raise ValueError(f"bad number {text!r}")
        return value
    if len(text) == 1:
        return _DIGITS[text]
    if len(text) == 2:  # 二八 style, as some write days
        return _DIGITS[text[0]] * 10 + _DIGITS[text[1]]
    raise ValueError(f"bad number {text!r}")


def chinese_date(year: str, month: str, day: str) -> dt.date:
    digits = "".join("0" if ch in _YEAR_ZERO else str(_DIGITS[ch]) for ch in year)
    while len(digits) > 4 and "00" in digits:
        digits = digits.replace("00", "0", 1)  # one 〇 read twice (O〇)
    if len(digits) != 4:
        raise ValueError(f"bad year {year!r}")
    y = int(digits)
    return dt.date(y, _small_number(month), _small_number(day))


def parse_date(text: str) -> dt.date:
    """The first date in ``text``: 2026年11月28日, 2026-11-28, 2026.11.28 or 二〇二六年十一月二十八日."""
    s = normalize_width(text)
    found = find_dates(s)
    if not found:
        raise ValueError(f"no date in {text!r}")
    return found[0][1]


def find_dates(text: str) -> list[tuple[int, dt.date]]:
    """Every valid date in ``text`` with its position, in order."""
    s = normalize_width(text)
    found: list[tuple[int, dt.date]] = []
    for m in CHINESE_DATE_RE.finditer(s):
        try:
            found.append((m.start(), chinese_date(m.group(1), m.group(2), m.group(3))))
        except (ValueError, KeyError):
            continue
    for m in ARABIC_DATE_RE.finditer(s):
        month = m.group(2) or m.group(4)
        day = m.group(3) or m.group(5)
        try:
            found.append((m.start(), dt.date(int(m.group(1)), int(month), int(day))))
        except ValueError:
            continue
    return sorted(found)


def date_to_chinese(date: dt.date) -> str:
    """二〇二六年十一月二十八日."""
    digits = "〇一二三四五六七八九"
    year = "".join(digits[int(c)] for c in f"{date.year:04d}")

    def small(n: int) -> str:
        if n < 10:
            return digits[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")

    return f"{year}年{small(date.month)}月{small(date.day)}日"
