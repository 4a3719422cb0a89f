"""一网采购 one-network procurement, on the village's edge: every purchase recorded, the split-purchase audit
before an offline one, demands up to the township, and the contract, delivery and payment after the award.

See README.md in this folder; the rules are ``rules.py``.
"""

from __future__ import annotations

from edge.kernel.contract import Part
from edge.modules.procurement import cli, config, db, demo, lists, summary, web
from edge.modules.procurement import kinds as K
from edge.modules.procurement.projection import PROJECTION

PROCUREMENT = Part(
    name=K.NAME,
    title="一网采购",
    kinds=K.KINDS,
    schema=db.SCHEMA,
    schema_version=db.SCHEMA_VERSION,
    projection=PROJECTION,
    routing_kinds=("procurement_override", "procurement_demand"),
    config=config.SECTION,
    cli=cli.register,
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    exports=lists.EXPORTS,
    publishes=lists.published,
    inbox=web.inbox,
    notices=web.notices,
    summarize=summary.summarize,
    demo=demo.seed,
    from_central=K.DOCUMENT_KINDS,  # the township's return, the award, a failed tender: signed, verified, once
)
