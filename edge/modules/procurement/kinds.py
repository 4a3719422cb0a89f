"""The ledger kinds the procurement module writes, with their Chinese names (ledger page, CSV, central).

Decisions on routed items are recorded by the kernel's routing desk under two prefixes of this module's own:
``procurement.override.*`` (a second approver for an offline purchase the rule refused) and
``procurement.demand.*`` (the village's approval of a demand). The award, a demand returned by the township
and a failed tender come down from the central as signed documents; the edge records each, once verified,
as an entry of that kind (its body: the document's body plus a ``document`` field).
"""

from __future__ import annotations

NAME = "procurement"
OVERRIDE, DEMAND = f"{NAME}.override", f"{NAME}.demand"  # the routing desk's prefixes

PURCHASE_RECORDED = f"{NAME}.purchase_recorded"
PURCHASE_REFUSED = f"{NAME}.purchase_refused"
OVERRIDE_REQUESTED = f"{NAME}.override_requested"
DEMAND_FILED = f"{NAME}.demand_filed"
DEMAND_SUBMITTED = f"{NAME}.demand_submitted"  # goes up: the township reviews it at the central
DEMAND_APPROVED = f"{NAME}.demand_approved"  # document down: the township approved it, bidding is open
DEMAND_RETURNED = f"{NAME}.demand_returned"  # document down: the township returned it, with a reason
AWARD = f"{NAME}.award"  # document down: the winning bid
DEMAND_FAILED = f"{NAME}.demand_failed"  # document down: no valid bid
CONTRACT_SIGNED = f"{NAME}.contract_signed"
DELIVERY_CHECKED = f"{NAME}.delivery_checked"
PAYMENT_RECORDED = f"{NAME}.payment_recorded"

#: What the routing desk writes under a prefix, and its Chinese name.
_DESK = {"approval": "同意", "approved": "通过", "approval_refused": "审批被拒(规则)", "rejected": "驳回"}

KINDS = {
    PURCHASE_RECORDED: "登记采购", PURCHASE_REFUSED: "线下采购被拒(拆分采购)", OVERRIDE_REQUESTED: "申请例外登记线下采购",
    **{f"{OVERRIDE}.{k}": f"例外登记{v}" for k, v in _DESK.items()},
    DEMAND_FILED: "提交采购需求", **{f"{DEMAND}.{k}": f"采购需求{v}" for k, v in _DESK.items()},
    DEMAND_SUBMITTED: "采购需求报送乡镇", DEMAND_APPROVED: "乡镇审核通过(竞价中)", DEMAND_RETURNED: "乡镇退回采购需求", AWARD: "中标结果", DEMAND_FAILED: "流标",
    CONTRACT_SIGNED: "签订采购合同", DELIVERY_CHECKED: "到货验收", PAYMENT_RECORDED: "登记付款",
}  # fmt: skip
#: Documents the central sends down for this module (edge side of the central's documents).
DOCUMENT_KINDS = (DEMAND_APPROVED, DEMAND_RETURNED, AWARD, DEMAND_FAILED)
