"""The procurement rules, as pure functions: the split-purchase audit, delivery acceptance, payments.

No I/O, no clock, no floats: amounts are integer fen, dates are ``datetime.date``. The console (before an
offline purchase is recorded), ``qinglian procurement audit`` (over a CSV of purchases) and the tests call the
same functions, so a refusal on a village's screen can be recomputed by anyone from the published list.

The rule (一网采购): the items bought for one project, or the items of one category bought within two months,
that add up to 5,000 yuan or more must be bought through the platform. "Within two months" is read as the
Civil Code reads a period of months (民法典 第二百零一条、第二百零二条): two dates ``a <= b`` are within two months
of each other when ``b <= add_months(a, 2)``, where ``add_months`` (the kernel's one reading of calendar months,
``edge.kernel.months``) lands on the same day of the month two months on, or on that month's last day when it
has no such day. So 2026-03-31 and 2026-05-31 are within two
months, 2026-06-01 is not; 2025-12-31 reaches to 2026-02-28 and no further.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from edge.kernel.fmt import FEN_PER_YUAN, yuan
from edge.kernel.months import add_months

THRESHOLD_FEN = 5_000 * FEN_PER_YUAN  # 5,000 yuan: from this sum on, the platform
WINDOW_MONTHS = 2
SAME_PROJECT, SAME_CATEGORY = "same_project", "same_category_2_months"
RULE_NAMES = {SAME_PROJECT: "同一项目累计", SAME_CATEGORY: "同类物品两个月内累计"}
# The platform's categories of goods (the ones a supplier registers for at the central): a fixed list, so a
# village cannot keep a category under 5,000 yuan by naming the same goods differently.
CATEGORIES = ("办公用品", "建材五金", "农资农具", "工程施工", "物业保洁", "设备家电", "餐饮食材", "其他")
PLATFORM, OFFLINE = "platform", "offline"
CHANNEL_NAMES = {PLATFORM: "平台采购", OFFLINE: "线下采购"}


def yuan_text(fen: int) -> str:
    """Fen as the audit's JSON writes yuan: ``"5000.00"`` (no separators, two decimals)."""
    return f"{fen // 100}.{fen % 100:02d}"


def window_end(start: date) -> date:
    """The last day that is still within two months of ``start`` (inclusive)."""
    return add_months(start, WINDOW_MONTHS)


@dataclass(frozen=True)
class Purchase:
    """What the rule reads of one purchase."""

    id: str
    day: date
    category: str
    amount_fen: int
    channel: str  # platform | offline
    project: str = ""  # empty: bought for no project


@dataclass(frozen=True)
class Group:
    """Purchases that add up under one rule: what a refusal or a flag shows."""

    rule: str  # SAME_PROJECT | SAME_CATEGORY
    key: str  # the project or the category
    ids: tuple[str, ...]  # by date, then id
    total_fen: int
    start: date
    end: date  # the last day of the group's window (same project: its last purchase)


def _group(rule: str, key: str, members: Sequence[Purchase], end: date | None = None) -> Group:
    ordered = sorted(members, key=lambda p: (p.day, p.id))
    return Group(rule, key, tuple(p.id for p in ordered), sum(p.amount_fen for p in ordered), ordered[0].day,
                 end if end is not None else ordered[-1].day)  # fmt: skip


def category_windows(purchases: Sequence[Purchase]) -> list[list[Purchase]]:
    """The maximal sets of purchases (of one category) whose dates are all within two months of each other:
    for each purchase date ``s``, the purchases dated ``s`` .. ``window_end(s)``, dropping a set held in an
    earlier one."""
    starts = sorted({p.day for p in purchases})
    windows: list[list[Purchase]] = []
    for start in starts:
        members = [p for p in purchases if start <= p.day <= window_end(start)]
        if windows and {p.id for p in members} <= {p.id for p in windows[-1]}:
            continue  # windows only move forwards: a subset can only be of the previous one
        windows.append(members)
    return windows


def _reaching(groups: Iterable[Group]) -> list[Group]:
    return [g for g in groups if g.total_fen >= THRESHOLD_FEN]


