"""用工派工 at the central: the township's comparison of its villages' labour dispatch, read from each village's
verified work_order entries — per worker the dispatches and pay (the spread shows fairness, a favourite stands
out), emergency orders, blacklistings with their reasons; never a personal number. See
edge/modules/work_order/README.md, "At the central"."""

from __future__ import annotations

import central.modules.work_order.reactions as reactions
import central.modules.work_order.tables as tables
import central.modules.work_order.web as web
from central.contract import CentralPart

CENTRAL_WORK_ORDER = CentralPart(
    name=reactions.NAME,
    title="用工派工",
    tables=(tables.workers, tables.orders, tables.dispatched, tables.pay_lines, tables.blacklistings),
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    on_entry=reactions.ON_ENTRY,
)
