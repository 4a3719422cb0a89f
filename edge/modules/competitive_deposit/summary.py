"""One line of Chinese per competitive-deposit entry for the ledger's timeline and its CSV: who did what to which
account or plan, and the figures that matter (amounts, term, rate, the extra income)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import edge.modules.competitive_deposit.projection as P
import edge.modules.competitive_deposit.rules as rules
from edge.kernel.fmt import yuan
from edge.ledger import Entry
from edge.kernel.wording import actor_name


def _balances(b: Mapping[str, Any]) -> str:
    days, source = b["days"], b["source"]
    if source.get("entered"):
        day, _, close = days[0]
        return f"{actor_name(b['by'])} 录入账户 {b['account']} 的余额：{day} {yuan(close)}"
    # An import: the span it covers and its last close; the file itself is known by its hash, not worth a line.
    (first, _, _), (last, _, close) = days[0], days[-1]
    skipped = f"，跳过合计等无日期行 {source['skipped']} 行" if source.get("skipped") else ""
    return (f"{actor_name(b['by'])} 导入账户 {b['account']} 的流水 {source['rows']} 行：{first} 至 {last} 共 {len(days)} 天的余额，"
            f"{last} 余额 {yuan(close)}{skipped}")  # fmt: skip


def _signed(b: Mapping[str, Any]) -> str:
    late = f"，逾期签约（截止 {b['sign_by']}）" if b["late"] is True else ""
    return (f"{actor_name(b['by'])} 登记 {b['plan_id']} 的存款合同：{b['signed_on']} 签约，{b['start_date']} 起存，"
            f"{b['maturity_date']} 到期{late}")  # fmt: skip


# The award is the central's document, sent only after the tender's opening: it names the winning bank and its
# rate, never another bank's bid; its signature stays out of the line (the entry keeps it as proof).
_LINES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    P.ACCOUNT_ADDED: lambda b: f"{actor_name(b['by'])} {P.KINDS[P.ACCOUNT_ADDED]} {b['account']}：{b['name']}，开户银行 {b['bank']}",
    P.BALANCES: _balances,
    P.PLAN: lambda b: (
        f"{actor_name(b['by'])} 记录 {b['plan_id']} {P.KINDS[P.PLAN]}：{b['account_name']} 存放 {yuan(b['amount_fen'])}，"
        f"期限 {b['term_months']} 个月，会议日期 {b['meeting_date']}（闲置 {yuan(b['idle']['amount_fen'])}，自 {b['idle']['since']} 起）"
    ),
    P.UNPLANNED: lambda b: f"{b['as_of']} 账户 {b['account']} {P.KINDS[P.UNPLANNED]}：{b['explanation']}",
    P.AWARD: lambda b: (
        f"{b['plan_id']} {P.KINDS[P.AWARD]}：{b['bank']}，年利率 {b['rate_percent']}%，{yuan(b['amount_fen'])}，"
        f"{b['term_months']} 个月；招标 {b['tender_id']}，通知日 {b['notice_date']}，{b.get('sign_days', rules.DEFAULT_SIGN_DAYS)} 日内签约"
    ),
    P.SIGNING_LATE: lambda b: f"{b['plan_id']} 中标通知日 {b['notice_date']}，签约截止 {b['sign_by']}，逾期未签约",
    P.SIGNED: _signed,
    P.MATURED: lambda b: (
        f"{actor_name(b['by'])} 登记 {b['plan_id']} {P.KINDS[P.MATURED]}（{b['matured_on']}）：{yuan(b['amount_fen'])} "
        f"按年利率 {b['rate_percent']}% 存 {b['term_months']} 个月，利息 {yuan(b['interest_fen'])}，"
        f"活期（{b['demand_rate_percent']}%）{yuan(b['demand_fen'])}，增加收益 {yuan(b['extra_fen'])}"
    ),
}  # fmt: skip


def summarize(entry: Entry, config: Any) -> str | None:
    line = _LINES.get(entry.kind)
    return line(entry.body) if line is not None else None
