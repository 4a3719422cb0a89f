"""The decisions of competitive deposit (竞争性存放), as pure functions: no I/O, exact decimals, integer fen.

The console, the tick, the CLI that recomputes a published result (``qinglian deposit tender``), the central
half and the tests all call these, so there is one reading of each rule:

- month arithmetic (:func:`edge.kernel.months.add_months`, one reading for every module): a date plus N calendar months keeps its day of the month, or the
  last day of the target month when that month is shorter (2026-08-31 + 6 months = 2027-02-28;
  2027-08-31 + 6 months = 2028-02-29). "Idle for more than N months on D" means D is after since + N months:
  since 2026-08-31, 2027-02-28 is exactly 6 months (not more), 2027-03-01 is more;
- idle funds (:func:`idle_funds`): the lowest balance held continuously since a date (see the README);
- eligibility (:func:`eligibility`): idle ≥ the amount (含, 3,000,000.00 yuan by default) AND idle for more
  than the months (6 by default); both thresholds are the county's, from the config;
- the signing clock (:func:`signing_deadline`): a contract is on time when signed within N days (3) of the
  award notice: notice + 3 days is the last day on time;
- interest (:func:`interest_fen`, :func:`extra_income`): principal × annual rate × months / 12, to the fen,
  half up; the extra income is the term deposit's interest less what the demand rate pays for the same term;
- scoring (:func:`score_bids`): rate points × rate / the highest valid rate + the operating-condition score
  (0–10) + the agriculture-support score (0–10), to two decimals half up, ranked by score, then the higher
  rate, then the earlier bid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from edge.kernel.months import add_months

FEN_PER_YUAN = 100
CENT = Decimal("0.01")
DEFAULT_MIN_IDLE_FEN = 3_000_000 * FEN_PER_YUAN  # 300 万元（含）
DEFAULT_MIN_IDLE_MONTHS = 6  # more than this
DEFAULT_SIGN_DAYS = 3
DEFAULT_RATE_POINTS = Decimal(80)
DEFAULT_DEMAND_RATE = Decimal("0.10")  # percent a year: what the money earns left idle, unless the county says another
SCORE_MAX = Decimal(10)  # each of the two scores the county enters from the central bank's data

# A rate as people write it: percent per year, at most 4 decimals ("1.85", "2.1250"); ASCII digits only.
_RATE = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,4})?", re.ASCII)
_SCORE = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,2})?", re.ASCII)


class RuleError(ValueError):
    """An input a rule cannot take; ``message`` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- money and rates ---------------------------------------------------------------------------------------


def yuan_text(fen: int) -> str:
    """Integer fen as the explanation writes it: ``3,200,000.00``."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{part:02d}"


def parse_rate(text: object) -> Decimal:
    """An annual rate in percent as a decimal string ("1.85"): 0 < rate < 100, at most four decimals."""
    if not isinstance(text, str) or _RATE.fullmatch(text.strip()) is None:
        raise RuleError(f"利率应为百分数的小数文字，最多四位小数，例如 1.85：{text!r:.40}")
    rate = Decimal(text.strip())
    if rate <= 0:
        raise RuleError("利率应大于 0")
    return rate


def parse_score(text: object) -> Decimal:
    """A 0–10 score as a decimal string, at most two decimals ("8.5")."""
    if not isinstance(text, str) or _SCORE.fullmatch(text.strip()) is None:
        raise RuleError(f"评分应为 0 到 10 的数，最多两位小数：{text!r:.40}")
    score = Decimal(text.strip())
    if score > SCORE_MAX:
        raise RuleError(f"评分不能超过 10：{text.strip()}")
    return score


def half_up(value: Decimal, quantum: Decimal = CENT) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


# -- months ------------------------------------------------------------------------------------------------


def months_elapsed(since: date, as_of: date) -> int:
    """Whole calendar months from ``since`` to ``as_of``: the largest n with since + n months ≤ as_of."""
    if as_of < since:
        return 0
    n = (as_of.year - since.year) * 12 + as_of.month - since.month
    while n > 0 and add_months(since, n) > as_of:
        n -= 1
    return n


def idle_long_enough(since: date, as_of: date, months: int) -> bool:
    """Idle for MORE than ``months`` on ``as_of``: exactly ``months`` is not enough, one day more is."""
    return as_of > add_months(since, months)


# -- balances and idle funds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayBalance:
    """One day of an account's history: the lowest balance of the day and the balance at its close."""

    day: date
    low_fen: int
    close_fen: int


