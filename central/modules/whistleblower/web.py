"""The township discipline officer's view (``/m/whistleblower``): every clue of the villages in their scope, its
state and deadlines, overdue and escalated ones first — so a clue about a village's own cadres is never only in
their hands. A clue's sealed envelopes download as JSON (``/m/whistleblower/{edge}/{clue}.json``) and open on the
officer's own machine with their private key (``qinglian whistleblower open``); the central never holds that
key unwrapped and decrypts nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from central.contract import NavItem
from central.modules.whistleblower.tables import clues, sealed
from central.store import Refusal

TEMPLATES = Path(__file__).parent / "templates"
READERS = ("county_officer", "township_officer", "admin", "supervisor")
NAV = (NavItem("/m/whistleblower", "廉情线索", READERS),)
STATE_NAMES = {
    "received": "已收到", "acknowledged": "已确认收到", "triaged": "已研判", "verified": "已核实",
    "resolved": "已查实办结", "dismissed": "不予采信", "closed": "已反馈",
}  # fmt: skip


def _urgent(row: dict[str, Any]) -> tuple[int, str]:
    flagged = bool(row["escalated_at"] or row["ack_overdue"] or row["feedback_overdue"]) and row["state"] != "closed"
    return (0 if flagged else 1, row["received_at"])


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    async def in_scope(who: Any) -> list[dict[str, Any]]:
        async with shell.store.db.reader.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(select(clues).order_by(clues.c.received_at.desc()))]
        return [r for r in rows if who.covers(r["county"], r["township"])]

    @api.get("/m/whistleblower", include_in_schema=False)
    async def page(request: Request) -> Response:
        who = await shell.supervising(request)
        rows = sorted(await in_scope(who), key=_urgent)
        return await shell.render(request, "whistleblower/overview.html", clues=rows, STATE_NAMES=STATE_NAMES)  # type: ignore[no-any-return]

    @api.get("/m/whistleblower/{edge_id}/{clue_id}.json", include_in_schema=False)
    async def envelopes(request: Request, edge_id: str, clue_id: str) -> Response:
        who = await shell.supervising(request)
        row = next((r for r in await in_scope(who) if r["edge_id"] == edge_id and r["clue_id"] == clue_id), None)
        if row is None:  # another township's clue reads as no clue
            raise Refusal(404, "not_found", "没有此线索 no such clue")
        async with shell.store.db.reader.connect() as conn:
            items = await conn.execute(
                select(sealed)
                .where((sealed.c.edge_id == edge_id) & (sealed.c.clue_id == clue_id))
                .order_by(sealed.c.edge_index)
            )
            out = [
                {"clue": clue_id, "kind": i.kind, "author": i.author, "at": i.at, "envelope": json.loads(i.envelope)}
                for i in items
            ]
        body = json.dumps({"village": row["village"], "clue": clue_id, "items": out}, ensure_ascii=False)
        headers = {"Content-Disposition": f'attachment; filename="{clue_id}.json"', "Cache-Control": "no-store"}
        return Response(body, media_type="application/json", headers=headers)

    return api
