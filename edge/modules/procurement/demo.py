"""`make demo`: believable sample procurement for a newcomer, seeded through the module's own desk as a
village user's steps would be (ledger entries first): purchases of both channels (a project's offline lamp heads
and its later platform purchase add up to a flag at the central), one offline purchase the split rule refused, an override waiting for its second approver, a demand waiting for the village's
approval, one with the township, and one deal carried through to payment.

The deal's award is the township's: with a central store whose decision key the village pins (``make demo``
runs one beside the edge), the central's demo (central/modules/procurement/demo.py) reviews the demand this
sends up, takes its bids and awards it; the signed award comes down with the sync and the next pass of this
seed carries the deal on (contract, delivery, payment). An edge without one (a test of this part alone) has no
township to award, so the seed writes a stand-in award whose ``document`` says ``demo``; a real edge records an
award only from a verified document. A second run adds nothing once the sample purchases are there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import edge.modules.procurement.db as db  # noqa: PLR0402  (not from the package: its __init__ imports this)
import edge.modules.procurement.desk as desk  # noqa: PLR0402  (not from the package: its __init__ imports this)
import edge.modules.procurement.kinds as K
from edge.kernel.accounts import Actor
from edge.kernel.errors import Refused
from edge.ledger.localtime import local_today
from edge.modules.procurement.inputs import DemandDraft, Line, PurchaseDraft
from edge.modules.procurement.rules import OFFLINE, PLATFORM

STAFF = "liming"  # the demo's applicant records purchases and files demands
#: The demo's deal: the demand the township awards (central/modules/procurement/demo.py finds it by this title).
DEAL = "党群服务中心空调采购"


async def _nothing() -> Mapping[str, Any] | None:
    return None


def _staff(host: Any) -> Actor:
    return Actor(STAFF, host.config.people.get(STAFF), frozenset({"applicant"}))


async def seed(host: Any) -> None:
    async with host.recorder.step():
        seeded = await db.count(host.db.conn, "procurement_purchases")
    if not seeded:
        await _file(host)
    await _carry_on(host)


async def _file(host: Any) -> None:
    people = host.config.people
    staff = _staff(host)
    approvers = [p for p in people.values() if p.has("approver") and p.id != STAFF]
    if not approvers:
        return  # a roster without approvers: nothing to route
    boss = Actor(approvers[0].id, approvers[0], frozenset({"approver"}))
    today = local_today()

    def ago(days: int) -> Any:
        return today - timedelta(days=days)

    for draft in (
        PurchaseDraft(ago(40), "办公用品", "", "柯桥区兴华文具店", OFFLINE, (Line("A4 打印纸", "箱", 20, 15_000),)),
        PurchaseDraft(ago(32), "建材五金", "村道亮化", "绍兴明亮照明器材", OFFLINE, (Line("LED 路灯灯头", "个", 30, 4_500),)),
        PurchaseDraft(ago(20), "设备家电", "", "浙江华数科技", PLATFORM, (Line("台式电脑", "台", 2, 420_000),)),
        PurchaseDraft(ago(12), "物业保洁", "", "村口便民超市", OFFLINE, (Line("垃圾袋", "卷", 50, 800), Line("扫帚", "把", 10, 2_500))),
        # Through the platform, but the project's lamp heads were bought offline before it: together 5,350.00, so
        # the township's split-purchase flags (at the central) show the project and the category.
        PurchaseDraft(ago(8), "建材五金", "村道亮化", "绍兴明亮照明器材", PLATFORM, (Line("路灯控制器", "个", 20, 20_000),)),
    ):  # fmt: skip
        await desk.record_purchase(host, staff, draft, _nothing)
    # An offline purchase that brings office supplies within two months past 5,000 yuan: refused, on record.
    split = PurchaseDraft(ago(5), "办公用品", "", "柯桥区兴华文具店", OFFLINE, (Line("打印机墨盒", "个", 12, 18_000),))
    try:
        await desk.record_purchase(host, staff, split, _nothing)
    except Refused:
        pass
    await desk.request_override(
        host, staff, split, "村委会换届选举材料须于本周打印完毕，平台供货周期来不及。", _nothing
    )

    deadline = today + timedelta(days=30)
    open_demand = DemandDraft("文化礼堂桌椅采购", "其他", "文化礼堂改造", (Line("会议桌", "张", 10, 120_000, "1.8 米"), Line("折叠椅", "把", 80, 9_000)), "青莲村文化礼堂", deadline)  # fmt: skip
    await desk.file_demand(host, staff, open_demand, _nothing)
    with_township = DemandDraft("村道亮化路灯采购", "建材五金", "村道亮化", (Line("太阳能路灯", "套", 20, 160_000, "6 米灯杆"),), "青莲村村道", deadline)  # fmt: skip
    await desk.decide_demand(host, boss, await desk.file_demand(host, staff, with_township, _nothing), True)

    done = DemandDraft(DEAL, "设备家电", "党群服务中心", (Line("壁挂空调", "台", 4, 350_000, "1.5 匹 一级能效"),), "青莲村党群服务中心", deadline)  # fmt: skip
    await desk.decide_demand(host, boss, await desk.file_demand(host, staff, done, _nothing), True)


async def _carry_on(host: Any) -> None:
    """The deal from its award on: the township's (arrived from the central), or the stand-in on an edge that
    has no township to award it."""
    deal = next((d for d in await db.demands(host.db.conn) if d["title"] == DEAL), None)
    if deal is None:
        return
    township_awards = host.sync is not None and host.sync.documents is not None
    if deal["status"] == "submitted" and not township_awards:
        async with host.recorder.step():
            await host.recorder.record(K.AWARD, {
                "demand_id": deal["id"], "award_id": "DEMO-AWARD-1", "supplier": {"id": "demo-supplier-3", "name": "绍兴诚信电器有限公司"},
                "amount_fen": 1_236_000, "lines": [{"line": 1, "unit_fen": 309_000}], "bids": 3, "document": {"id": "demo", "demo": True},
            })  # fmt: skip
        deal = await db.demand(host.db.conn, deal["id"])
        assert deal is not None
    if deal["status"] != "awarded":
        return  # still with the township, or already carried on
    staff, today = _staff(host), local_today()
    await desk.sign_contract(host, staff, deal["id"], "QL-CG-2026-003", today - timedelta(days=3), _nothing)
    await desk.check_delivery(host, staff, deal["id"], [int(x["quantity"]) for x in deal["lines"]], today - timedelta(days=1), _nothing)
    await desk.record_payment(host, staff, deal["id"], int(deal["award"]["amount_fen"]), today, _nothing)