def days_of(rows: Iterable[tuple[date, int]]) -> list[DayBalance]:
    """Statement rows (date, balance after the row), in the order they happened, as one line per day: a day's
    low is its lowest balance (a dip within the day counts), its close the last row's balance."""
    days: dict[date, DayBalance] = {}
    for day, fen in rows:
        seen = days.get(day)
        days[day] = DayBalance(day, fen if seen is None else min(seen.low_fen, fen), fen)
    return [days[d] for d in sorted(days)]


@dataclass(frozen=True)
class Idle:
    """What an account holds idle on ``as_of``: ``amount_fen`` held continuously since ``since``.

    ``run`` is True for the run at or above the eligibility amount that reaches ``as_of``; False when the balance
    is below that amount now, and the figure is the run at or above today's balance instead."""

    amount_fen: int
    since: date
    as_of: date
    run: bool


def _run(history: Sequence[DayBalance], as_of: date, level: int) -> tuple[int, date] | None:
    """Walking back from ``as_of``: the days whose balance never fell below ``level``, as (their lowest
    balance, their first day); None when today's balance is already below it."""
    low: int | None = None
    since: date | None = None
    for i in range(len(history) - 1, -1, -1):
        d = history[i]
        gap_end = history[i + 1].day if i + 1 < len(history) else as_of + timedelta(days=1)
        if gap_end > d.day + timedelta(days=1):  # days after d, before the next record, hold d's close
            if d.close_fen < level:
                break
            since, low = d.day + timedelta(days=1), d.close_fen if low is None else min(low, d.close_fen)
        if d.low_fen < level:
            break
        since, low = d.day, d.low_fen if low is None else min(low, d.low_fen)
    return None if low is None or since is None else (low, since)


def idle_funds(history: Sequence[DayBalance], as_of: date, min_fen: int) -> Idle | None:
    """The idle funds on ``as_of`` from the day balances (ascending, none after ``as_of``); None without history.

    The balance between two recorded days is the earlier day's close (nothing happened in between), and a day
    counts at its lowest balance (a dip within the day breaks a run). Walking back from ``as_of``, the run is
    every day whose balance never fell below ``min_fen``; ``since`` is its first day and the amount its lowest
    balance, so the amount has been held on every day since then. When today's balance is below ``min_fen``
    there is no such run: the same walk then takes today's balance as the level (what is held now, and since
    when it has not been lower), so a clerk still reads how far the account is from the rule.
    """
    if not history:
        return None
    if history[-1].day > as_of:
        raise RuleError(f"余额记录晚于计算日 {as_of.isoformat()}")
    found = _run(history, as_of, min_fen)
    if found is not None:
        return Idle(found[0], found[1], as_of, True)
    last = history[-1]
    now = last.close_fen if as_of > last.day else last.low_fen
    low, since = _run(history, as_of, now) or (now, as_of)
    return Idle(low, since, as_of, False)


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    idle: Idle | None
    months: int  # whole months idle
    explanation: str  # one line of Chinese, as the account's page shows it
    eligible_from: date | None  # the first day the account is (or was) eligible, when its amount suffices


def eligibility(idle: Idle | None, min_fen: int, min_months: int) -> Eligibility:
    """Is the account's idle money due for competitive deposit, and why (in words a village clerk reads)."""
    if idle is None:
        return Eligibility(False, None, 0, "尚无余额记录", None)
    months = months_elapsed(idle.since, idle.as_of)
    said = f"闲置 {yuan_text(idle.amount_fen)} 元，自 {idle.since.isoformat()} 起，已 {months} 个月"
    enough = idle.amount_fen >= min_fen
    long = idle_long_enough(idle.since, idle.as_of, min_months)
    eligible_from = add_months(idle.since, min_months) + timedelta(days=1) if enough else None
    if enough and long:
        return Eligibility(True, idle, months, f"{said}：应竞争性存放", eligible_from)
    why = []
    if not enough:
        why.append(f"未达 {yuan_text(min_fen)} 元")
    if not long:
        why.append(f"未超过 {min_months} 个月（满 {min_months} 个月后一天为 {add_months(idle.since, min_months) + timedelta(days=1)}）")
    return Eligibility(False, idle, months, f"{said}：{'，'.join(why)}", eligible_from)


