"""The whistleblower module's decisions, as pure functions: no I/O, no clock (the caller passes ``now``),
exact decimals. The console, the CLI that recomputes a published rating and the tests call these same ones.

- The roster of a station (1+2+N): exactly one station head, exactly two liaisons, one or more informants,
  each from a named group; one person holds one place.
- The closed loop: received → acknowledged → triaged (at a review meeting) → verified → resolved (confirmed)
  or dismissed → feedback (closed). Deadlines as EU Directive 2019/1937 sets them: acknowledge within 7 days
  of receipt, feedback within 3 months of receipt; a step done at its deadline to the microsecond is on time.
- The yearly rating (金哨/银哨/哑哨/黑哨), documented at :func:`rate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from edge.kernel.errors import InputError
from edge.kernel.months import add_months
from edge.ledger.localtime import SHANGHAI

# -- the roster ---------------------------------------------------------------------------------------------

ROLES = ("head", "liaison", "informant")
ROLE_NAMES = {"head": "站长", "liaison": "联络员", "informant": "廉情信息员"}
GROUPS = {
    "representative": "村民代表", "committee": "村务监督委员会委员", "veteran": "老党员",
    "worthy": "乡贤", "other": "其他",
}  # fmt: skip
LIAISONS = 2
MAX_MEMBERS = 60
MAX_NAME_CHARS = 20
_MEMBER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")  # as a console username: the account a member uses


@dataclass(frozen=True)
class Member:
    id: str  # the console account (username) the member logs in with
    name: str
    role: str
    group: str

    def to_body(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role, "group": self.group}


def check_station_name(name: object) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > 40:
        raise InputError("请填写联络站名称（最多 40 个字）", "bad_station")
    return text


def check_roster(members: Sequence[Mapping[str, Any]]) -> tuple[Member, ...]:
    """The 1+2+N roster as saved, or ``InputError`` naming the first thing wrong or missing."""
    if len(members) > MAX_MEMBERS:
        raise InputError(f"名册最多 {MAX_MEMBERS} 人", "bad_roster")
    out: list[Member] = []
    seen: set[str] = set()
    for n, m in enumerate(members, 1):
        where = f"第 {n} 人"
        pid = str(m.get("id") or "").strip()
        if not _MEMBER_ID.match(pid):
            raise InputError(f"{where}：账号应为 2 到 40 个字母、数字或 _ . -", "bad_roster")
        if pid in seen:
            raise InputError(f"{where}：账号 {pid} 重复，一人只能担任一个职位", "bad_roster")
        seen.add(pid)
        name = str(m.get("name") or "").strip()
        if not name or len(name) > MAX_NAME_CHARS:
            raise InputError(f"{where}（{pid}）：请填写姓名（最多 {MAX_NAME_CHARS} 个字）", "bad_roster")
        role = str(m.get("role") or "").strip()
        if role not in ROLES:
            raise InputError(f"{where}（{name}）：职位应为 {'、'.join(ROLE_NAMES.values())} 之一", "bad_roster")
        group = str(m.get("group") or "").strip()
        if group not in GROUPS:
            raise InputError(f"{where}（{name}）：来源应为 {'、'.join(GROUPS.values())} 之一", "bad_roster")
        out.append(Member(pid, name, role, group))
    counts = {r: sum(1 for m in out if m.role == r) for r in ROLES}
    missing = []
    if counts["head"] != 1:
        missing.append(f"站长应为 1 名（现有 {counts['head']} 名）")
    if counts["liaison"] != LIAISONS:
        missing.append(f"联络员应为 {LIAISONS} 名（现有 {counts['liaison']} 名）")
    if counts["informant"] < 1:
        missing.append("至少需要 1 名廉情信息员（现有 0 名）")
    if missing:
        raise InputError("名册不符合“1+2+N”：" + "；".join(missing), "bad_roster")
    return tuple(out)


def head_of(roster: Sequence[Member]) -> Member:
    return next(m for m in roster if m.role == "head")


# -- receipt codes ------------------------------------------------------------------------------------------

CODE_DIGITS = 20  # about 66 bits: from ``secrets`` (crypto.new_receipt_code); the issue asks for at least 16


def normalize_code(text: object) -> str | None:
    """A receipt code as typed (spaces or dashes between groups allowed) → its digits, or None if it is none."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    digits = re.sub(r"[\s-]", "", text)
    return digits if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit() else None


