"""竞争性存放 at the central: the villages' plans gathered per county and township as their edges send them up
(``competitive_deposit.plan``), followed through the award, the signing and maturity, with the views officers
read; and the monthly tender (tender.py): the announcement, the banks' sealed bids, the county's scores, the
opening with the edge module's scoring rule, and each award sent down to its village as a signed document; and
the county's schedule (schedule.py), by which the central gathers the month's tender and opens it by itself."""

from __future__ import annotations

from central.contract import CentralPart
from central.modules.competitive_deposit import demo, reactions, schedule, tables, tender, web

CENTRAL_COMPETITIVE_DEPOSIT = CentralPart(
    name=reactions.NAME,
    title="竞争性存放",
    tables=(tables.plans, tables.unplanned, tables.tenders, tables.lots, tables.bids, tables.scores, tables.schedules,
            tables.accounts, tables.balances),
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    work=web.work,
    tick=schedule.Timer(),
    on_entry=reactions.ON_ENTRY,
    decisions={**tender.DECISIONS, schedule.SCHEDULE: "每月定时招标日程"},
    demo=demo.seed,
)
