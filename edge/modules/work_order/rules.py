"""The labour-dispatch rules (用工派工单), as pure functions: no I/O, integer fen, exact decimals.

The console's steps, the ``qinglian labour dispatch`` command that recomputes a published rotation and the
tests all call these, so the rotation a villager checks on the notice board is the one the desk applied.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from edge.kernel.errors import InputError, Refused
from edge.kernel.fmt import yuan

#: The trades of the worker pool (务工人员名库), in the order the console lists them.
TRADES = {
    "cleaning": "保洁", "road": "道路维修", "water_electric": "水电", "carpentry": "木工",
    "painting": "油漆", "labour": "普工",
}  # fmt: skip
#: A job of this amount or more is a 限额工程 (small project), not a work order.
LIMIT_FEN = 3_000_000
MAX_HEADCOUNT = 50
MAX_DAYS = 7  # one order stays inside one week's plan
MAX_RATE_FEN = 200_000  # ¥2,000 a person-day: above any village's odd-job rate, so a typo cannot pass

AVAILABLE, UNAVAILABLE, BLACKLISTED = "available", "unavailable", "blacklisted"
STATUS_NAMES = {AVAILABLE: "可派工", UNAVAILABLE: "暂不可派", BLACKLISTED: "黑名单"}
#: Why a worker was passed over by a dispatch, in Chinese.
SKIP_REASONS = {UNAVAILABLE: "暂不可派", BLACKLISTED: "黑名单", "refused": "本人拒绝（视同已轮到）", "relative": "申请人亲属回避"}
ROTATION, POSTED = "rotation", "posted"
#: Attendance per worker and day, in half days.
ATTENDANCE = {"full": 2, "half": 1, "absent": 0}
ATTENDANCE_NAMES = {2: "全天", 1: "半天", 0: "缺勤"}
BANK = "bank"


# -- the rotation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A worker of one trade as the rotation reads them: their public order number and their standing."""

    id: str
    order: int
    available: bool = True
    blacklisted: bool = False


@dataclass(frozen=True)
class Dispatch:
    """Who a job takes, who was passed over and why, and the trade's cursor before and after (the order
    number of the last worker whose turn it was; None before the first dispatch)."""

    workers: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (worker, reason code of SKIP_REASONS)
    cursor_before: int | None
    cursor_after: int | None


def away_during(status: str, away_from: str | None, away_to: str | None, start: date, end: date) -> bool:
    """Whether an unavailable worker is away for any day of a job from ``start`` to ``end``: before their dates
    begin or after they end they take their turn again, with no one having to remember to set them back."""
    if status != UNAVAILABLE:
        return False
    if away_from is None or away_to is None:
        return True
    return date.fromisoformat(away_from) <= end and start <= date.fromisoformat(away_to)


def check_pool(pool: Sequence[Candidate]) -> None:
    """One trade's pool: unique ids and unique order numbers (the order, not a list's order, decides)."""
    ids = [c.id for c in pool]
    if len(set(ids)) != len(ids):
        raise InputError("名库中同一工种内工人编号重复，请改正名库", "bad_pool")
    orders = [c.order for c in pool]
    if len(set(orders)) != len(orders):
        raise InputError("同一工种内轮派序号重复，请改正名库", "bad_pool")


def _reason(c: Candidate, refused: Collection[str], relatives: Collection[str]) -> str | None:
    if c.blacklisted:
        return BLACKLISTED
    if not c.available:
        return UNAVAILABLE
    if c.id in relatives:
        return "relative"
    if c.id in refused:
        return "refused"
    return None


def rotate(pool: Sequence[Candidate], cursor: int | None, headcount: int,
           refused: Collection[str] = (), relatives: Collection[str] = ()) -> Dispatch:  # fmt: skip
    """The next ``headcount`` workers after ``cursor`` in the public order, cyclically.

    Each worker is looked at once per job. A blacklisted or unavailable worker, or a relative of the
    applicant, is passed over and keeps their place; a worker who refuses is passed over as if dispatched
    (the cursor moves past them, so refusing does not keep one's turn). Fewer eligible workers than asked
    for: refused before anything is taken."""
    check_pool(pool)
    if type(headcount) is not int or not 1 <= headcount <= MAX_HEADCOUNT:
        raise InputError(f"人数应为 1 到 {MAX_HEADCOUNT} 的整数", "bad_headcount")
    eligible = [c for c in pool if _reason(c, refused, relatives) is None]
    if len(eligible) < headcount:
        raise InputError(
            f"可派工人不足：需要 {headcount} 人，可派 {len(eligible)} 人",
            "too_few_workers",
        )
    ordered = sorted(pool, key=lambda c: c.order)
    start = next((i for i, c in enumerate(ordered) if cursor is None or c.order > cursor), 0)
    taken: list[str] = []
    skipped: list[tuple[str, str]] = []
    after = cursor
    for c in ordered[start:] + ordered[:start]:
        if len(taken) == headcount:
            break
        reason = _reason(c, refused, relatives)
        if reason is None:
            taken.append(c.id)
        else:
            skipped.append((c.id, reason))
        if reason in (None, "refused"):
            after = c.order
    return Dispatch(tuple(taken), tuple(skipped), cursor, after)