def offline_refusal(candidate: Purchase, earlier: Iterable[Purchase]) -> list[Group]:
    """Why ``candidate``, an offline purchase, may not be recorded: each group it would bring to 5,000 yuan
    or more, with the purchases that add up (every channel counts towards the sum). Empty: it may be recorded.

    Same project: every purchase of the project, at any date. Same category: the window of two months holding
    ``candidate`` with the largest sum (any window holding it counts; the largest shows the most)."""
    if candidate.channel != OFFLINE:
        return []
    earlier = [p for p in earlier if p.id != candidate.id]
    found: list[Group] = []
    if candidate.project:
        same = [p for p in earlier if p.project == candidate.project]
        found += _reaching([_group(SAME_PROJECT, candidate.project, [*same, candidate])])
    kind = [p for p in earlier if p.category == candidate.category]
    windows = [
        _group(SAME_CATEGORY, candidate.category, [p for p in [*kind, candidate] if start <= p.day <= window_end(start)], window_end(start))
        for start in sorted({p.day for p in [*kind, candidate]})
        if start <= candidate.day <= window_end(start)
    ]  # fmt: skip
    reaching = _reaching(windows)
    if reaching:
        found.append(max(reaching, key=lambda g: (g.total_fen, -g.start.toordinal())))
    return found


def audit(purchases: Sequence[Purchase]) -> list[Group]:
    """Every group of one village's purchases — one project (any dates), or one category within two months
    (each maximal window) — that reaches 5,000 yuan and holds an offline purchase; projects first, then
    categories, each by name and date."""
    offline = {p.id for p in purchases if p.channel == OFFLINE}
    flags: list[Group] = []
    for project in sorted({p.project for p in purchases if p.project}):
        flags += _reaching([_group(SAME_PROJECT, project, [p for p in purchases if p.project == project])])
    for category in sorted({p.category for p in purchases}):
        same = [p for p in purchases if p.category == category]
        flags += _reaching(
            _group(SAME_CATEGORY, category, w, window_end(min(p.day for p in w))) for w in category_windows(same)
        )
    return [g for g in flags if offline.intersection(g.ids)]


def refusal_message(groups: Sequence[Group], amounts: Mapping[str, int], days: Mapping[str, date]) -> str:
    """The refusal in Chinese: which rule, the sum, and every purchase that adds up (``amounts``/``days`` by id)."""
    parts = []
    for g in groups:
        if g.rule == SAME_PROJECT:
            head = f"项目“{g.key}”的采购累计 {yuan(g.total_fen)}"
        else:
            head = f"“{g.key}”类物品在 {g.start.isoformat()} 至 {g.end.isoformat()} 两个月内累计 {yuan(g.total_fen)}"
        listed = "；".join(f"{i}（{days[i].isoformat()}，{yuan(amounts[i])}）" for i in g.ids)
        parts.append(f"{head}，达到 {yuan(THRESHOLD_FEN)}，须通过一网采购平台采购。累计的采购：{listed}")
    return "不能登记为线下采购：" + "\n".join(parts)


# -- after the award: delivery acceptance and payment ---------------------------------------------------


@dataclass(frozen=True)
class LineCheck:
    line: int  # the demand's line number, from 1
    demanded: int
    received: int

    @property
    def ok(self) -> bool:
        return self.received == self.demanded


def check_delivery(demanded: Sequence[int], received: Sequence[int]) -> list[LineCheck]:
    """Each line of a delivery against the demand's quantities; it passes only when every line matches
    (fewer is a shortfall, more was not ordered and is not paid for)."""
    if len(demanded) != len(received):
        raise ValueError(f"验收行数 {len(received)} 与需求行数 {len(demanded)} 不符")
    return [LineCheck(i, d, r) for i, (d, r) in enumerate(zip(demanded, received, strict=True), 1)]


def delivery_message(checks: Sequence[LineCheck], names: Sequence[str]) -> str:
    """Chinese: what differs from the demand, or that every line matches."""
    wrong = [c for c in checks if not c.ok]
    if not wrong:
        return "到货数量与需求一致，验收合格"
    return "验收不合格：" + "；".join(f"{names[c.line - 1]} 需求 {c.demanded}，到货 {c.received}" for c in wrong)


def payment_due(award_fen: int, paid_fen: int) -> int:
    """What remains to be paid of an award."""
    return max(award_fen - paid_fen, 0)
