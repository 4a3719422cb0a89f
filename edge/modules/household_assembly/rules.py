"""The household assembly's decisions, as pure functions: no I/O, exact decimals.

The console, the command line (``qinglian assembly tally``, which recomputes a published result from a
meeting file) and the tests all call these, so a rate reads the same wherever it is shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

RATINGS = ("满意", "基本满意", "不满意")
WORK = "年度工作"  # the year's work is rated beside each cadre, as one more target
HONOURS_LEAD_DAYS = 7  # the honours result is published at least a week before the meeting
DEFAULT_LINE_PERCENT = "80"  # a cadre below this satisfaction rate is flagged to the township for a talk
# How a satisfaction rate is computed, as a village's config names it: the ratings that count as satisfied.
FORMULAS = {"satisfied_and_basic": ("满意", "基本满意"), "satisfied_only": ("满意",)}
DEFAULT_FORMULA = "satisfied_and_basic"  # (满意 + 基本满意) / valid ballots
# The county's four fixed items ("4"), in their order; the village adds its own ("X") after them.
FIXED_AGENDA = ("表彰先进", "述职述责", "质询评议", "宣讲点评")
MAX_VILLAGE_ITEMS = 10
MAX_HOUSEHOLDS = 5000  # the largest village register a file may hold
MAX_MEMBERS = 50
_TEXT_LIMITS = {"id": 20, "head": 20, "group": 20}
_PHONE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
_HOUSEHOLD_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,19}", re.ASCII)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


class RuleError(ValueError):
    """An input a rule does not accept; ``message`` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- text as people type it ----------------------------------------------------------------------------------


