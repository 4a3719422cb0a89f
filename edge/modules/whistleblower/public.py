"""The public pages, no login: any villager files a clue (anonymous unless they give a name) and gets a receipt
code, and later follows the clue and exchanges messages with the station by that code.

Nothing identifies a visitor: these pages never read or set a cookie (no session is looked up, so none is made),
the address and user agent are not stored (the rate limit keeps a keyed hash of the address in memory only),
everything they load is from this host (``/static``), the receipt code travels in POST bodies only (never in a
URL, a log line or the browser's history), and the answer to a wrong code is the same whatever codes exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

import edge.modules.whistleblower.rules as R
from edge.kernel.errors import EdgeError
from edge.modules.whistleblower.desk import Attachment, WhistleDesk, check_reporter, now_of
from edge.modules.whistleblower.limits import Limiter

HEADERS = {"Cache-Control": "no-store"}  # the shell adds Referrer-Policy same-origin; the page says no-referrer
CODE_TRIES = (10, 300, 900.0)  # per client, overall, in 15 minutes
FILINGS = (5, 100, 3600.0)  # per client, overall, in an hour


def router(shell: Any, codes: Limiter | None = None, filings: Limiter | None = None) -> APIRouter:
    api = APIRouter()
    codes = codes or Limiter(*CODE_TRIES)
    filings = filings or Limiter(*FILINGS)

    def desk() -> WhistleDesk:
        agent = shell.console.agent
        return WhistleDesk(agent.recorder, agent.config)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("error", None)
        return shell.templates.TemplateResponse(
            request,
            f"whistleblower/{name}",
            {"STATE_NAMES": R.STATE_NAMES, **context},
            status_code=status,
            headers=HEADERS,
        )  # type: ignore[no-any-return]

    def client(request: Request) -> str:
        return request.client.host if request.client else "-"

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        return not origin or origin == "null" or urlsplit(origin).netloc == request.headers.get("host", "")

    @api.get("/whistleblower/report", include_in_schema=False)
    async def report_form(request: Request) -> Response:
        return page(request, "report.html")

    @api.post("/whistleblower/report", include_in_schema=False)
    async def report(request: Request) -> Response:
        if not same_origin(request):
            return page(request, "report.html", 403, error="请从本站页面提交")
        form = await request.form()
        text = form.get("text")
        if not filings.take(client(request)):
            return page(request, "report.html", 429, error="提交过于频繁，请稍后再试", text=text)
        files = [
            Attachment(f.filename or "附件", await f.read()) for f in form.getlist("files") if isinstance(f, UploadFile)
        ]
        try:
            reporter = check_reporter(form.get("name"), form.get("phone"))
            filed = await desk().file_clue("public", str(text or ""), now_of(shell.console.agent), reporter, files)
        except EdgeError as exc:
            return page(request, "report.html", 400, error=exc.message, text=text)
        return page(request, "receipt.html", clue_id=filed.id, code=R.show_code(filed.code))

    @api.get("/whistleblower/follow", include_in_schema=False)
    async def follow_form(request: Request) -> Response:
        return page(request, "follow.html")

    async def followed(request: Request, form: Mapping[str, Any]) -> tuple[WhistleDesk, Any, bytes] | Response:
        if not same_origin(request):
            return page(request, "follow.html", 403, error="请从本站页面提交")
        if not codes.take(client(request)):
            return page(request, "follow.html", 429, error="查询过于频繁，请 15 分钟后再试")
        code = R.normalize_code(form.get("code"))
        d = desk()
        found = await d.find_by_code(code) if code is not None else None
        if found is None:
            return page(request, "follow.html", 404, error="查询码不正确。请核对 20 位数字后重试。")
        return d, found[0], found[1]

    async def status(
        request: Request, d: WhistleDesk, row: Any, rkey: bytes, code: str, notice: str | None = None
    ) -> Response:
        return page(request, "status.html", clue=row, items=await d.reporter_view(row, rkey), code=code, notice=notice)

    @api.post("/whistleblower/follow", include_in_schema=False)
    async def follow(request: Request) -> Response:
        form = await request.form()
        got = await followed(request, form)
        if isinstance(got, Response):
            return got
        return await status(request, *got, code=str(form.get("code")))

    @api.post("/whistleblower/follow/message", include_in_schema=False)
    async def message(request: Request) -> Response:
        form = await request.form()
        got = await followed(request, form)
        if isinstance(got, Response):
            return got
        d, row, rkey = got
        try:
            await d.reporter_message(row["id"], str(form.get("text") or ""), now_of(shell.console.agent))
        except EdgeError as exc:
            return await status(request, d, row, rkey, str(form.get("code")), exc.message)
        return await status(request, d, row, rkey, str(form.get("code")), "留言已送达联络站")

    return api
