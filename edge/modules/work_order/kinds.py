"""Every ledger kind the labour-dispatch module writes, with its Chinese name (the ledger page, CSV, central)."""

from __future__ import annotations

NAME = "work_order"

KEY = f"{NAME}.key"  # the data key for personal numbers, sealed under the edge's master key
WORKER_REGISTERED = f"{NAME}.worker_registered"
WORKER_STATUS = f"{NAME}.worker_status"  # available / unavailable (reason, dates) / blacklisted (committee's reason)
ORDER_FILED = f"{NAME}.filed"
# The routing desk's decisions, on an order ("order_id") or a pay list ("pay_id"): RouteDesk names them.
APPROVAL, APPROVED, APPROVAL_REFUSED, REJECTED = (f"{NAME}.{k}" for k in ("approval", "approved", "approval_refused", "rejected"))
PLAN_DRAFTED = f"{NAME}.plan_drafted"
PLAN_APPROVED = f"{NAME}.plan_approved"  # at the committee meeting: frozen from then on
DISPATCHED = f"{NAME}.dispatched"
ATTENDANCE = f"{NAME}.attendance"
PAY_FILED = f"{NAME}.pay_filed"
PAID = f"{NAME}.paid"

KINDS = {
    KEY: "用工名库密钥", WORKER_REGISTERED: "务工人员登记", WORKER_STATUS: "务工人员状态变更",
    ORDER_FILED: "派工单提交", APPROVAL: "用工审批同意", APPROVED: "用工审批通过",
    APPROVAL_REFUSED: "用工审批被拒(规则)", REJECTED: "用工审批驳回",
    PLAN_DRAFTED: "周用工计划草拟", PLAN_APPROVED: "周用工计划两委会审定", DISPATCHED: "轮派派工",
    ATTENDANCE: "出勤登记", PAY_FILED: "劳务工资造册", PAID: "劳务工资银行转账",
}  # fmt: skip
