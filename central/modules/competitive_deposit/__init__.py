"""竞争性存放 at the central: the villages' plans gathered per county and township as their edges send them up
(``competitive_deposit.plan``), followed through the award, the signing and maturity, with the views officers
read. The monthly tender itself (bids, scores, the award sent down) is not here yet: see the edge module's README."""

from __future__ import annotations

import central.modules.competitive_deposit.reactions as reactions
import central.modules.competitive_deposit.tables as tables
import central.modules.competitive_deposit.web as web
from central.contract import CentralPart

CENTRAL_COMPETITIVE_DEPOSIT = CentralPart(
    name=reactions.NAME,
    title="竞争性存放",
    tables=(tables.plans, tables.unplanned),
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    on_entry=reactions.ON_ENTRY,
)
