"""The ledger kinds the small-project module writes, with their Chinese names (ledger page, CSV, central).

The village's approval of a project is recorded by the kernel's routing desk under this module's own prefix
(``small_project.approval``, ``.approved``, ``.approval_refused``, ``.rejected``). The guide-price catalogue
comes down from the township as a signed document; the edge records a verified one as an entry of its kind.
"""

from __future__ import annotations

NAME = "small_project"

CATALOGUE = f"{NAME}.catalogue"  # document down: a version of the township's guide-price catalogue
FILED = f"{NAME}.filed"
TOWNSHIP_STEP = f"{NAME}.township_step"  # document down: a township officer's step on the route, at the central
RECOMMENDED = f"{NAME}.recommended"  # the village's recommended contractor, and its value's commitment
FIXED = f"{NAME}.draw_fixed"  # document down: what the draw depends on, fixed and published by the township
REVEALED = f"{NAME}.village_revealed"  # the village's value, revealed once the draw is fixed
DRAWN = f"{NAME}.drawn"  # document down: the township's draw of two more, with its whole record
QUOTING = f"{NAME}.quoting"  # document down: the three invited to quote sealed at the township, until when
OPENED = f"{NAME}.opened"  # document down: the township opened the sealed quotes before the peer observer
CHECKED = f"{NAME}.checked"  # document down: one of the two random township checks, done ("121")
COMPLAINT = f"{NAME}.complaint"  # document down: a hotline complaint the township recorded ("121")
PROGRESS = f"{NAME}.progress"  # a step of the works with its photo or document: contract, start, progress, ...
COMPLETED = f"{NAME}.completed"  # completion acceptance and the settlement against the budget

#: What the routing desk writes under the prefix, and its Chinese name.
_DESK = {"approval": "同意", "approved": "通过", "approval_refused": "审批被拒(规则)", "rejected": "驳回"}
APPROVAL, APPROVED, REFUSED, REJECTED = (f"{NAME}.{k}" for k in _DESK)

KINDS = {
    CATALOGUE: "乡镇指导价目录",
    FILED: "申报限额工程",
    **{f"{NAME}.{k}": f"限额工程审批{v}" for k, v in _DESK.items()},
    TOWNSHIP_STEP: "乡镇审批", RECOMMENDED: "村推荐承包商", FIXED: "乡镇固定抽取依据", REVEALED: "村公布随机值",
    DRAWN: "乡镇抽取承包商", QUOTING: "乡镇发出报价邀请", OPENED: "开标定标", PROGRESS: "工程进度公示", CHECKED: "乡镇随机检查", COMPLAINT: "监督热线投诉", COMPLETED: "竣工验收结算",
}  # fmt: skip
#: The steps of the works a village shows with a photo or document, in their order, and their Chinese names.
STAGES = {"contract": "签订合同", "start": "开工", "progress": "施工进度", "acceptance": "竣工验收", "settlement": "结算"}
#: Documents the central sends down for this module.
DOCUMENT_KINDS = (CATALOGUE, TOWNSHIP_STEP, FIXED, DRAWN, QUOTING, OPENED, CHECKED, COMPLAINT)
