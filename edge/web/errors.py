"""The console's error answers: the envelope under /api, an error page for people, in Chinese."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from edge.kernel.errors import EdgeError, InputError, NotFound, Refused, Unavailable
from edge.web.shell import CsrfFailed, LoginRequired, Shell

log = logging.getLogger("edge.web")

# What the request validation says, in Chinese, for the problems a person (or a fuzzer) meets most.
_PROBLEMS = {
    "missing": "缺少此项", "int_parsing": "应为整数", "int_from_float": "应为整数", "bool_parsing": "应为 true 或 false",
    "greater_than_equal": "应不小于 {ge}", "less_than_equal": "应不大于 {le}", "greater_than": "应大于 {gt}",
    "less_than": "应小于 {lt}", "string_too_short": "太短（至少 {min_length} 个字符）",
    "string_too_long": "太长（最多 {max_length} 个字符）", "string_type": "应为文字", "float_parsing": "应为数字",
    "model_attributes_type": "应为 JSON 对象", "dict_type": "应为 JSON 对象", "list_type": "应为列表",
}  # fmt: skip


_HTTP = {404: "没有此页面或接口。", 405: "此地址不接受该请求方法。"}  # what the framework refuses most, in Chinese


def _problem(error: Any, fallback: str | None = None) -> str:
    """One validation problem in Chinese; for the rare ones not listed above, ``fallback`` (a page's), or else
    pydantic's English (the API's, for the program that sent it)."""
    template = _PROBLEMS.get(str(error.get("type")))
    try:
        return template.format(**(error.get("ctx") or {})) if template else fallback or str(error.get("msg"))
    except (KeyError, IndexError):
        return fallback or str(error.get("msg"))


def error_status(exc: EdgeError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, Refused):
        return 403 if exc.code in ("not_applicant", "not_approver", "forbidden") else 409
    if isinstance(exc, Unavailable):
        return 503
    return 500


def envelope(code: str, message: str, kind: str = "InputError") -> dict[str, Any]:
    """The API's error body, as ErrorEnvelope describes it: every /api error answers in this shape."""
    return {"ok": False, "error": {"code": code, "message": message, "type": kind}}


def install(app: FastAPI, shell: Shell) -> None:
    """Every router's errors answer the same way: the envelope under /api, a page (or the login) elsewhere."""

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if shell.is_api(request):
            return JSONResponse(envelope("login_required", "请先登录", "LoginRequired"), 401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)

    @app.exception_handler(CsrfFailed)
    async def _csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        message = "安全校验失败（CSRF 令牌缺失或无效），操作未执行。请刷新页面后重试。"
        if shell.is_api(request):
            return JSONResponse(envelope("csrf", message, "CsrfFailed"), 403)
        return await shell.render(request, "error.html", 403, title="安全校验失败", message=message)

    @app.exception_handler(EdgeError)
    async def _edge_error(request: Request, exc: EdgeError) -> Response:
        status = error_status(exc)
        if shell.is_api(request):
            return JSONResponse({"ok": False, "error": exc.to_dict()}, status)
        return await shell.render(request, "error.html", status, title="无法完成", message=exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            code, message = "bad_json", "请求内容不是有效的 JSON。"
        else:
            problems = "；".join(f"{'.'.join(str(x) for x in e.get('loc', ()))} {_problem(e)}" for e in errors)
            code, message = "bad_input", f"请求格式错误：{problems}"
        if shell.is_api(request):
            return JSONResponse(envelope(code, message), 422)
        if code == "bad_input":  # a page names no field by its program name (query.before), says no pydantic
            said = "；".join(dict.fromkeys(_problem(e, "格式不对") for e in errors))
            message = f"请求格式错误：{len(errors)} 项不符合要求（{said}）。请返回上一页检查后重试。"
        return await shell.render(request, "error.html", 400, title="输入有误", message=message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """What the framework refuses itself (no such path, a method the path lacks, an unreadable form)."""
        if shell.is_api(request):  # a program: the framework's own words (an unreadable form's why) help it
            message = _HTTP.get(exc.status_code, f"请求无法处理：{exc.detail}")
            return JSONResponse(envelope(f"http_{exc.status_code}", message, "HTTPError"), exc.status_code, headers=exc.headers)
        if exc.status_code not in _HTTP:  # a page says it in Chinese only; the English goes to the log
            log.info("%s %s refused (%s): %s", request.method, request.url.path, exc.status_code, exc.detail)
        message = _HTTP.get(exc.status_code, f"请求无法处理（错误 {exc.status_code}）。请返回上一页重试。")
        return await shell.render(request, "error.html", exc.status_code, title="无法完成", message=message)
