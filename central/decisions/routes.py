"""The decision log's pages and API: its public key for everyone, the documents' delivery for supervisors.

* ``GET /api/v1/central/pubkey``     ``{"public_key", "fingerprint", "pem", "algorithm"}``, no login
* ``GET /central/pubkey``             the same on a page, with how a village pins it
* ``GET /api/v1/central/documents``   the documents sent to the edges in the principal's scope, newest first
* ``GET /central/documents``          the same on a page (下发文书)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from central.db import documents
from central.decisions.log import DecisionLog
from central.inputs import errors, limit_query, text_query
from central.store import Refusal

#: The decision log's page templates (decisions/*.html), found beside the central's own.
TEMPLATES = Path(__file__).parent / "templates"
STATUS_NAMES = {"pending": "待送达", "applied": "已送达并执行", "refused": "被村拒收"}


def decision_log(shell: Any) -> DecisionLog:
    """The app's decision log; a 404 refusal when the central runs without a data folder for it (there is no
    key to publish: not a fault of the server's, which a 5xx would claim)."""
    log: DecisionLog | None = getattr(shell.state, "decisions", None)
    if log is None:
        raise Refusal(
            404,
            "no_decision_log",
            "中心库未配置数据目录, 决定台账不可用 the central runs without --data: no decision log",
        )
    return log


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    @api.get("/api/v1/central/pubkey", tags=["decisions"], responses=errors(404))
    async def pubkey() -> dict[str, str]:
        """The public key of the central's decision log: it signs the log's checkpoints and every document sent
        down to a village. ``public_key`` is base64 of the raw 32 bytes (what an edge pins as ``[central]
        decision_key``); ``fingerprint`` the SHA-256 of those bytes, hex."""
        return {**decision_log(shell).public_key(), "algorithm": "Ed25519"}

    @api.get("/central/pubkey", response_class=HTMLResponse, include_in_schema=False)
    async def pubkey_page(request: Request) -> Response:
        log = decision_log(shell)
        return await shell.render(  # type: ignore[no-any-return]
            request, "decisions/pubkey.html", key=log.public_key(), size=await log.ledger.size()
        )

    async def sent(
        request: Request, edge: str | None, status: str | None, limit: int
    ) -> tuple[Any, list[dict[str, Any]]]:
        """Who asks, and the documents sent to the edges in their scope, newest decision first."""
        who = await shell.principal_of(request)
        places = {e["edge_id"]: e for e in await shell.store.edge_summaries(who)}
        ids = [i for i in places if edge is None or i == edge]
        if status is not None and status not in STATUS_NAMES:
            raise Refusal(400, "malformed", f"status 应为 {', '.join(STATUS_NAMES)} status must be one of them")
        query = select(documents).where(documents.c.edge_id.in_(ids))
        if status is not None:
            query = query.where(documents.c.status == status)
        async with shell.store.db.reader.connect() as conn:
            rows = (await conn.execute(query.order_by(documents.c.decision_index.desc()).limit(limit))).all()
        return who, [
            {"id": r.id, "edge_id": r.edge_id, "village": places[r.edge_id]["village"], "kind": r.kind,
             "decision_index": r.decision_index, "status": r.status, "status_name": STATUS_NAMES[r.status],
             "settled_at": r.settled_at, "edge_index": r.edge_index, "reason": r.reason,
             "document": json.loads(r.content)} for r in rows
        ]  # fmt: skip

    @api.get("/api/v1/central/documents", tags=["decisions"], responses=errors(400, 401))
    async def api_documents(
        request: Request,
        edge: Annotated[str | None, text_query()] = None,
        status: Annotated[str | None, text_query()] = None,
        limit: Annotated[int, limit_query(500)] = 100,
    ) -> list[dict[str, Any]]:
        """Documents sent down to the edges in scope (one edge with ``edge``), newest decision first: each with
        its status (``pending``, ``applied``, ``refused``), when it was settled and by which entry of the
        village's ledger."""
        return (await sent(request, edge, status, limit))[1]

    @api.get("/central/documents", response_class=HTMLResponse, include_in_schema=False)
    async def documents_page(
        request: Request, edge: Annotated[str | None, text_query()] = None,
        status: Annotated[str | None, text_query()] = None,
    ) -> Response:  # fmt: skip
        who, rows = await sent(request, edge or None, status or None, 200)
        return await shell.render(  # type: ignore[no-any-return]
            request,
            "decisions/documents.html",
            principal=who,
            documents=rows,
            STATUS_NAMES=STATUS_NAMES,
            status=status or "",
        )

    return api