def flag_due(eligible_from: date, grace_days: int) -> date:
    """The day an eligible account with no joint-meeting plan is flagged to the township."""
    return eligible_from + timedelta(days=grace_days)


# -- the award: signing and maturity ------------------------------------------------------------------------


def signing_deadline(notice: date, days: int = DEFAULT_SIGN_DAYS) -> date:
    """The last day a contract is signed on time: the notice's day plus ``days`` (notice 06-01 → 06-04)."""
    return notice + timedelta(days=days)


def signed_late(notice: date, signed_on: date, days: int = DEFAULT_SIGN_DAYS) -> bool:
    return signed_on > signing_deadline(notice, days)


def maturity(start: date, term_months: int) -> date:
    return add_months(start, term_months)


def interest_fen(amount_fen: int, rate_percent: Decimal, term_months: int) -> int:
    """Simple interest for the term: principal × annual rate × months / 12, to the fen, half up."""
    exact = Decimal(amount_fen) * rate_percent / 100 * term_months / 12
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Income:
    interest_fen: int  # what the term deposit pays
    demand_fen: int  # what the demand rate would have paid for the same term
    extra_fen: int  # the village's extra income


def extra_income(amount_fen: int, rate_percent: Decimal, demand_percent: Decimal, term_months: int) -> Income:
    earned = interest_fen(amount_fen, rate_percent, term_months)
    demand = interest_fen(amount_fen, demand_percent, term_months)
    return Income(earned, demand, earned - demand)


# -- the tender: scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bid:
    """A valid bid (inside the window, from a registered bank) with the two scores the county entered."""

    bank: str
    rate_percent: Decimal
    operating_score: Decimal
    agri_support_score: Decimal
    order: int  # when it came: earlier bids have smaller numbers (bid time, or the position in a file)


@dataclass(frozen=True)
class Scored:
    bank: str
    rate_points: Decimal  # rate points × rate / highest rate, to two decimals
    score: Decimal  # the total, to two decimals
    bid: Bid


def score_bids(bids: Sequence[Bid], rate_points: Decimal = DEFAULT_RATE_POINTS) -> list[Scored]:
    """Every bid scored and ranked, best first.

    score = rate_points × rate / highest rate + operating + agriculture support, computed exactly and rounded
    half up to two decimals once, at the end; ties on the rounded score go to the higher rate, then to the
    earlier bid (``order``)."""
    if not bids:
        return []
    banks = [b.bank for b in bids]
    if len(set(banks)) != len(banks):
        raise RuleError("同一银行只能有一个有效报价")
    for b in bids:
        if b.rate_percent <= 0:
            raise RuleError(f"{b.bank}：利率应大于 0")
        for s in (b.operating_score, b.agri_support_score):
            if not Decimal(0) <= s <= SCORE_MAX:
                raise RuleError(f"{b.bank}：评分应在 0 到 10 之间")
    top = max(b.rate_percent for b in bids)
    scored = [
        Scored(b.bank, half_up(rate_points * b.rate_percent / top),
               half_up(rate_points * b.rate_percent / top + b.operating_score + b.agri_support_score), b)
        for b in bids
    ]  # fmt: skip
    return sorted(scored, key=lambda s: (-s.score, -s.bid.rate_percent, s.bid.order))


# -- the tender command: eligibility over plans and the ranking -----------------------------------------------


@dataclass(frozen=True)
class IdleAccount:
    village: str
    account: str
    idle_fen: int
    idle_since: date


@dataclass(frozen=True)
class TenderResult:
    eligible: list[IdleAccount]
    total_fen: int
    ranking: list[Scored]

    @property
    def winner(self) -> str | None:
        return self.ranking[0].bank if self.ranking else None


def tender(as_of: date, accounts: Sequence[IdleAccount], bids: Sequence[Bid], min_fen: int = DEFAULT_MIN_IDLE_FEN,
           min_months: int = DEFAULT_MIN_IDLE_MONTHS, rate_points: Decimal = DEFAULT_RATE_POINTS) -> TenderResult:  # fmt: skip
    """The accounts due for the tender on ``as_of`` (idle ≥ the amount and for more than the months), their
    total, and the bids ranked."""
    due = [a for a in accounts if a.idle_fen >= min_fen and idle_long_enough(a.idle_since, as_of, min_months)]
    return TenderResult(due, sum(a.idle_fen for a in due), score_bids(bids, rate_points))
