"""The central store's HTTP service: the edges' sync API, the supervisors' JSON API and pages.

Same stack as the edge's web console: FastAPI, Jinja2 pages rendered on the
server, uvicorn. Every asset ships in ``central/static``; nothing is loaded
from a CDN (village and township offices are often offline).

Sync API (requests signed with the edge's ledger key, see :mod:`edge.syncwire`):

* ``GET  /api/v1/sync/{edge}/state``    next expected index, last accepted checkpoint, config hash
* ``POST /api/v1/sync/{edge}/batches``  push one batch; the reply carries the merged config when the edge's is stale
* ``GET  /api/v1/sync/{edge}/config``   the merged config and its hash

Supervisor API (read-only; ``Authorization: Bearer <token>`` or the login cookie):

* ``GET /api/v1/me``, ``/api/v1/edges``, ``/api/v1/edges/{edge}``, ``/api/v1/edges/{edge}/entries``
* ``GET /api/v1/stats?from=&to=&group=month|day``, ``/api/v1/modules?from=&to=``
* ``GET /api/v1/refusals`` (signed by an enrolled key, one each), ``/api/v1/refusals/unsigned`` (counted by source)
* ``GET /api/v1/search?q=&village=&flag=&from=&to=``  stamped pages by the text read on them
* ``GET /api/v1/edges/{edge}/entries/{index}/proof[?tree_size=]`` and ``POST /api/v1/proofs/verify``
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from central import charts
from central.accounts.shell import CentralShell, GoTo, LoginRequired
from central.accounts.web import router as account_router
from central.contract import CentralPart
from central.configdocs import KIND_NAMES
from central.decisions.delivery import reactions
from central.decisions.log import DecisionError, DecisionLog
from central.decisions.routes import TEMPLATES as DECISION_TEMPLATES
from central.decisions.routes import router as decision_routes
from central.entrywords import EdgeWords, kind_name
from central.inputs import (
    MAX_INDEX,
    date_query,
    edge_path,
    errors,
    index_path,
    index_query,
    limit_query,
    text_query,
    validation_refusal,
    without_validation_errors,
)
from central.limits import BodyTooLarge, CappedBodies, load_edge_json
from central.modules import CENTRAL_PARTS
from central.store import (
    UNPLACED,
    AdminError,
    CentralStore,
    Period,
    Principal,
    Refusal,
    refusal_source,
)
from central.ticks import ticking
from edge.kernel.errors import chinese
from edge.ledger.localtime import MINUTES, local_time
from edge.ledger.merkle import verify_inclusion
from edge.ledger.wire import ANOMALY_NAMES, API_PREFIX

log = logging.getLogger("central.app")

HERE = Path(__file__).parent
#: A pushed batch up to this size is spooled in memory while its signature is unchecked; past it, on disk.
SPOOL_IN_MEMORY = 1024 * 1024

#: What a photographed page can be flagged for, against its approved original (edge/ocr/pipeline.py).
PAGE_FLAGS = {
    "any": "任一问题",
    "text": "内容不符",
    "title": "标题不符",
    "amount": "金额不符",
    "blank": "空白页",
    "seal_outside": "印章在监控区外",
    "seal_missing": "未见印章",
    "no_original": "无原件可比",
}
#: The six supervision modules by their glossary identifiers (a kind's prefix); others show the prefix.
MODULE_NAMES = {
    "whistleblower": "廉情吹哨人",
    "work_order": "用工派工单",
    "competitive_deposit": "竞争性存放",
    "small_project": "限额工程",
    "household_assembly": "户主大会",
    "procurement": "一网采购",
}
REFUSAL_NAMES = {
    "entry_rewritten": "条目被改写",
    "history_rewritten": "历史被改写",
    "forked": "历史分叉",
    "chain_broken": "哈希链断裂",
    "root_mismatch": "检查点不符",
    "bad_checkpoint_signature": "检查点签名无效",
    "bad_signature": "请求签名无效",
    "foreign_key": "他人密钥签名",
    "impersonation": "冒充其他边缘",
    "unenrolled": "未登记",
    "malformed": "格式错误",
    "bad_consistency_proof": "一致性证明无效",
    "gap": "缺口",
    "too_large": "请求过大",
    "too_deep": "嵌套过深",
}


def village_name(edge: Any) -> str:
    """An edge's village for a page (a summary dict or an ``edges`` row); one not placed yet shows its id."""
    fields = edge if isinstance(edge, dict) else edge._mapping
    return f"{UNPLACED}({fields['edge_id']})" if fields["village"] == UNPLACED else str(fields["village"])


