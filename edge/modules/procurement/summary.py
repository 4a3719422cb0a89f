"""Each procurement entry as one line of Chinese for the ledger's timeline and its CSV (``Part.summarize``):
who did what to which purchase or demand, and the amount; the timeline shows the kind's name beside it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import edge.modules.procurement.kinds as K
import edge.modules.procurement.rules as rules  # noqa: PLR0402  (not from the package: its __init__ imports this)
from edge.kernel.fmt import yuan
from edge.kernel.routing import REFUSAL_NAMES
from edge.kernel.wording import actor_name, person_name
from edge.ledger import Entry
from edge.ledger.localtime import MINUTES, local_time

Body = Mapping[str, Any]
Who = Callable[[Any], str]  # a roster person id -> 名字(id)


def _by(b: Body, who: Who) -> str:
    """Who recorded the step: the roster person, or for an account with none the account."""
    return who(b["person"]) if b.get("person") else actor_name(b.get("account"))


def _goods(p: Body) -> str:
    """A purchase, recorded or as asked: category, supplier, amount, channel, day, and its project if any."""
    project = f"，项目“{p['project']}”" if p.get("project") else ""
    channel = rules.CHANNEL_NAMES[p["channel"]]
    return f"{p['category']}，{p['supplier']}，{yuan(int(p['amount_fen']))}（{channel}，{p['day']}）{project}"


def _groups(groups: list[Body]) -> str:
    """The groups that reach the threshold: the rule, its project or category, the sum (and a category's window)."""
    shown = []
    for g in groups:
        window = f"（{g['start']} 至 {g['end']}）" if g["rule"] == rules.SAME_CATEGORY else ""
        shown.append(f"{rules.RULE_NAMES[g['rule']]}“{g['key']}”{window} {yuan(int(g['total_fen']))}")
    return "；".join(shown) + f"，达到 {yuan(rules.THRESHOLD_FEN)}"


def _recorded(b: Body, who: Who) -> str:
    text = f"{_by(b, who)} 登记采购 {b['id']}：{_goods(b)}"
    if b.get("override"):
        text += f"，例外登记 {b['override']['id']}（{'、'.join(who(a) for a in b['override']['approvers'])} 同意）"
    if b.get("demand_id"):
        text += f"，采购需求 {b['demand_id']} 验收合格后登记"
    return text


def _routed(key: str) -> dict[str, Callable[[Body, Who], str]]:
    """What the kernel's routing desk writes about an override or a demand (``key``: the item's id field), worded
    as the seal's approvals are."""

    def refused(b: Body, who: Who) -> str:
        text = f"{who(b['person'])} 对 {b[key]} 的审批被拒绝：{REFUSAL_NAMES.get(b['reason'], b['reason'])}"
        if b.get("attempt") is not None and b.get("attempt") == b.get("recorded_at_most"):
            text += f"（一小时内同一申请只记 {b['attempt']} 次，此后的不再记录）"
        return text

    return {
        "approval": lambda b, who: f"{who(b['approver'])} 同意 {b[key]}（{b['count']}/{b['needed']}）",
        "approved": lambda b, who: f"{b[key]} 审批通过：{'、'.join(who(a) for a in b['approvers'])}",
        "approval_refused": refused,
        "rejected": lambda b, who: f"{who(b['approver'])} 驳回 {b[key]}：{b.get('reason', '')}",
    }


def _demand(b: Body) -> str:
    """A demand as filed or submitted: title, category, number of lines, ceiling, delivery date and place."""
    return (
        f"“{b['title']}”，{b['category']}，{len(b['lines'])} 项，最高限价 {yuan(int(b['ceiling_fen']))}，"
        f"{b['delivery_date']} 前交货至{b['place']}"
    )


#: One formatter per kind, given the entry's body and the roster's ``who``. Documents from the central carry
#: their signature under ``document``: it stays out of the line, like uploaded files' hashes.
LINES: dict[str, Callable[[Body, Who], str]] = {
    K.PURCHASE_RECORDED: _recorded,
    K.PURCHASE_REFUSED: lambda b, who: f"{_by(b, who)} 登记线下采购被拒：{_goods(b['purchase'])}；{_groups(b['groups'])}",
    K.OVERRIDE_REQUESTED: lambda b, who: (
        f"{_by(b, who)} 申请例外登记 {b['id']}：{_goods(b['purchase'])}；{_groups(b['groups'])}；理由：{b['reason']}"
    ),
    **{f"{K.OVERRIDE}.{k}": line for k, line in _routed("override_id").items()},
    K.DEMAND_FILED: lambda b, who: f"{_by(b, who)} 提交采购需求 {b['id']}：{_demand(b)}",
    **{f"{K.DEMAND}.{k}": line for k, line in _routed("demand_id").items()},
    K.DEMAND_SUBMITTED: lambda b, who: (
        f"采购需求 {b['demand_id']} 报送乡镇审核：{_demand(b['demand'])}（村内审批：{'、'.join(who(a) for a in b['approvers'])}）"
    ),
    K.DEMAND_APPROVED: lambda b, who: (
        f"乡镇审核通过采购需求 {b['demand_id']}，竞价至 {local_time(b['closes_at'], MINUTES)}（北京时间）"
    ),
    K.DEMAND_RETURNED: lambda b, who: f"乡镇退回采购需求 {b['demand_id']}：{b['reason']}",
    K.AWARD: lambda b, who: (
        f"采购需求 {b['demand_id']} 定标：{b['supplier']['name']} 中标，{yuan(int(b['amount_fen']))}（有效报价 {b['bids']} 家）"
    ),
    K.DEMAND_FAILED: lambda b, who: f"采购需求 {b['demand_id']}：{b['reason']}",
    K.CONTRACT_SIGNED: lambda b, who: (
        f"{_by(b, who)} 登记采购需求 {b['demand_id']} 的合同 {b['contract_no']}，{b['signed_on']} 签订"
    ),
    K.DELIVERY_CHECKED: lambda b, who: f"{_by(b, who)} 验收采购需求 {b['demand_id']} 的到货（{b['checked_on']}）：{b['message']}",
    K.PAYMENT_RECORDED: lambda b, who: (
        f"{_by(b, who)} 登记采购需求 {b['demand_id']} 付款 {yuan(int(b['amount_fen']))}（{b['paid_on']}）"
    ),
}


def summarize(entry: Entry, config: Any) -> str | None:
    """The line for a procurement entry (``config``: the village's ``EdgeConfig``, for the roster's names)."""

    line = LINES.get(entry.kind)
    return line(entry.body, lambda person_id: person_name(config, person_id)) if line is not None else None
