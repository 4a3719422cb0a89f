"""The ledger pages for supervisors and administrators: the timeline, its filters, its CSV, in pages and in /api."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from edge.kernel import exports
from edge.kernel.errors import InputError, Refused
from edge.kernel.fmt import SQLITE_MAX_INT
from edge.web import ledgerview as L
from edge.web.service import Principal
from edge.web.shell import API_ERRORS, Shell, attachment


class LedgerEntryOut(BaseModel):
    index: int
    ts: str
    kind: str
    kind_name: str
    summary: str
    anomaly: str | None
    projection_error: str | None = Field(
        None, description="why this entry could not be applied to the working state (anomaly projection_failed)"
    )
    body: dict[str, Any]
    hash: str


class LedgerPageOut(BaseModel):
    entries: list[LedgerEntryOut]
    next_before: int | None = Field(description="pass as ?before= for older entries")


def require_ledger(p: Principal) -> None:
    if not p.may_read_ledger:
        raise Refused("只有监督员和管理员可以查看台账", "forbidden")


def router(shell: Shell) -> APIRouter:
    console, ledger = shell.console, shell.ledger
    api = APIRouter()

    async def ledger_filter(kind: str | None, device: str | None, since: str | None, until: str | None, anomaly: bool, request_id: str | None) -> L.LedgerFilter:
        device_ids: tuple[str, ...] | None = None
        if device:
            names = await console.device_names()
            device_ids = tuple(i for i, n in names.items() if n == device) or (device,)
        return L.LedgerFilter(
            kind=kind or None, device_ids=device_ids, since=L.local_day(since, "开始日期"), until=L.local_day(until, "结束日期"),
            anomaly=anomaly, request_id=request_id or None, failed_entries=tuple(await shell.failed_entries()) if anomaly else (),
        )  # fmt: skip

    async def csv_response(flt: L.LedgerFilter) -> Response:
        """The whole filtered ledger, streamed: it may be far longer than one page of the timeline."""
        names = await console.device_names()
        failed = await shell.failed_entries()

        async def rows() -> AsyncIterator[str]:
            yield exports.BOM + exports.csv_text([L.CSV_COLUMNS])
            batch: list[list[str]] = []
            async for entry in ledger.iterate(flt):
                batch.append(L.csv_row(entry, console.config, names, failed, console.agent.db.parts))
                if len(batch) >= 500:
                    yield exports.csv_text(batch)
                    batch = []
            if batch:
                yield exports.csv_text(batch)

        filename = f"qinglian-ledger-{time.strftime('%Y%m%d-%H%M%S')}.csv"
        return StreamingResponse(
            (chunk.encode("utf-8") async for chunk in rows()), media_type=exports.CSV_TYPE,
            headers=attachment(filename, "台账-" + filename),
        )  # fmt: skip

    @api.get("/ledger", include_in_schema=False)
    async def ledger_page(
        request: Request, kind: str = "", device: str = "", since: str = "", until: str = "", anomaly: str = "",
        request_id: str = "", before: Annotated[int | None, Query(ge=0, le=SQLITE_MAX_INT)] = None,
    ) -> Response:  # fmt: skip
        p = await shell.principal_of(request)
        require_ledger(p)
        params = {"kind": kind, "device": device, "since": since, "until": until, "anomaly": anomaly, "request_id": request_id}
        try:
            flt = await ledger_filter(kind, device, since, until, bool(anomaly), request_id)
        except InputError as exc:
            return await shell.render(request, "ledger.html", 400, entries=[], params=params, kinds=[], error=exc.message, query="", next_before=None, anomalies=0, total=0)
        limit = 100
        entries = await ledger.query(flt, before, limit)
        names = await console.device_names()
        failed = await shell.failed_entries()
        query = urlencode({k: v for k, v in params.items() if v})
        return await shell.render(
            request, "ledger.html", entries=[shell.entry_out(e, names, failed) for e in entries], params=params, kinds=await ledger.kinds(),
            query=query, next_before=entries[-1].index if len(entries) == limit else None,
            anomalies=await ledger.count(L.LedgerFilter(anomaly=True, failed_entries=tuple(failed))), total=await ledger.count(flt),
            unapplied=await console.projection_anomalies(),
        )  # fmt: skip

    @api.get("/ledger.csv", include_in_schema=False)
    async def ledger_csv(
        request: Request, kind: str = "", device: str = "", since: str = "", until: str = "", anomaly: str = "", request_id: str = ""
    ) -> Response:
        p = await shell.principal_of(request)
        require_ledger(p)
        return await csv_response(await ledger_filter(kind, device, since, until, bool(anomaly), request_id))

    @api.get("/api/ledger", tags=["ledger"], response_model=LedgerPageOut, responses=API_ERRORS)
    async def api_ledger(
        request: Request,
        kind: Annotated[str | None, Query(description="exact kind, or a group such as seal.*")] = None,
        device: Annotated[str | None, Query(description="device name")] = None,
        since: Annotated[str | None, Query(description="from this date (Asia/Shanghai), YYYY-MM-DD")] = None,
        until: Annotated[str | None, Query(description="to this date inclusive")] = None,
        anomaly: Annotated[bool, Query(description="only entries flagged as anomalies")] = False,
        request_id: Annotated[str | None, Query()] = None,
        before: Annotated[int | None, Query(ge=0, le=SQLITE_MAX_INT, description="only entries below this index")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """The ledger timeline, newest first (supervisors and administrators). An entry the working state could
        not take is flagged ``projection_failed``, with the reason in ``projection_error``."""
        p = await shell.principal_of(request)
        require_ledger(p)
        flt = await ledger_filter(kind, device, since, until, anomaly, request_id)
        entries = await ledger.query(flt, before, limit)
        names = await console.device_names()
        failed = await shell.failed_entries()
        return {"entries": [shell.entry_out(e, names, failed) for e in entries], "next_before": entries[-1].index if len(entries) == limit else None}

    @api.get("/api/ledger/export.csv", tags=["ledger"], responses={200: {"content": {"text/csv": {}}}, **API_ERRORS})
    async def api_ledger_csv(
        request: Request, kind: str | None = None, device: str | None = None, since: str | None = None,
        until: str | None = None, anomaly: bool = False, request_id: str | None = None,
    ) -> Response:  # fmt: skip
        """The filtered ledger as CSV (UTF-8 with BOM, for Excel)."""
        p = await shell.principal_of(request)
        require_ledger(p)
        return await csv_response(await ledger_filter(kind, device, since, until, anomaly, request_id))

    return api