def clean_text(value: object, what: str, limit: int, required: bool = True) -> str:
    """One line of text: stripped, no control characters, within ``limit`` characters; a spreadsheet formula
    (a cell starting = + - @) is refused, so an export opened in Excel never runs one."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    text = value.strip()
    if required and not text:
        raise RuleError(f"{what}不能为空")
    if len(text) > limit:
        raise RuleError(f"{what}不能超过 {limit} 个字")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in text):
        raise RuleError(f"{what}含有不可见的控制字符")
    if text[:1] in ("=", "+", "-", "@"):
        raise RuleError(f"{what}不能以 = + - @ 开头（表格公式）")
    return text


# -- the household register ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Household:
    id: str  # 户号, as the village numbers its households
    head: str  # 户主
    members: int  # 家庭人数
    group: str  # 承包组 (村民小组)
    phone: str  # may be empty; personal: never published

    def as_body(self) -> dict[str, Any]:
        return {"id": self.id, "head": self.head, "members": self.members, "group": self.group, "phone": self.phone}


# Column headers a register file may use, Chinese as villages write them or the English field names.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "id": ("户号", "户编号", "id"),
    "head": ("户主", "户主姓名", "head"),
    "members": ("人数", "家庭人数", "members"),
    "group": ("承包组", "村民小组", "组别", "group"),
    "phone": ("电话", "联系电话", "手机", "phone"),
}


def _members(value: object, where: str) -> int:
    text = str(value).strip() if value is not None else ""
    if isinstance(value, float) and value.is_integer():  # a spreadsheet stores 4 as 4.0
        text = str(int(value))
    if not text.isascii() or not text.isdigit() or len(text) > 3:
        raise RuleError(f"{where}：人数应为 1–{MAX_MEMBERS} 的整数，收到 {text[:20]!r}")
    number = int(text)
    if not 1 <= number <= MAX_MEMBERS:
        raise RuleError(f"{where}：人数应为 1–{MAX_MEMBERS} 的整数，收到 {number}")
    return number


def read_register(rows: Sequence[Sequence[object]]) -> list[Household]:
    """A register from a table's rows (the header first): every row checked, the whole file refused at the first
    bad row with its line number, so an import never lands half-way."""
    if not rows:
        raise RuleError("文件是空的：第一行应为表头（户号、户主、人数、承包组、电话）")
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    where: dict[str, int] = {}
    for field_name, names in COLUMNS.items():
        found = [i for i, h in enumerate(header) if h in names]
        if len(found) > 1:
            raise RuleError(f"表头中「{names[0]}」出现了不止一次")
        if found:
            where[field_name] = found[0]
        elif field_name != "phone":
            raise RuleError(f"表头缺少「{names[0]}」列（需要：户号、户主、人数、承包组；电话可选）")
    body = [r for r in rows[1:] if any(c is not None and str(c).strip() for c in r)]
    if not body:
        raise RuleError("文件中没有户的记录")
    if len(body) > MAX_HOUSEHOLDS:
        raise RuleError(f"一个文件最多 {MAX_HOUSEHOLDS} 户，此文件有 {len(body)} 户")
    seen: set[str] = set()
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c is not None and str(c).strip() for c in row):
            continue
        line = f"第 {n} 行"

        def cell(name: str, row: Sequence[object] = row) -> object:
            i = where.get(name)
            return row[i] if i is not None and i < len(row) else None

        raw_id = cell("id")
        if isinstance(raw_id, float) and raw_id.is_integer():
            raw_id = int(raw_id)
        hid = clean_text(raw_id, f"{line}户号", _TEXT_LIMITS["id"])
        if not _HOUSEHOLD_ID.fullmatch(hid):
            raise RuleError(f"{line}：户号只能用字母、数字、- 和 _（最多 20 个），收到 {hid!r}")
        if hid in seen:
            raise RuleError(f"{line}：户号 {hid} 重复")
        seen.add(hid)
        phone = clean_text(cell("phone"), f"{line}电话", 20, required=False).replace(" ", "").replace("-", "")
        if phone and not _PHONE.fullmatch(phone):
            raise RuleError(f"{line}：电话应为 11 位手机号码，或留空")
        out.append(Household(
            hid, clean_text(cell("head"), f"{line}户主", _TEXT_LIMITS["head"]), _members(cell("members"), line),
            clean_text(cell("group"), f"{line}承包组", _TEXT_LIMITS["group"]), phone,
        ))  # fmt: skip
    return out


def register_changes(current: Mapping[str, Household], imported: Sequence[Household]) -> list[Household]:
    """The households a file adds or changes; the unchanged ones are left out, so the ledger records changes only."""
    return [h for h in imported if current.get(h.id) != h]


# -- the meeting -------------------------------------------------------------------------------------------------


def agenda(village_items: Sequence[str]) -> list[str]:
    """The 4+X agenda: the county's four items, then the village's own (each one line)."""
    items = [clean_text(item, "村自定议题", 60) for item in village_items if item.strip()]
    if len(items) > MAX_VILLAGE_ITEMS:
        raise RuleError(f"村自定议题最多 {MAX_VILLAGE_ITEMS} 项")
    return [*FIXED_AGENDA, *items]


def honours_in_time(published_on: date, meeting_on: date) -> bool:
    """The honours result may be published up to 7 days before the meeting: exactly 7 days is in time."""
    return (meeting_on - published_on).days >= HONOURS_LEAD_DAYS


def percent(numerator: int, denominator: int) -> str:
    """A rate in percent with two decimals, rounded half up: 813/1000 → "81.30"."""
    if denominator <= 0:
        raise RuleError("比率的分母应大于 0")
    value = (Decimal(numerator) * _HUNDRED / Decimal(denominator)).quantize(_CENT, rounding=ROUND_HALF_UP)
    return f"{value:.2f}"


def line_percent(text: object) -> Decimal:
    """The configured line, a percent between 0 and 100 (at most two decimals)."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,2})?", text, re.ASCII):
        raise RuleError(f'满意率警戒线应为 0–100 的百分数，例如 "80"，收到 {str(text)[:20]!r}')
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise RuleError("满意率警戒线格式错误") from None
    if value > _HUNDRED:
        raise RuleError("满意率警戒线不能超过 100")
    return value


@dataclass(frozen=True)
class Tally:
    """One target's count: a cadre, or the year's work (:data:`WORK`)."""

    cadre: str
    satisfied: int
    basically: int
    dissatisfied: int

    @property
    def ballots(self) -> int:
        return self.satisfied + self.basically + self.dissatisfied

    def rate(self, formula: str = DEFAULT_FORMULA) -> str:
        """The ratings the formula counts as satisfied, over the valid ballots."""
        counted = FORMULAS[formula]
        counts = dict(zip(RATINGS, (self.satisfied, self.basically, self.dissatisfied), strict=True))
        return percent(sum(counts[r] for r in counted), self.ballots)


def result(
    households: int, signed_in: int, tallies: Sequence[Tally], line: Decimal, formula: str = DEFAULT_FORMULA
) -> dict[str, Any]:
    """The published result: the attendance rate and each target's counts, rate and whether it is flagged. Refused
    when a target has more ballots than households signed in (one ballot per household present)."""
    if signed_in > households:
        raise RuleError(f"签到户数 {signed_in} 多于户数 {households}")
    out = []
    for t in tallies:
        if min(t.satisfied, t.basically, t.dissatisfied) < 0:
            raise RuleError(f"「{t.cadre}」的票数不能为负")
        if t.ballots > signed_in:
            raise RuleError(f"「{t.cadre}」有 {t.ballots} 张票，多于签到的 {signed_in} 户：每户一票")
        if t.ballots == 0:
            raise RuleError(f"「{t.cadre}」没有有效票")
        rate = t.rate(formula)
        out.append({
            "cadre": t.cadre, "ballots": t.ballots, "satisfied": t.satisfied, "basically": t.basically,
            "dissatisfied": t.dissatisfied, "satisfaction_rate": rate, "flagged": Decimal(rate) < line,
        })  # fmt: skip
    return {"attendance_rate": percent(signed_in, households), "cadres": out}