def age_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{max(seconds, 0)} 秒前"
    if seconds < 7200:
        return f"{seconds // 60} 分钟前"
    if seconds < 172800:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


class InclusionCheck(BaseModel):
    """An inclusion proof to check: the entry's leaf hash (or its canonical bytes) against a root."""

    leaf_hash: str | None = None
    canonical: str | None = None
    index: int = Field(ge=0, le=MAX_INDEX)
    tree_size: int = Field(ge=0, le=MAX_INDEX)
    root_hash: str
    proof: list[str]


async def principal(request: Request) -> Principal:
    """Who reads the villages' records: ``Authorization: Bearer <supervisor token>``, an officer's or the
    administrator's session, or the supervisor token's login cookie (central/accounts/shell.py). A supplier or bank
    is refused here (its pages send it to its own work)."""
    shell: CentralShell = request.app.state.shell
    return await shell.supervising(request)


Who = Annotated[Principal, Depends(principal)]
EdgeId = Annotated[str, edge_path()]
Start = Annotated[str | None, date_query("from")]
End = Annotated[str | None, date_query("to")]


def create_app(
    store: CentralStore | None = None, db_url: str | None = None, parts: Sequence[CentralPart] = CENTRAL_PARTS,
    decisions: DecisionLog | None = None, data_dir: Path | None = None,
) -> FastAPI:  # fmt: skip
    """The ASGI app over ``store`` (or over a store it opens on ``db_url`` for its lifetime), with the pages and
    API of each module's central part (``parts``: the registered ones; a test adds its own).

    The central's decision log is ``decisions``, or the one it opens in ``data_dir`` for its lifetime (with
    ``db_url``); without either, the central takes no decisions (the public key answers 404)."""
    if (store is None) == (db_url is None):
        raise ValueError("give exactly one of store or db_url")

    def wired(s: CentralStore) -> CentralStore:
        s.on_verified = reactions(parts, lambda: app.state.decisions)
        return s

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if db_url is not None:
            app.state.store = wired(await CentralStore.open(db_url))
            try:
                if data_dir is not None:
                    app.state.decisions = await DecisionLog.open(data_dir, app.state.store.db)
                async with ticking(app.state.shell, parts):
                    yield
            finally:
                if app.state.decisions is not None:
                    await app.state.decisions.close()
                await app.state.store.close()
        else:
            async with ticking(app.state.shell, parts):
                yield

    app = FastAPI(
        title="清廉 Qinglian central store",
        description="中心库: 接收并核验各村台账批次, 下发配置, 供乡镇与县级督查查看",
        version="1",
        lifespan=lifespan,
    )
    app.state.store = None if store is None else wired(store)
    app.state.decisions = decisions
    app.add_middleware(CappedBodies)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # The central's own templates first, then each module's (under templates/<name>/, so names never clash).
    templates = Jinja2Templates(
        directory=[HERE / "templates", DECISION_TEMPLATES, *(p.templates for p in parts if p.templates)]
    )
    templates.env.filters["local"] = lambda ts: local_time(ts, MINUTES, "—")
    templates.env.filters["age"] = age_text
    templates.env.filters["village"] = village_name
    templates.env.filters["kind"] = kind_name
    templates.env.filters["scope"] = lambda account: Principal(account.scope_level, account.scope_name).place()
    templates.env.globals.update(
        FLAG_NAMES=ANOMALY_NAMES, REFUSAL_NAMES=REFUSAL_NAMES, KIND_NAMES=KIND_NAMES, MODULE_NAMES=MODULE_NAMES
    )

    def get_store(request: Request) -> CentralStore:
        return request.app.state.store  # type: ignore[no-any-return]

    @app.exception_handler(Refusal)
    async def _refusal(request: Request, exc: Refusal) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(exc.to_dict(), status_code=exc.status)
        # a page says it in Chinese only; the API's reason stays bilingual, for whoever reads the JSON
        return templates.TemplateResponse(
            request, "error.html", {"message": chinese(exc.reason), "principal": None}, status_code=exc.status
        )

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        response = await _refusal(request, exc.refusal)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(DecisionError)
    async def _bad_decision(request: Request, exc: DecisionError) -> Response:
        return await _refusal(request, Refusal(400, "malformed", str(exc)))

    @app.exception_handler(AdminError)
    async def _admin_error(request: Request, exc: AdminError) -> Response:
        return await _refusal(request, Refusal(400, "malformed", str(exc)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return await _refusal(request, validation_refusal(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """What the framework refuses itself (no such path, a method the path lacks), in the envelope too."""
        reason = {404: "没有此页面或接口 no such page or operation", 405: "此地址不接受该请求方法 method not allowed"}
        refusal = Refusal(exc.status_code, f"http_{exc.status_code}", reason.get(exc.status_code, str(exc.detail)))
        response = await _refusal(request, refusal)
        response.headers.update(exc.headers or {})
        return response

    described = app.openapi  # builds the description once and keeps it
    app.openapi = lambda: without_validation_errors(described())  # type: ignore[method-assign]

    # -- the edges' sync API ---------------------------------------------------------------

    async def signed_body(request: Request, edge_id: str) -> bytes:
        """The body of an edge's request, once its signature holds; :class:`Refusal` otherwise.

        The headers are checked first (edge enrolled, key known, clock close), so a stranger is refused
        before a byte of the body is read. The body then streams through its cap (:mod:`central.limits`)
        into a spool that moves to a 0600 temporary file past :data:`SPOOL_IN_MEMORY`, hashed on the way,
        and is read into memory only once the signature over its hash verifies.
        """
        store = get_store(request)
        claim = await store.check_request_headers(
            edge_id, request.headers, refusal_source(request.client.host if request.client else None)
        )
        path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        root = request.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if request.url.query:
            path += "?" + request.url.query
        digest = hashlib.sha256()
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            async for chunk in request.stream():
                digest.update(chunk)
                spool.write(chunk)
            await store.verify_request(claim, request.method, path, digest.hexdigest())
            spool.seek(0)
            return spool.read()

    @app.get(f"{API_PREFIX}/{{edge_id}}/state", tags=["sync"], responses=errors(400, 401, 404))
    async def sync_state(request: Request, edge_id: EdgeId) -> dict[str, Any]:
        """Where to resume: the next index the store expects, its last accepted checkpoint, the current config hash."""
        await signed_body(request, edge_id)
        return await get_store(request).sync_state(edge_id)

    @app.post(f"{API_PREFIX}/{{edge_id}}/batches", tags=["sync"], responses=errors(400, 401, 409, 413))
    async def push_batch(request: Request, edge_id: EdgeId) -> dict[str, Any]:
        """Push entries ``[from_index, checkpoint.tree_size)`` with the signed checkpoint and a consistency proof."""
        payload = load_edge_json(await signed_body(request, edge_id))
        return await get_store(request).ingest(edge_id, payload)

    @app.get(f"{API_PREFIX}/{{edge_id}}/config", tags=["sync"], responses=errors(400, 401, 404))
    async def sync_config(request: Request, edge_id: EdgeId) -> dict[str, Any]:
        """The merged configuration for this edge."""
        await signed_body(request, edge_id)
        merged, config_hash = await get_store(request).merged_config(edge_id)
        return {"config": merged, "config_hash": config_hash, "config_version": merged["version"]}

    # -- supervisors -----------------------------------------------------------------------

    @app.get("/api/v1/me", tags=["supervision"], responses=errors(401))
    async def me(who: Who) -> dict[str, Any]:
        return {"level": who.level, "name": who.name, "label": who.label, "scope": who.describe()}

    @app.get("/api/v1/edges", tags=["supervision"], responses=errors(401))
    async def api_edges(request: Request, who: Who) -> list[dict[str, Any]]:
        """Every edge in scope: entries held, last checkpoint and its age, last sync, flags and refused batches."""
        return await get_store(request).edge_summaries(who)

    @app.get("/api/v1/edges/{edge_id}", tags=["supervision"], responses=errors(400, 401, 404))
    async def api_edge(request: Request, who: Who, edge_id: EdgeId) -> dict[str, Any]:
        return await get_store(request).edge_detail(who, edge_id)

    @app.get("/api/v1/edges/{edge_id}/entries", tags=["supervision"], responses=errors(400, 401, 404))
    async def api_entries(
        request: Request,
        who: Who,
        edge_id: EdgeId,
        kind: Annotated[str | None, text_query()] = None,
        flagged: bool = False,
        start: Start = None,
        end: End = None,
        before: Annotated[int | None, index_query()] = None,
        limit: Annotated[int, limit_query(500)] = 50,
    ) -> list[dict[str, Any]]:
        period = Period.parse(start, end) if (start or end) else None
        return await get_store(request).list_entries(
            who, edge_id, kind=kind, flagged_only=flagged, period=period, before=before, limit=limit
        )

    @app.get("/api/v1/edges/{edge_id}/entries/{index}/proof", tags=["supervision"], responses=errors(400, 401, 404))
    async def api_proof(
        request: Request,
        who: Who,
        edge_id: EdgeId,
        index: Annotated[int, index_path()],
        tree_size: Annotated[int | None, index_query()] = None,
    ) -> dict[str, Any]:
        """A self-contained inclusion proof of one entry against an accepted, signed checkpoint."""
        await get_store(request).visible_edge(who, edge_id)
        return await get_store(request).inclusion_proof(edge_id, index, tree_size)

    @app.post("/api/v1/proofs/verify", tags=["supervision"], responses=errors(400, 401, 413))
    async def api_verify(who: Who, check: InclusionCheck) -> dict[str, Any]:
        """Check an inclusion proof (RFC 6962): give the leaf hash, or the entry's canonical bytes as text."""
        from edge.ledger import leaf_hash

        try:
            if check.leaf_hash is not None:
                leaf = bytes.fromhex(check.leaf_hash)
            elif check.canonical is not None:
                leaf = leaf_hash(check.canonical.encode())
            else:
                raise Refusal(400, "malformed", "需要 leaf_hash 或 canonical give leaf_hash or canonical")
            proof = [bytes.fromhex(p) for p in check.proof]
            root = bytes.fromhex(check.root_hash)
        except ValueError:
            raise Refusal(400, "malformed", "哈希须为十六进制 hashes must be hex") from None
        valid = verify_inclusion(leaf, check.index, check.tree_size, proof, root)
        return {"valid": valid, "leaf_hash": leaf.hex()}

    @app.get("/api/v1/stats", tags=["supervision"], responses=errors(400, 401))
    async def api_stats(
        request: Request, who: Who, start: Start = None, end: End = None, group: Literal["month", "day"] = "month"
    ) -> dict[str, Any]:
        """Seal uses and flags per village and month (or day), in Asia/Shanghai dates; flags by kind."""
        return await get_store(request).statistics(who, Period.parse(start, end), group)

    @app.get("/api/v1/modules", tags=["supervision"], responses=errors(400, 401))
    async def api_modules(
        request: Request, who: Who, start: Start = None, end: End = None, limit: Annotated[int, limit_query(1000)] = 200
    ) -> dict[str, Any]:
        """The latest records of the supervision modules (entry kinds outside the seal loop), by module."""
        return await get_store(request).module_records(who, Period.parse(start, end), limit)

    @app.get("/api/v1/search", tags=["supervision"], responses=errors(400, 401))
    async def api_search(
        request: Request,
        who: Who,
        q: Annotated[str, text_query()] = "",
        village: Annotated[str | None, text_query()] = None,
        flag: Annotated[str | None, text_query()] = None,
        start: Start = None,
        end: End = None,
        limit: Annotated[int, limit_query(200)] = 50,
    ) -> dict[str, Any]:
        """Stamped pages by the text the edges read on them (every word must occur), in scope and period."""
        return await search(request, who, q, village, flag, start, end, limit)

    async def search(
        request: Request, who: Principal, q: str, village: str | None, flag: str | None,
        start: str | None, end: str | None, limit: int,
    ) -> dict[str, Any]:  # fmt: skip
        if flag and flag not in PAGE_FLAGS:
            raise Refusal(400, "malformed", f"flag 应为 {' / '.join(PAGE_FLAGS)}")
        period = Period.parse(start or None, end or None)
        return await get_store(request).search_pages(who, q, period, village or None, flag or None, limit)

    @app.get("/api/v1/refusals", tags=["supervision"], responses=errors(400, 401))
    async def api_refusals(
        request: Request, who: Who, limit: Annotated[int, limit_query(1000)] = 100
    ) -> list[dict[str, Any]]:
        """Refused pushes signed by an enrolled key (rewritten or forked histories, foreign keys), latest first."""
        return await get_store(request).recent_refusals(who, limit)

    @app.get("/api/v1/refusals/unsigned", tags=["supervision"], responses=errors(400, 401))
    async def api_unsigned_refusals(
        request: Request, who: Who, limit: Annotated[int, limit_query(1000)] = 100
    ) -> list[dict[str, Any]]:
        """Refused requests no enrolled key signed, counted per source, edge and reason (never one row each)."""
        return await get_store(request).unsigned_refusals(who, limit)

    # -- pages -----------------------------------------------------------------------------

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(GoTo)
    async def _go_to(request: Request, exc: GoTo) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def overview(request: Request, who: Who, start: Start = None, end: End = None) -> Response:
        store = get_store(request)
        period = Period.parse(start or None, end or None)
        stats = await store.statistics(who, period, "month")
        summaries = await store.edge_summaries(who)
        words = EdgeWords(await store.config_documents())  # each record named as its village names people
        context = {
            "principal": who,
            "stats": stats,
            "edges": summaries,
            "flagged": [e for e in summaries if e["flagged"]],
            "uses_chart": charts.uses_by_village_month(stats),
            "flags_chart": charts.flags_by_kind(stats, ANOMALY_NAMES),
            "refusals": await store.recent_refusals(who, 20),
            "unsigned_refusals": await store.unsigned_refusals(who, 20),
            "modules": (await store.module_records(who, period, 100, words.line))["modules"],
            "period": period,
        }
        return templates.TemplateResponse(request, "overview.html", context)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    async def search_page(
        request: Request,
        who: Who,
        q: Annotated[str, text_query()] = "",
        village: Annotated[str, text_query()] = "",
        flag: Annotated[str, text_query()] = "",
        start: Start = None,
        end: End = None,
    ) -> Response:
        found = await search(request, who, q, village, flag, start, end, 100) if q or flag else None
        villages = sorted({e["village"] for e in await get_store(request).edge_summaries(who)})
        context = {"principal": who, "found": found, "q": q, "village": village, "flag": flag, "villages": villages,
                   "start": start or "", "end": end or "", "PAGE_FLAGS": PAGE_FLAGS}  # fmt: skip
        return templates.TemplateResponse(request, "search.html", context)

    @app.get("/edges/{edge_id}", response_class=HTMLResponse, include_in_schema=False)
    async def edge_page(
        request: Request, who: Who, edge_id: EdgeId, flagged: bool = False,
        before: Annotated[int | None, index_query()] = None,
    ) -> Response:  # fmt: skip
        store = get_store(request)
        detail = await store.edge_detail(who, edge_id)
        rows = await store.list_entries(who, edge_id, flagged_only=flagged, before=before, limit=50)
        context = {"principal": who, "edge": detail, "entries": rows, "flagged_only": flagged}
        return templates.TemplateResponse(request, "edge.html", context)

    @app.get("/edges/{edge_id}/entries/{index}", response_class=HTMLResponse, include_in_schema=False)
    async def entry_page(request: Request, who: Who, edge_id: EdgeId, index: Annotated[int, index_path()]) -> Response:
        store = get_store(request)
        edge = await store.visible_edge(who, edge_id)
        proof = await store.inclusion_proof(edge_id, index)
        words = EdgeWords(await store.config_documents())
        context = {
            "principal": who,
            "edge": edge,
            "proof": proof,
            "proof_json": json.dumps(proof, ensure_ascii=False, indent=2),
            "body_json": json.dumps(proof["entry"]["body"], ensure_ascii=False, indent=2),
            "line": words.line(edge, index, proof["entry"]["ts"], proof["entry"]["kind"], proof["entry"]["body"]),
        }
        return templates.TemplateResponse(request, "entry.html", context)

    shell = app.state.shell = CentralShell(app.state, templates, tuple(parts))
    app.include_router(account_router(shell))  # login, logout, registration, 我的工作, user admin
    app.include_router(decision_routes(shell))
    for part in parts:
        if part.router is not None:
            app.include_router(part.router(shell))

    return app
