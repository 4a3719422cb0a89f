"""Recompute every dispatch of a ledger from the ledger alone: a supervisor's check that nobody was hired out of turn.

The ledger is read in order; the pool (registrations and status changes), the orders and each trade's cursor are
folded as of each dispatch entry, and the dispatch is recomputed with the same rule the desk applied
(``rules.rotate``, or ``rules.take_posted`` with the takers it recorded). A dispatch whose recorded workers, passed-over
workers or cursors differ from the recomputation is listed with what it should have been.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import edge.modules.work_order.kinds as K
from edge.kernel.errors import InputError
from edge.ledger import Entry
from edge.modules.work_order.desk import candidates
from edge.modules.work_order.rules import POSTED, rotate, take_posted


def audit(entries: Iterable[Entry]) -> dict[str, Any]:
    """``{"dispatches": n, "mismatches": [{"entry", "order_id", "recorded", "recomputed"}]}`` over a ledger."""
    workers: dict[str, dict[str, Any]] = {}
    orders: dict[str, dict[str, Any]] = {}
    cursors: dict[str, int | None] = {}
    checked, mismatches = 0, []
    for e in entries:
        b = e.body
        if e.kind == K.WORKER_REGISTERED:
            workers[b["worker_id"]] = {"id": b["worker_id"], "trade": b["trade"], "rotation": b["rotation"], "status": "available",
                                       "status_from": None, "status_to": None, "relatives": list(b["relatives"])}  # fmt: skip
        elif e.kind == K.WORKER_STATUS and b.get("worker_id") in workers:
            workers[b["worker_id"]].update(status=b["status"], status_from=b.get("from"), status_to=b.get("to"))
        elif e.kind == K.ORDER_FILED:
            orders[b["order_id"]] = b
        elif e.kind == K.DISPATCHED:
            checked += 1
            o = orders.get(b.get("order_id", ""))
            recorded = {k: b.get(k) for k in ("workers", "skipped", "cursor_before", "cursor_after")}
            if o is None:
                mismatches.append({"entry": e.index, "order_id": b.get("order_id"), "recorded": recorded, "recomputed": None})
                continue
            pool = [w for w in workers.values() if w["trade"] == o["trade"]]
            standing = candidates(pool, date.fromisoformat(o["start"]), date.fromisoformat(o["end"]))
            relatives = [w["id"] for w in pool if o["applicant"] in w["relatives"]]
            refused = [s["worker"] for s in b.get("skipped", []) if s.get("reason") == "refused"]
            try:
                if b.get("mode") == POSTED:
                    result = take_posted(standing, b.get("takers", []), int(o["headcount"]), relatives)
                else:
                    result = rotate(standing, cursors.get(o["trade"]), int(o["headcount"]), refused, relatives)
            except InputError as exc:
                mismatches.append({"entry": e.index, "order_id": o["order_id"], "recorded": recorded, "recomputed": exc.message})
                continue
            recomputed = {"workers": list(result.workers), "skipped": [{"worker": w, "reason": r} for w, r in result.skipped],
                          "cursor_before": result.cursor_before, "cursor_after": result.cursor_after}  # fmt: skip
            if recomputed != recorded:
                mismatches.append({"entry": e.index, "order_id": o["order_id"], "recorded": recorded, "recomputed": recomputed})
            if b.get("mode") != POSTED:
                cursors[o["trade"]] = b.get("cursor_after")  # the ledger's cursor goes on, as the projection's does
    return {"dispatches": checked, "mismatches": mismatches}