def tally_meeting(meeting: object) -> dict[str, Any]:
    """``qinglian assembly tally``: a meeting file (households, signed_in, ballots, line_percent) → the result."""
    if not isinstance(meeting, dict):
        raise RuleError("会议文件应为 JSON 对象")
    households = meeting.get("households")
    if not isinstance(households, list) or not households:
        raise RuleError('households 应为非空列表，每项 {"id": ...}')
    ids: set[str] = set()
    for h in households:
        if not isinstance(h, dict) or not isinstance(h.get("id"), str) or not h["id"]:
            raise RuleError('households 的每一项应为 {"id": "户号"}')
        if h["id"] in ids:
            raise RuleError(f"户号 {h['id']} 重复")
        ids.add(h["id"])
    signed = meeting.get("signed_in")
    if not isinstance(signed, list) or not all(isinstance(s, str) for s in signed):
        raise RuleError("signed_in 应为户号的列表")
    for s in signed:
        if s not in ids:
            raise RuleError(f"签到的 {s!r} 不是登记的户")
    if len(set(signed)) != len(signed):
        raise RuleError("signed_in 中有重复的户：每户只签到一次")
    ballots = meeting.get("ballots")
    if not isinstance(ballots, list):
        raise RuleError('ballots 应为列表，每项 {"cadre", "rating"}')
    counts: dict[str, list[int]] = {}
    for b in ballots:
        if not isinstance(b, dict) or not isinstance(b.get("cadre"), str) or not b["cadre"]:
            raise RuleError('ballots 的每一项应为 {"cadre": "姓名", "rating": "满意"}')
        if b.get("rating") not in RATINGS:
            raise RuleError(f"评议结果应为 满意、基本满意 或 不满意，收到 {str(b.get('rating'))[:20]!r}")
        counts.setdefault(b["cadre"], [0, 0, 0])[RATINGS.index(b["rating"])] += 1
    line = line_percent(meeting.get("line_percent", DEFAULT_LINE_PERCENT))
    return result(len(ids), len(signed), [Tally(c, *n) for c, n in counts.items()], line)


# -- paper ballots: two tellers, one tally sheet ---------------------------------------------------------------


def tally_counts(raw: Mapping[str, object], targets: Sequence[str]) -> dict[str, list[int]]:
    """A teller's tally sheet as typed: for each target its 满意 / 基本满意 / 不满意 counts, whole numbers 0..9999."""
    out: dict[str, list[int]] = {}
    for target in targets:
        row = raw.get(target)
        if not isinstance(row, list | tuple) or len(row) != len(RATINGS):
            raise RuleError(f"「{target}」应填三个数：满意、基本满意、不满意")
        numbers = []
        for value in row:
            text = str(value).strip()
            if not text.isascii() or not text.isdigit() or len(text) > 4:
                raise RuleError(f"「{target}」的票数应为 0–9999 的整数，收到 {text[:10]!r}")
            numbers.append(int(text))
        out[target] = numbers
    if set(raw) - set(targets):
        raise RuleError("计票单中有不在评议名单上的对象")
    return out


def second_entry_agrees(first: Mapping[str, Sequence[int]], second: Mapping[str, Sequence[int]]) -> list[str]:
    """The targets whose counts the second teller entered differently from the first (empty: the sheet is confirmed)."""
    return [t for t in first if list(first[t]) != list(second.get(t, ()))]


def sum_sheets(sheets: Sequence[Mapping[str, Sequence[int]]], targets: Sequence[str]) -> list[Tally]:
    """The confirmed tally sheets added up, target by target, in the order of the rating list."""
    totals = {t: [0, 0, 0] for t in targets}
    for sheet in sheets:
        for t in targets:
            for i, n in enumerate(sheet.get(t, (0, 0, 0))):
                totals[t][i] += n
    return [Tally(t, *totals[t]) for t in targets]


# -- commitments ---------------------------------------------------------------------------------------------------


def progress_percent(value: object) -> int:
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 3 or int(text) > 100:
        raise RuleError(f"进度应为 0–100 的整数，收到 {text[:10]!r}")
    return int(text)


def overdue(deadline: date, progress: int, today: date) -> bool:
    """A commitment not done by the end of its deadline day is overdue (on the deadline day it is not yet)."""
    return progress < 100 and today > deadline
