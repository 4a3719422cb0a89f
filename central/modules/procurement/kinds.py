"""The procurement kinds the central reads and writes. The edge's module (edge/modules/procurement/kinds.py)
writes the demand that comes up and takes the documents that go down; these are the same strings, the wire
contract between the two halves (the central imports nothing of the edge but its ledger library)."""

from __future__ import annotations

NAME = "procurement"
DEMAND_SUBMITTED = f"{NAME}.demand_submitted"  # up: a demand the village approved
PURCHASE_RECORDED = f"{NAME}.purchase_recorded"  # up: a purchase the village recorded (the split-purchase audit)
DEMAND_APPROVED = f"{NAME}.demand_approved"  # down: the township's approval (bidding opens on it)
DEMAND_RETURNED = f"{NAME}.demand_returned"  # down: returned to the village with a reason
BID = f"{NAME}.bid"  # a supplier's bid, on record
AWARD = f"{NAME}.award"  # down: the lowest valid bid wins
DEMAND_FAILED = f"{NAME}.demand_failed"  # down: no valid bid
CREDIT_DEDUCTED = f"{NAME}.credit_deducted"  # the county deducts from a supplier's credit index
CREDIT_REINSTATED = f"{NAME}.credit_reinstated"  # the county takes a supplier off the blacklist
CATALOGUE_LISTED = f"{NAME}.catalogue_listed"  # a supplier lists goods with its price
CATALOGUE_WITHDRAWN = f"{NAME}.catalogue_withdrawn"  # a supplier takes goods off its catalogue

DECISIONS = {
    DEMAND_APPROVED: "乡镇审核通过采购需求", DEMAND_RETURNED: "乡镇退回采购需求", BID: "供应商报价",
    AWARD: "定标（最低有效报价）", DEMAND_FAILED: "流标（无有效报价）", CREDIT_DEDUCTED: "扣减供应商信用分",
    CREDIT_REINSTATED: "恢复供应商交易资格", CATALOGUE_LISTED: "供应商发布商品报价", CATALOGUE_WITHDRAWN: "供应商撤下商品",
}  # fmt: skip
STATUS_NAMES = {
    "submitted": "待乡镇审核",
    "approved": "竞价中",
    "returned": "已退回村",
    "awarded": "已定标",
    "failed": "流标",
}
