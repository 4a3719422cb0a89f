"""用工派工单 labour dispatch: worker pools per trade with a public rotation order, work orders signed by the
village head, the week's plan approved at the committee meeting, dispatch by rotation, attendance, and pay by
bank transfer only, each step a ledger entry (README.md in this folder describes it for a newcomer)."""

from __future__ import annotations

from edge.kernel.contract import Part
from edge.modules.work_order import cli, demo, public, summary, web
from edge.modules.work_order import projection as P
from edge.modules.work_order.kinds import KINDS, NAME
from edge.modules.work_order.settings import SECTION

WORK_ORDER = Part(
    name=NAME,
    title="用工派工",
    kinds=KINDS,
    schema=P.SCHEMA,
    schema_version=P.SCHEMA_VERSION,
    projection=P.PROJECTION,
    routing_kinds=("work_order", "work_pay"),
    config=SECTION,
    cli=cli.register,
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    exports=public.EXPORTS,
    publishes=public.publishes,
    inbox=web.inbox,
    notices=web.notices,
    demo=demo.seed,
    summarize=summary.summarize,
)
