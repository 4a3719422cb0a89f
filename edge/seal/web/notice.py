"""What the seal puts on the village notice board (村务公开): each month's seal uses, never a person.

Published per month (Asia/Shanghai), seal kind and matter: how many uses were approved, how many presses
were made, and how many stamped pages the desk camera flagged (no photo, or a page unlike the approved
original). No applicant, approver or custodian names, no amounts, no documents or photos: the matter is
the one free text shown, and the board itself masks any phone or ID number typed into it.
"""

from __future__ import annotations

import aiosqlite

from edge.kernel.config import SEAL_NAMES
from edge.kernel.contract import Published

COLUMNS = ("月份", "印章", "用印事项", "批准次数", "按压次数", "核对异常页数")

# approved_at is UTC ISO-8601; '+8 hours' gives the month as the village lives it.
MONTHLY = """
SELECT strftime('%Y-%m', r.approved_at, '+8 hours') AS month, r.seal, r.matter, COUNT(*), SUM(r.presses_used),
       SUM((SELECT COUNT(*) FROM press_photos ph
            WHERE ph.request_id = r.id AND (ph.capture_failed IS NOT NULL OR ph.match = 0))),
       MAX(r.approved_at)
FROM requests r
WHERE r.approved_at IS NOT NULL
GROUP BY month, r.seal, r.matter
ORDER BY month DESC, r.seal, r.matter
"""


async def published(conn: aiosqlite.Connection, village: str) -> list[Published]:
    """The seal's monthly summary (one edge serves one village: ``village`` names it, nothing to filter)."""
    rows = list(await conn.execute_fetchall(MONTHLY))
    if not rows:
        return []
    table = tuple((month, SEAL_NAMES.get(seal, seal), matter, uses, presses, flagged) for month, seal, matter, uses, presses, flagged, _ in rows)
    return [Published("用印公开（按月）", "seal_request.approved", max(r[6] for r in rows), COLUMNS, table)]