def take_posted(pool: Sequence[Candidate], takers: Sequence[str], headcount: int, relatives: Collection[str] = ()) -> Dispatch:
    """A posted job (公开招工): the first qualified takers in the order they came; the rotation's cursor stays."""
    check_pool(pool)
    by_id = {c.id: c for c in pool}
    taken: list[str] = []
    skipped: list[tuple[str, str]] = []
    for worker in dict.fromkeys(takers):  # one place per taker, however often they signed up
        if len(taken) == headcount:
            break
        c = by_id.get(worker)
        if c is None:
            raise InputError(f"报名人 {worker!r:.40} 不在此工种名库中", "unknown_worker")
        reason = _reason(c, (), relatives)
        if reason is None:
            taken.append(worker)
        else:
            skipped.append((worker, reason))
    if len(taken) < headcount:
        raise InputError(f"合格报名人不足：需要 {headcount} 人，合格 {len(taken)} 人", "too_few_workers")
    return Dispatch(tuple(taken), tuple(skipped), None, None)


# -- the order: dates, amount, the 30,000 yuan limit ----------------------------------------------------------


def parse_day(text: object, what: str) -> date:
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip(), re.ASCII):
        raise InputError(f"{what}应为 年-月-日 的日期，例如 2026-03-15", "bad_date")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what}不是有效日期：{text.strip()}", "bad_date") from None


def week_of(day: date) -> str:
    """The ISO week a day belongs to, as the weekly plan names it: ``2026-W49``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_days(week: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week ``YYYY-Www``."""
    m = re.fullmatch(r"(\d{4})-W(\d{2})", week, re.ASCII)
    if m is None:
        raise InputError(f"周次应为 年份-W周数，例如 2026-W49，收到 {week!r:.20}", "bad_week")
    try:
        monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError:
        raise InputError(f"没有这一周：{week}", "bad_week") from None
    return monday, monday + timedelta(days=6)


def order_days(start: date, end: date) -> int:
    """Working days of an order (both ends counted), inside one ISO week."""
    if end < start:
        raise InputError("结束日期不能早于开始日期", "bad_date")
    if week_of(start) != week_of(end):
        raise InputError("一张派工单不能跨周（按周计划审定），请分开填写", "bad_date")
    return (end - start).days + 1


def order_amount(rate_fen: int, headcount: int, days: int) -> int:
    """The order's amount: rate per person-day × headcount × days, in fen."""
    return rate_fen * headcount * days


class OverLimit(Refused):
    """A job of 30,000 yuan or more, refused here: it carries what was typed (content, place, amount), so the
    console can offer it to the small-project module's filing form instead of making the clerk type it again."""

    def __init__(self, amount_fen: int, content: str = "", place: str = "") -> None:
        super().__init__(
            f"金额 {yuan(amount_fen)} 达到 {yuan(LIMIT_FEN)}，不能作为派工单，请按限额工程申报",
            "over_limit",
        )
        self.amount_fen, self.content, self.place = amount_fen, content, place


def check_limit(amount_fen: int, content: str = "", place: str = "") -> None:
    """A job of 30,000 yuan or more is not a work order: it goes to the small-project module (限额工程)."""
    if amount_fen >= LIMIT_FEN:
        raise OverLimit(amount_fen, content, place)


# -- the week's plan -----------------------------------------------------------------------------------------


def check_plan_allows(week_status: str | None, in_plan: bool, emergency: bool) -> None:
    """Whether an order may be worked: it stands in its week's approved plan, or came by the emergency path."""
    if emergency:
        return
    if week_status != "approved":
        raise Refused("本周用工计划尚未经两委会审定，不能派工", "plan_not_approved")
    if not in_plan:
        raise Refused("此派工单不在本周已审定的用工计划内，计划外用工须走紧急通道", "not_in_plan")


# -- attendance and pay ----------------------------------------------------------------------------------------


