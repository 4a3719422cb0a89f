"""一网采购 at the central: the demands villages send up and the township's review of each, the bidding, the
suppliers' credit, and the split-purchase flags over the purchases villages record. The edge's half is
edge/modules/procurement (its README describes the whole path and the documents' bodies)."""

from __future__ import annotations

from central.contract import CentralPart
from central.modules.procurement import kinds as K
from central.modules.procurement import demo, review, splits, web
from central.modules.procurement.tables import demands

PROCUREMENT = CentralPart(
    name=K.NAME,
    title="一网采购",
    tables=(demands,),
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    on_entry={K.DEMAND_SUBMITTED: review.received, K.PURCHASE_RECORDED: splits.received},
    decisions=K.DECISIONS,
    demo=demo.seed,
)
