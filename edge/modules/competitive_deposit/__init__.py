"""竞争性存放 competitive deposit of a village's idle collective funds, as one part of the edge.

An account whose idle funds reach the county's amount (3,000,000.00 yuan, 含) and have been idle for more than
its months (6) is due for the monthly tender: the joint meeting decides amount and term, the plan goes up to the
central, the award comes down, the contract is signed within 3 days, and at maturity the extra income against
the demand rate is published. See README.md beside this file.
"""

from __future__ import annotations

from edge.kernel.contract import Part
from edge.modules.competitive_deposit import cli, demo, desk, lists, summary, web
from edge.modules.competitive_deposit import projection as P
from edge.modules.competitive_deposit.settings import SECTION

COMPETITIVE_DEPOSIT = Part(
    name=P.NAME,
    title="竞争性存放",
    kinds=P.KINDS,
    schema=P.SCHEMA,
    schema_version=1,
    projection=P.PROJECTION,
    config=SECTION,
    cli=cli.register,
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    tick=desk.tick,
    exports=lists.EXPORTS,
    publishes=lists.publishes,
    demo=demo.seed,
    from_central=(P.AWARD,),
    summarize=summary.summarize,
)