def show_code(code: str) -> str:
    """Grouped by four for reading aloud and copying by hand."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


# -- the closed loop and its deadlines --------------------------------------------------------------------

ACK_DAYS = 7
FEEDBACK_MONTHS = 3
STATES = ("received", "acknowledged", "triaged", "verified", "resolved", "dismissed", "closed")
STATE_NAMES = {
    "received": "已收到", "acknowledged": "已确认收到", "triaged": "已研判", "verified": "已核实",
    "resolved": "已查实办结", "dismissed": "不予采信", "closed": "已反馈",
}  # fmt: skip
SOURCES = {"public": "群众网上举报", "team": "吹哨人收集", "liaison": "联络员代录"}
# step -> the states it may follow
STEPS: dict[str, tuple[str, ...]] = {
    "acknowledge": ("received",),
    "triage": ("acknowledged",),
    "verify": ("triaged",),
    "resolve": ("verified",),
    "feedback": ("resolved", "dismissed"),
}
STEP_NAMES = {"acknowledge": "确认收到", "triage": "研判", "verify": "核实", "resolve": "办结", "feedback": "反馈"}
OUTCOMES = {"confirmed": "resolved", "dismissed": "dismissed"}
DEADLINE_NAMES = {"acknowledge": "确认收到（7 日内）", "feedback": "反馈（3 个月内）"}
MAX_TEXT_CHARS = 5000


def ack_due(received: datetime) -> datetime:
    return received + timedelta(days=ACK_DAYS)


def feedback_due(received: datetime) -> datetime:
    """The same wall-clock time 3 calendar months later in Asia/Shanghai (the 31st becomes the month's last day)."""
    local = received.astimezone(SHANGHAI)
    day = add_months(local.date(), FEEDBACK_MONTHS)
    return local.replace(year=day.year, month=day.month, day=day.day).astimezone(UTC)


def overdue(due: datetime, now: datetime, done: bool) -> bool:
    """A step is overdue once ``now`` is past its deadline and it is not done: at the deadline it is not."""
    return not done and now > due


def next_state(state: str, step: str, outcome: str | None = None) -> str:
    """The state a clue moves to by ``step``, or ``InputError`` saying why the step does not fit now."""
    allowed = STEPS[step]
    if state not in allowed:
        before = "、".join(STATE_NAMES[s] for s in allowed)
        raise InputError(
            f"此线索当前为「{STATE_NAMES.get(state, state)}」，{STEP_NAMES[step]}须在「{before}」之后", "bad_state"
        )
    if step == "acknowledge":
        return "acknowledged"
    if step == "triage":
        return "triaged"
    if step == "verify":
        return "verified"
    if step == "resolve":
        if outcome not in OUTCOMES:
            raise InputError("办结结果应为“查实”或“不予采信”", "bad_outcome")
        return OUTCOMES[outcome]
    return "closed"


def check_text(text: object, what: str, required: bool = True) -> str:
    value = text.strip() if isinstance(text, str) else ""
    if required and not value:
        raise InputError(f"请填写{what}", "bad_text")
    if len(value) > MAX_TEXT_CHARS:
        raise InputError(f"{what}最多 {MAX_TEXT_CHARS} 个字", "bad_text")
    return value


# -- the yearly visit plan ---------------------------------------------------------------------------------

MAX_HOUSEHOLDS = 1000  # a member's year, or one visit


def check_households(value: object, what: str) -> int:
    text = str(value).strip() if value is not None else ""
    if not text.isascii() or not text.isdigit() or len(text) > 4 or int(text) > MAX_HOUSEHOLDS:
        raise InputError(f"{what}应为 0 到 {MAX_HOUSEHOLDS} 的整数户数", "bad_households")
    return int(text)


def check_visit_plan(targets: Mapping[str, object], roster: Sequence[str]) -> dict[str, int]:
    """The year's plan: households per member, every member of the roster with a number (0 allowed), no one else."""
    unknown = sorted(set(targets) - set(roster))
    if unknown:
        raise InputError(f"不在名册中：{'、'.join(unknown)[:100]}", "bad_plan")
    missing = [m for m in roster if m not in targets]
    if missing:
        raise InputError(f"走访计划缺少：{'、'.join(missing)[:100]}", "bad_plan")
    plan = {m: check_households(targets[m], f"{m} 的计划") for m in roster}
    if not any(plan.values()):
        raise InputError("走访计划至少要有一户", "bad_plan")
    return plan


# -- the yearly rating --------------------------------------------------------------------------------------

RATINGS = ("gold", "silver", "ordinary", "mute", "black")
RATING_NAMES = {"gold": "金哨", "silver": "银哨", "ordinary": "合格", "mute": "哑哨", "black": "黑哨"}


@dataclass(frozen=True)
class RatingRules:
    """The rating rule's parameters ([whistleblower] in the config; recorded in each rating run)."""

    gold_quota: int = 1  # per station and year
    silver_quota: int = 2
    gold_min_confirmed: int = 2
    gold_min_solved: int = 1
    silver_min_confirmed: int = 1
    pay_factors: Mapping[str, str] = field(
        default_factory=lambda: {"gold": "1.2", "silver": "1.1", "ordinary": "1.0", "mute": "0.8", "black": "0"}
    )

    def to_body(self) -> dict[str, Any]:
        return {
            "gold_quota": self.gold_quota, "silver_quota": self.silver_quota, "gold_min_confirmed": self.gold_min_confirmed,
            "gold_min_solved": self.gold_min_solved, "silver_min_confirmed": self.silver_min_confirmed,
            "pay_factors": dict(self.pay_factors),
        }  # fmt: skip

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RatingRules:
        return cls(
            int(body["gold_quota"]), int(body["silver_quota"]), int(body["gold_min_confirmed"]),
            int(body["gold_min_solved"]), int(body["silver_min_confirmed"]), dict(body["pay_factors"]),
        )  # fmt: skip


@dataclass(frozen=True)
class PersonYear:
    """What a team member's year holds: the clues they collected, how many were confirmed, how many of those
    solved a problem, and whether a cover-up or a malicious false report of theirs was confirmed."""

    person: str
    clues: int
    confirmed: int
    solved: int
    misconduct: bool = False


@dataclass(frozen=True)
class Rating:
    person: str
    rating: str
    clues: int
    confirmed: int
    solved: int
    pay_factor: str

    def to_body(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "rating": self.rating,
            "clues": self.clues,
            "confirmed": self.confirmed,
            "solved": self.solved,
        }


def rate(year: Sequence[PersonYear], rules: RatingRules) -> list[Rating]:
    """The year's ratings of a station's team, in the order given (the roster's).

    1. A confirmed cover-up or malicious false report → 黑哨 (black), whatever else the year holds.
    2. No clue collected in the year → 哑哨 (mute).
    3. 金哨 (gold): at least ``gold_min_confirmed`` confirmed clues and ``gold_min_solved`` solved problems;
       the best ``gold_quota`` of them, ranked by solved, then confirmed, then clues, then roster order.
    4. 银哨 (silver): of the rest, at least ``silver_min_confirmed`` confirmed; the best ``silver_quota``.
    5. Everyone else: 合格 (ordinary).
    The pay factor of each rating is the config's, an exact decimal.
    """
    order = {p.person: n for n, p in enumerate(year)}
    rating: dict[str, str] = {}
    for p in year:
        if p.misconduct:
            rating[p.person] = "black"
        elif p.clues == 0:
            rating[p.person] = "mute"

    def ranked(pred: Any) -> list[PersonYear]:
        return sorted(
            (p for p in year if p.person not in rating and pred(p)),
            key=lambda p: (-p.solved, -p.confirmed, -p.clues, order[p.person]),
        )

    for p in ranked(lambda p: p.confirmed >= rules.gold_min_confirmed and p.solved >= rules.gold_min_solved)[
        : rules.gold_quota
    ]:
        rating[p.person] = "gold"
    for p in ranked(lambda p: p.confirmed >= rules.silver_min_confirmed)[: rules.silver_quota]:
        rating[p.person] = "silver"
    out = []
    for p in year:
        r = rating.get(p.person, "ordinary")
        out.append(Rating(p.person, r, p.clues, p.confirmed, p.solved, str(Decimal(rules.pay_factors[r]))))
    return out


def check_rules(rules: RatingRules) -> RatingRules:
    """Parameters a config may set: whole non-negative numbers, a pay factor 0..10 for every rating."""
    for name in ("gold_quota", "silver_quota", "gold_min_confirmed", "gold_min_solved", "silver_min_confirmed"):
        if getattr(rules, name) < 0:
            raise InputError(f"评定规则 {name} 不能为负数", "bad_rules")
    for r in RATINGS:
        text = rules.pay_factors.get(r)
        if text is None or not re.fullmatch(r"\d{1,2}(\.\d{1,2})?", text) or Decimal(text) > 10:
            raise InputError(f"{RATING_NAMES[r]}的绩效系数应为 0 到 10 的数，最多两位小数", "bad_rules")
    return rules


def year_of(ts: str) -> int:
    """The calendar year in Asia/Shanghai of a stored UTC timestamp."""
    return datetime.fromisoformat(ts).astimezone(SHANGHAI).year


def iso(moment: datetime) -> str:
    """A moment as the ledger writes times: UTC, microseconds, ``Z`` (strings then compare as times)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
