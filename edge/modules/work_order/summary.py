"""Labour dispatch's ledger entries in one line of Chinese each, for the supervisors' timeline and its CSV.
Never a personal number: a worker's phone, sealed ID and bank numbers, the data key, nor a reason of absence."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import edge.modules.work_order.kinds as K
from edge.kernel.fmt import yuan
from edge.kernel.routing import REFUSAL_NAMES
from edge.kernel.wording import person_name
from edge.modules.work_order.rules import (
    ATTENDANCE_NAMES, BLACKLISTED, ROTATION, SKIP_REASONS, STATUS_NAMES, TRADES, UNAVAILABLE,
)  # fmt: skip

if TYPE_CHECKING:
    from edge.ledger import Entry

Who = Callable[[Any], str]


def _item(b: dict[str, Any]) -> str:
    """The routing desk decides on an order or a pay list: the body names one of them (as the projection reads it)."""
    return f"工资单 {b['pay_id']}" if "pay_id" in b else f"派工单 {b['order_id']}"


def _key(b: dict[str, Any], who: Who) -> str:
    return "生成用工名库数据密钥（以主密钥加密保存，用于加密身份证号和银行账号）"


def _registered(b: dict[str, Any], who: Who) -> str:
    text = (
        f"{who(b['by'])} 登记务工人员 {b['name']}（{b['worker_id']}）：{TRADES[b['trade']]}，"
        f"{b['area']}{b['group']}，轮派序号 {b['rotation']}"
    )
    return text + (f"，亲属回避：{'、'.join(who(r) for r in b['relatives'])}" if b.get("relatives") else "")


def _status(b: dict[str, Any], who: Who) -> str:
    text = f"{who(b['by'])} 将 {b['worker_id']} 设为{STATUS_NAMES[b['status']]}"
    if b["status"] == UNAVAILABLE:
        return text + f"（{b['from']} 至 {b['to']}）"  # the reason may be their health: the board keeps it out too
    if b["status"] == BLACKLISTED:
        return text + f"：{b['reason']}"
    return text


def _filed(b: dict[str, Any], who: Who) -> str:
    emergency = f"（紧急用工：{b.get('emergency_reason', '')}）" if b.get("emergency") else ""
    return (
        f"{who(b['applicant'])} 提交派工单 {b['order_id']}{emergency}：{b['content']}，{TRADES[b['trade']]} "
        f"{b['headcount']} 人×{b['days']} 天，{b['place']}，{b['start']} 至 {b['end']}，"
        f"日工资 {yuan(int(b['rate_fen']))}，合计 {yuan(int(b['amount_fen']))}"
    )


def _approval(b: dict[str, Any], who: Who) -> str:
    return f"{who(b['approver'])} 同意 {_item(b)}（{b.get('count')}/{b.get('needed')}）"


def _approved(b: dict[str, Any], who: Who) -> str:
    return f"{_item(b)} 审批通过：{'、'.join(who(a) for a in b['approvers'])}"


def _refused(b: dict[str, Any], who: Who) -> str:
    return f"{who(b['person'])} 对 {_item(b)} 的审批被拒绝：{REFUSAL_NAMES.get(b['reason'], b['reason'])}"


def _rejected(b: dict[str, Any], who: Who) -> str:
    return f"{who(b['approver'])} 驳回 {_item(b)}：{b.get('reason', '')}"


def _drafted(b: dict[str, Any], who: Who) -> str:
    return f"{who(b['by'])} 草拟 {b['week']} 周用工计划：派工单 {len(b['lines'])} 张，合计 {yuan(int(b['total_fen']))}"


def _plan_approved(b: dict[str, Any], who: Who) -> str:
    text = (
        f"两委会 {b['meeting_day']}（参会 {len(b['attendees'])} 人）审定 {b['week']} 周用工计划：派工单 {len(b['orders'])} 张，"
        f"合计 {yuan(int(b['total_fen']))}，{who(b['by'])} 记录"
    )
    return text + (f"；会上通报紧急用工 {'、'.join(b['emergencies'])}" if b.get("emergencies") else "")


def _dispatched(b: dict[str, Any], who: Who) -> str:
    # the same two words the order page and the notice board's dispatch list use for the mode
    rotation = b["mode"] == ROTATION
    mode = "轮派" if rotation else "公开招工"
    text = f"{who(b['by'])} {mode}派工 {b['order_id']}（{TRADES[b['trade']]}）：{'、'.join(b['workers'])}"
    if b["skipped"]:
        text += "；跳过 " + "、".join(f"{s['worker']}（{SKIP_REASONS.get(s['reason'], s['reason'])}）" for s in b["skipped"])
    if rotation:  # a posted job leaves the cursor where it was
        before = "起点" if b["cursor_before"] is None else b["cursor_before"]
        text += f"；轮派游标 {before} → {b['cursor_after']}"
    return text


def _attendance(b: dict[str, Any], who: Who) -> str:
    marks = "、".join(f"{w} {ATTENDANCE_NAMES[int(h)]}" for w, h in b["marks"].items())
    return f"{who(b['by'])} 登记 {b['order_id']} {b['day']} 出勤：{marks}"


def _pay_filed(b: dict[str, Any], who: Who) -> str:
    return f"{who(b['by'])} 为派工单 {b['order_id']} 造册工资 {b['pay_id']}：{len(b['lines'])} 人，合计 {yuan(int(b['total_fen']))}"


def _paid(b: dict[str, Any], who: Who) -> str:
    return f"{who(b['by'])} 记录工资单 {b['pay_id']} 银行转账 {yuan(int(b['total_fen']))}（流水号 {b['transfer_ref']}）"


FORMATTERS: dict[str, Callable[[dict[str, Any], Who], str]] = {
    K.KEY: _key, K.WORKER_REGISTERED: _registered, K.WORKER_STATUS: _status, K.ORDER_FILED: _filed,
    K.APPROVAL: _approval, K.APPROVED: _approved, K.APPROVAL_REFUSED: _refused, K.REJECTED: _rejected,
    K.PLAN_DRAFTED: _drafted, K.PLAN_APPROVED: _plan_approved, K.DISPATCHED: _dispatched,
    K.ATTENDANCE: _attendance, K.PAY_FILED: _pay_filed, K.PAID: _paid,
}  # fmt: skip


def summarize(entry: Entry, config: Any) -> str | None:
    """The entry's line for the timeline (``Part.summarize``); people as 名字(id), as the seal's lines show them."""

    formatter = FORMATTERS.get(entry.kind)
    return formatter(entry.body, lambda person_id: person_name(config, person_id)) if formatter is not None else None
