"""廉情吹哨人 at the central: the township discipline officer's view of every clue of the villages in scope,
as the edges send them up (sealed: the officer opens them with their own key), with states, deadlines, overdue
flags and escalations. See edge/modules/whistleblower/README.md."""

from __future__ import annotations

import central.modules.whistleblower.reactions as reactions
import central.modules.whistleblower.tables as tables
import central.modules.whistleblower.web as web
from central.contract import CentralPart

CENTRAL_WHISTLEBLOWER = CentralPart(
    name=reactions.NAME,
    title="廉情吹哨人",
    tables=(tables.clues, tables.sealed),
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    on_entry=reactions.ON_ENTRY,
)
