"""`make demo`: the central's half of the sample procurement, through the module's own steps (each a decision in
the central's log before its row): three more suppliers of the demo county, approved as a county officer approves
a registration, one of them near the blacklist line (82.5 after four recorded deductions); and the township's
side of the demands the demo village sent up (edge/modules/procurement/demo.py, matched by their titles):

- the street-lamp demand is approved (bidding open) and two suppliers bid in its window, so the demo supplier
  ``lvshan`` finds a tender to bid on and ranks live;
- the air-conditioner demand is approved as if four days ago, so its window (3 days) has closed; three suppliers
  bid in it, and the township awards the lowest: the signed award goes down to the village with the next sync,
  where the village's demo carries the deal on to its payment.

Each supplier lists a few goods with prices on its catalogue (the township reads them beside the demands'
ceilings). A demand the village has not sent up yet (no sync so far) is left for the next run; a second run adds
nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from central.accounts import roles as R
from central.accounts.demo import DemoSite
from central.modules.procurement.catalogue import Item, list_item
from central.modules.procurement.creditdesk import deduct
from central.modules.procurement.review import review
from central.modules.procurement.tables import catalogue, demands
from central.modules.procurement.tender import award, bid

# username, organisation, unified social credit code, categories
SUPPLIERS = (
    ("chengxin", "绍兴诚信电器有限公司", "91330600MA2BX1K70R", ("设备家电", "建材五金")),
    ("mingliang", "杭州明亮照明工程有限公司", "91330109MA27W8C30N", ("建材五金", "设备家电")),
    ("huaxin", "萧山华鑫家电有限公司", "91330109MA2H5Q0L0F", ("设备家电",)),
)
#: The one near the line: what the county recorded against it (100 − 10 − 3 × 2.5 = 82.5; one more 2.5 and 80.0
#: still trades, below it the blacklist).
NEAR_THE_LINE = "huaxin"
DEDUCTIONS = (
    ("failed_acceptance", "村委会空调验收时两台能效标识与合同不符，已退换", "河上镇验收单 HS-YS-2026-017"),
    ("late_delivery", "交货逾期 6 天", "青莲村采购台账 XQ 交货记录"),
    ("late_delivery", "交货逾期 3 天", "河上镇供货记录 2026-09"),
    ("late_delivery", "交货逾期 4 天", "河上镇供货记录 2026-10"),
)
#: The demo village's demands (their titles in edge/modules/procurement/demo.py) and the demo's bids on each:
#: (supplier, amount in fen, how long after the approval).
OPEN_DEMAND = "村道亮化路灯采购"
OPEN_BIDS = (("mingliang", 3_080_000, timedelta(hours=3)), ("chengxin", 3_150_000, timedelta(hours=9)))
AWARDED_DEMAND = "党群服务中心空调采购"
AWARDED_BIDS = (
    ("huaxin", 1_290_000, timedelta(hours=20)),
    ("chengxin", 1_236_000, timedelta(days=1, hours=2)),
    ("mingliang", 1_318_000, timedelta(days=2, hours=5)),
)


#: What each supplier lists on its catalogue: (category, name, unit, price in fen).
CATALOGUE = {
    "lvshan": (("办公用品", "A4 打印纸（70 克，5 包/箱）", "箱", 14_500), ("办公用品", "打印机墨盒（黑色）", "个", 16_800)),
    "chengxin": (("设备家电", "壁挂空调 1.5 匹 一级能效", "台", 305_000), ("建材五金", "LED 路灯灯头 50W", "个", 4_200)),
    "mingliang": (("建材五金", "太阳能路灯 6 米灯杆", "套", 152_000),),
    "huaxin": (("设备家电", "壁挂空调 1.5 匹 一级能效", "台", 318_000),),
}


async def _catalogue(site: DemoSite, now: datetime) -> None:
    for username, goods in CATALOGUE.items():
        async with site.store.db.reader.connect() as conn:
            if (await conn.execute(select(catalogue.c.seq).where(catalogue.c.supplier == username))).first():
                continue  # listed by an earlier run
        who, application = await site.principal(username), await site.accounts.application_of(username)
        for category, name, unit, price_fen in goods:
            async with site.store.db.writer.begin() as conn:
                await list_item(conn, site.decisions, who, application, Item(category, name, unit, price_fen), now)


async def seed(site: DemoSite) -> None:
    now = datetime.now(UTC)
    county = await site.principal("xianguan")
    for username, org, code, categories in SUPPLIERS:
        if await site.ensure_organisation(username, R.SUPPLIER, org, code, categories) and username == NEAR_THE_LINE:
            application = await site.accounts.application_of(username)
            for kind, reason, evidence in DEDUCTIONS:
                async with site.store.db.writer.begin() as conn:
                    await deduct(conn, site.decisions, county, application, kind, reason, evidence, now)
    await _catalogue(site, now)
    township = await site.principal("hezhen")
    for title, opened, taken in (
        (OPEN_DEMAND, now - timedelta(days=1), OPEN_BIDS),
        (AWARDED_DEMAND, now - timedelta(days=4), AWARDED_BIDS),
    ):
        waiting = select(demands.c.demand_id).where(
            (demands.c.edge_id == site.edge_id) & (demands.c.title == title) & (demands.c.status == "submitted")
        )
        async with site.store.db.reader.connect() as conn:
            demand_id = (await conn.execute(waiting)).scalar()
        if demand_id is None:  # not sent up yet, or already past the township
            continue
        async with site.store.db.writer.begin() as conn:
            await review(conn, site.decisions, township, site.edge_id, demand_id, True, now=opened)
        for supplier, amount_fen, after in taken:
            who = await site.principal(supplier)
            application = await site.accounts.application_of(supplier)
            async with site.store.db.writer.begin() as conn:
                await bid(conn, site.decisions, who, application, site.edge_id, demand_id, amount_fen, opened + after)
        if title == AWARDED_DEMAND:
            async with site.store.db.writer.begin() as conn:
                await award(conn, site.decisions, township, site.edge_id, demand_id, now)

