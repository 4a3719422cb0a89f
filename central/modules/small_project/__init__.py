"""限额工程 at the central: the township's guide-price catalogue published down to its villages, its contractor
pool with the blacklist, the villages' projects as they go up, and the draw of two contractors anyone can re-run,
sent down to the village. See README.md beside the edge half (edge/modules/small_project/), "The central half"."""

from __future__ import annotations

from central.contract import CentralPart
from central.modules.small_project import demo, draw, pool, projects, quotes, supervision, web
from central.modules.small_project.catalogue import CATALOGUE, NAME, catalogues

CENTRAL_SMALL_PROJECT = CentralPart(
    name=NAME,
    title="限额工程",
    tables=(catalogues, pool.contractors, projects.projects, projects.township_routes, projects.village_values,
            draw.draws, quotes.rounds, quotes.sealed, supervision.checks),
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    work=web.work,
    on_entry=projects.ON_ENTRY,
    demo=demo.seed,
    decisions={
        CATALOGUE: "发布指导价目录",
        pool.REGISTERED: "登记承包商",
        pool.BLACKLISTED: "承包商列入黑名单",
        pool.CLEARED: "承包商移出黑名单",
        projects.TOWNSHIP_STEP: "乡镇审批（下达村）",
        draw.FIXED: "固定并公布抽取依据",
        draw.DRAWN: "抽取承包商",
        quotes.QUOTING: "发出报价邀请",
        quotes.QUOTE: "承包商密封报价",
        quotes.OPENED: "开标定标（下达村）",
        supervision.CHECKS_FIXED: "固定双随机检查依据",
        supervision.CHECKS_DRAWN: "抽取双随机检查",
        supervision.CHECKED: "乡镇随机检查记录（下达村）",
        supervision.COMPLAINT: "监督热线投诉（下达村）",
    },
)
