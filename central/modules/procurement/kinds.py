"""The procurement kinds the central reads and writes. The edge's module (edge/modules/procurement/kinds.py)
writes the demand that comes up and takes the documents that go down; these are the same strings, the wire
contract between the two halves (the central imports nothing of the edge but its ledger library)."""

from __future__ import annotations

NAME = "procurement"
DEMAND_SUBMITTED = f"{NAME}.demand_submitted"  # up: a demand the village approved
DEMAND_APPROVED = f"{NAME}.demand_approved"  # the township's approval: the central's own (bidding opens on it)
DEMAND_RETURNED = f"{NAME}.demand_returned"  # down: returned to the village with a reason

DECISIONS = {DEMAND_APPROVED: "乡镇审核通过采购需求", DEMAND_RETURNED: "乡镇退回采购需求"}
STATUS_NAMES = {"submitted": "待乡镇审核", "approved": "乡镇已通过", "returned": "已退回村"}