def may_keep_attendance(person: str, station_head: str | None, supervisors: Mapping[str, str], areas: Collection[str]) -> bool:
    """Who keeps an order's attendance sheet: the station head, or the committee member supervising an area of the
    order's dispatched workers. A village that configured neither keeps its practice: anyone of the roster."""
    if station_head is None and not supervisors:
        return True
    return person == station_head or any(supervisors.get(area) == person for area in areas)


def check_attendance_day(day: date, start: date, end: date, today: date) -> None:
    """Attendance is kept for a day of the order that has come: never ahead of the work (invented labour)."""
    if not start <= day <= end:
        raise InputError(f"出勤日期应在派工日期 {start} 至 {end} 之内", "bad_date")
    if day > today:
        raise InputError(f"不能登记今天（{today}）以后的出勤", "future_attendance")


@dataclass(frozen=True)
class PayLine:
    worker: str
    half_days: int
    amount_fen: int

    @property
    def days(self) -> Decimal:
        return Decimal(self.half_days) / 2


def pay_lines(attendance: Sequence[tuple[str, int]], rate_fen: int) -> tuple[PayLine, ...]:
    """Pay per worker from the attendance sheet (worker, half days of one day), at ``rate_fen`` a full day;
    a half day pays half the rate, rounded half up to the fen (once per worker, never per day)."""
    halves: dict[str, int] = {}
    for worker, half in attendance:
        if half not in ATTENDANCE_NAMES:
            raise InputError(f"出勤应为 0、1 或 2 个半天，收到 {half!r:.20}", "bad_attendance")
        halves[worker] = halves.get(worker, 0) + half
    lines = []
    for worker, n in halves.items():
        if n:
            fen = (Decimal(rate_fen) * n / 2).quantize(Decimal(1), ROUND_HALF_UP)
            lines.append(PayLine(worker, n, int(fen)))
    return tuple(lines)


def check_pay(total_fen: int, line_amount_fen: int) -> None:
    """Pay may not exceed the amount its plan line (or emergency order) approved."""
    if total_fen <= 0:
        raise InputError("没有出勤记录，无可发放的工资", "no_attendance")
    if total_fen > line_amount_fen:
        raise Refused(f"工资合计 {yuan(total_fen)} 超过计划核定金额 {yuan(line_amount_fen)}，不能发放", "over_plan")


def check_method(method: object) -> None:
    """Pay goes by bank transfer only: a cash payment cannot be recorded."""
    if method != BANK:
        raise Refused("劳务工资只能通过银行转账发放，不能记录现金支付", "cash_refused")


# -- personal numbers, checked before they are sealed ----------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The check character of a resident ID number (GB 11643, ISO 7064 MOD 11-2) from its first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def check_id_number(text: object) -> str:
    """A mainland resident ID number (18 characters, GB 11643 check digit), upper-cased."""
    value = text.strip().upper() if isinstance(text, str) else ""
    if not re.fullmatch(r"\d{17}[\dX]", value, re.ASCII):
        raise InputError("身份证号应为 18 位（最后一位可为 X）", "bad_id_number")
    if id_check_digit(value[:17]) != value[-1]:
        raise InputError("身份证号校验位不对，请核对", "bad_id_number")
    return value


def check_bank_account(text: object) -> str:
    """A bank account or card number for the transfer: 12 to 30 digits (spaces allowed as typed)."""
    value = re.sub(r"[\s-]", "", text) if isinstance(text, str) else ""
    if not re.fullmatch(r"\d{12,30}", value, re.ASCII):
        raise InputError("银行账号应为 12 到 30 位数字", "bad_bank_account")
    return value


def check_phone(text: object) -> str:
    value = re.sub(r"[\s-]", "", text) if isinstance(text, str) else ""
    if not re.fullmatch(r"1\d{10}|0\d{9,11}", value, re.ASCII):
        raise InputError("联系电话应为 11 位手机号或带区号的固定电话", "bad_phone")
    return value


def fairness(counts: Mapping[str, int]) -> int:
    """The spread of dispatches among workers (max − min): the township compares it across villages."""
    return max(counts.values()) - min(counts.values()) if counts else 0


def favoured(counts: Mapping[str, int]) -> set[str]:
    """Workers hired well ahead of the others of their trade: more than one dispatch above the trade's median.

    The rotation keeps the workers it calls within one of each other, and a worker away for a while falls behind,
    not ahead; one who runs ahead by more came some other way (a posted job taken first again and again, or hired
    out of turn): the favourite the township looks into. Integers only: twice the median, compared doubled."""
    values = sorted(counts.values())
    if not values:
        return set()
    twice_median = values[(len(values) - 1) // 2] + values[len(values) // 2]
    return {worker for worker, n in counts.items() if 2 * n > twice_median + 2}
