"""The console's FastAPI application: server-rendered pages for people, a JSON API under ``/api``.

Pages (Jinja2, Chinese, usable on a 360-px phone; every asset from ``/static``):

* ``/login``, ``/logout``, ``/account`` (password, phone push)
* ``/requests`` (list), ``/requests/new`` (file with the original), ``/requests/{id}`` (status, original,
  approve/reject, grants, presses with photos and OCR flags, push deliveries)
* ``/inbox`` (approver), ``/ledger`` and ``/ledger.csv`` (supervisor), ``/devices``, ``/admin/users``

The JSON API (described at ``/openapi.json``, browsable at ``/api/docs``) uses the
same session cookie; every state-changing call needs the session's CSRF token
in ``X-CSRF-Token`` (forms send it as ``csrf_token``). Nothing is ever reachable
by a bare link: a push opens the request page, which asks for a login.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.cli import local_time
from edge.config import ROLE_NAMES as PERSON_ROLE_NAMES
from edge.config import SEAL_KINDS, SEAL_NAMES
from edge.db import FINAL_STATES, STATUS_NAMES
from edge.errors import EdgeError, InputError, NotFound, Refused, Unavailable
from edge.money import SQLITE_MAX_INT, yuan
from edge.photos import PhotoStore
from edge.web import ledgerview as L
from edge.web.accounts import change_own_password, check_account, create_account, reset_password, set_disabled
from edge.web.passwords import dummy_hash, verify_password
from edge.web.service import PASSWORD_CHANGE_REQUIRED, Console, Principal
from edge.web.store import DELIVERY_NAMES, ROLE_NAMES, ROLES, LoginLimit, Session
from edge.web.uploads import ACCEPT, content_type_of

log = logging.getLogger("edge.web")

HERE = Path(__file__).parent
COOKIE = "qinglian_session"
LOGIN_COOKIE = "qinglian_login"  # the login form's CSRF token (signed double-submit): no session before a login
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_FORM_OVERHEAD = 256 * 1024  # multipart boundaries and the other fields of the upload form

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'self'; frame-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)


class LoginRequired(Exception):
    pass


class CsrfFailed(Exception):
    pass


# -- API models (the OpenAPI description) ------------------------------------------------------------


class ErrorOut(BaseModel):
    code: str
    message: str
    type: str = "EdgeError"


class ErrorEnvelope(BaseModel):
    ok: bool = False
    error: ErrorOut


class LoginIn(BaseModel):
    username: str
    password: str


class MeOut(BaseModel):
    username: str
    name: str
    roles: list[str] = Field(description="effective roles on this edge host")
    person: str | None = Field(description="the person of the edge config's roster this account acts as")
    villages: list[str]
    village: str = Field(description="the village this edge host serves")
    csrf_token: str = Field(description="send as X-CSRF-Token on every POST/DELETE")
    must_change_password: bool = Field(description="an admin set this password: no approvals until the owner sets their own")


class ApprovalOut(BaseModel):
    person: str
    decision: str
    reason: str | None = None
    at: str


class RequestOut(BaseModel):
    id: str
    status: str
    status_name: str
    applicant: str
    matter: str
    seal: str
    presses: int
    amount_fen: int
    device_id: str
    device_name: str
    custodian: str
    document: dict[str, Any]
    route: dict[str, Any]
    filed_at: str
    approved_at: str | None = None
    ended_at: str | None = None
    grant_no: int | None = None
    presses_used: int
    reason: str | None = None
    approvals: list[ApprovalOut]


class DeliveryOut(BaseModel):
    id: int
    request_id: str | None
    event: str
    backend: str
    kind: str
    recipient: str
    status: str = Field(description="queued | retrying | sent | failed")
    status_name: str
    attempts: int
    next_at: float | None = Field(description="Unix time of the next attempt while queued or retrying")
    last_error: str | None
    created_at: str
    updated_at: str


class RequestDetailOut(RequestOut):
    grants: list[dict[str, Any]]
    press_events: list[dict[str, Any]] = Field(description="each press; photo and OCR flags once recorded")
    deliveries: list[DeliveryOut]


class SearchHitOut(BaseModel):
    photo_sha256: str = Field(description="the photo, served at /requests/{request_id}/photos/{photo_sha256}")
    village: str
    seal: str
    request_id: str | None
    press_no: int | None
    taken_at: str
    title: str | None = Field(description="the title read on the page")
    amount_fen: int | None = Field(description="the amount read on the page")
    flags: list[str] = Field(description="what differed from the approved original (amount, title, text, blank, ...)")
    snippet: str = Field(description="the matching text, the match in [brackets]")
    request: RequestOut


class InboxItemOut(BaseModel):
    request: RequestOut
    your_turn: bool
    why_not: str | None


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class DeviceOut(BaseModel):
    name: str
    seal: str
    custodian: str
    enrolled: bool
    device_id: str | None = None
    online: bool = False
    lock: str | None = Field(None, description="locked | unlocked, from the device's last status")
    presses_total: int | None = None
    boots: int | None = None
    fw: str | None = Field(None, description="SHA-256 of the firmware the device runs")
    last_grant_no: int | None = None
    last_event_id: int | None = None
    last_seen: str | None = None
    anomalies: int | None = None
    grant: dict[str, Any] | None = None
    blocked: dict[str, Any] | None = Field(
        None, description="no grants until re-provisioned: it used a grant the edge never issued (no, reason, entry, at)"
    )


class CameraOut(BaseModel):
    configured: bool = Field(description="false: the edge has no [camera] section and takes no photos")
    connected: bool | None = Field(None, description="the camera delivers frames now")
    last_error: str | None = Field(None, description="why it does not, while it does not")
    reconnects: int | None = None
    captures: int | None = Field(None, description="photos taken since the agent started")
    capture_failures: int | None = Field(None, description="presses since the start left without a photo (flagged)")
    in_progress: int | None = Field(None, description="captures and OCR checks still running")
    ocr_backend: str | None = None


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


class PushKeyOut(BaseModel):
    public_key: str = Field(description="VAPID public key (base64url, uncompressed P-256 point): the applicationServerKey")


class PushKeysIn(BaseModel):
    p256dh: str = Field(min_length=10, max_length=200)
    auth: str = Field(min_length=4, max_length=100)


class PushSubscriptionIn(BaseModel):
    endpoint: str = Field(min_length=10, max_length=2000)
    keys: PushKeysIn
    expirationTime: float | None = None


class PushUnsubscribeIn(BaseModel):
    endpoint: str


class OkOut(BaseModel):
    ok: bool = True


# -- middleware -------------------------------------------------------------------------------------


class GuardMiddleware:
    """Security headers on every response, and a cap on request bodies (checked as they stream in)."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._too_large(scope, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge()
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"SAMEORIGIN"),
                ]
                names = {k.lower() for k, _ in message.get("headers", [])}
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, limited, with_headers)
        except BodyTooLarge:
            await self._too_large(scope, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        mb = (self.max_body - _FORM_OVERHEAD) // (1024 * 1024)
        text = f"上传内容过大：原件最多 {mb} MB。"
        if scope["path"].startswith("/api/"):
            body = json.dumps({"ok": False, "error": {"code": "file_too_large", "message": text, "type": "InputError"}}, ensure_ascii=False).encode()
            ctype = b"application/json"
        else:
            body = f"<!doctype html><meta charset=utf-8><title>上传过大</title><p>{text}<p><a href=/requests/new>返回</a>".encode()
            ctype = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


# What the request validation says, in Chinese, for the problems a person (or a fuzzer) meets most.
_PROBLEMS = {
    "missing": "缺少此项", "int_parsing": "应为整数", "int_from_float": "应为整数", "bool_parsing": "应为 true 或 false",
    "greater_than_equal": "应不小于 {ge}", "less_than_equal": "应不大于 {le}", "greater_than": "应大于 {gt}",
    "less_than": "应小于 {lt}", "string_too_short": "太短（至少 {min_length} 个字符）",
    "string_too_long": "太长（最多 {max_length} 个字符）", "string_type": "应为文字", "float_parsing": "应为数字",
    "model_attributes_type": "应为 JSON 对象", "dict_type": "应为 JSON 对象", "list_type": "应为列表",
}  # fmt: skip


def _problem(error: Any) -> str:
    """One validation problem in Chinese (pydantic's English for the rare ones not listed above)."""
    template = _PROBLEMS.get(str(error.get("type")))
    try:
        return template.format(**(error.get("ctx") or {})) if template else str(error.get("msg"))
    except (KeyError, IndexError):
        return str(error.get("msg"))


# -- the application ------------------------------------------------------------------------------


def create_app(console: Console, ledger: L.LedgerReader) -> FastAPI:
    settings = console.settings
    store = console.store
    app = FastAPI(
        title="清廉 边缘控制台 API",
        version="1",
        description="The JSON API of the edge's web console: seal requests, approvals, devices, the ledger, push. "
        "Log in with POST /api/login (a session cookie); send the returned csrf_token as X-CSRF-Token on every change.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.add_middleware(GuardMiddleware, max_body=settings.max_upload_bytes + _FORM_OVERHEAD)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.globals.update(
        SEAL_NAMES=SEAL_NAMES, SEAL_KINDS=SEAL_KINDS, STATUS_NAMES=STATUS_NAMES, ROLE_NAMES=ROLE_NAMES, ROLES=ROLES,
        DELIVERY_NAMES=DELIVERY_NAMES, KIND_GROUPS=L.KIND_GROUPS, KIND_NAMES=L.KIND_NAMES, FINAL_STATES=FINAL_STATES,
        PERSON_ROLE_NAMES=PERSON_ROLE_NAMES, village=console.config.village, ACCEPT=ACCEPT,
        max_upload_mb=settings.max_upload_bytes // (1024 * 1024), device_choices=[d.name for d in console.config.devices],
    )  # fmt: skip
    env.filters.update(local_time=local_time, yuan=yuan, anomaly_name=L.anomaly_name, kind_name=L.kind_name, reason_name=L.reason_name)
    env.globals["person_name"] = console.name_of
    env.globals["clock"] = lambda t: datetime.fromtimestamp(t, L.SHANGHAI).strftime("%H:%M:%S") if t else "-"

    # -- sessions, CSRF ----------------------------------------------------------------------------

    async def session_of(request: Request) -> Session | None:
        try:
            return request.state.session  # type: ignore[no-any-return]  # looked up once per request
        except AttributeError:
            pass
        token = request.cookies.get(COOKIE)
        session = None
        if token:
            session = await store.session(token, settings.session_idle_s, settings.session_max_s)
        request.state.session = session
        return session

    async def principal_of(request: Request) -> Principal:
        session = await session_of(request)
        if session is None or session.user is None:
            raise LoginRequired()
        return console.principal(session.user)

    def secure_cookie(request: Request) -> bool:
        if settings.secure_cookies == "always":
            return True
        if settings.secure_cookies == "never":
            return False
        return request.url.scheme == "https"

    def set_cookie(request: Request, response: Response, token: str, persistent: bool) -> None:
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="lax", secure=secure_cookie(request), path="/",
            max_age=settings.session_max_s if persistent else None,
        )  # fmt: skip

    async def check_csrf(request: Request, session: Session | None, expected: str | None = None) -> None:
        """The request carries the session's CSRF token (or ``expected``: the login form's cookie)."""
        origin = request.headers.get("origin")  # browsers send it on POSTs: another site's form is refused outright
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
            raise CsrfFailed()
        expected = session.csrf if session is not None else expected
        if expected is None:
            raise CsrfFailed()
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        if not token or not hmac.compare_digest(token.encode(), expected.encode()):
            raise CsrfFailed()

    async def acting(request: Request) -> Principal:
        """The logged-in principal of a state-changing request, after the CSRF check."""
        session = await session_of(request)
        if session is None or session.user is None:
            raise LoginRequired()
        await check_csrf(request, session)
        return console.principal(session.user)

    async def flash(request: Request, kind: str, message: str) -> None:
        session = await session_of(request)
        if session is not None:
            await store.set_flash(session.token_hash, kind, message)

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    async def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        session = await session_of(request)
        p = console.principal(session.user) if session and session.user else None
        shown_flash = await store.pop_flash(session.token_hash) if session else None
        context.setdefault("error", None)
        return templates.TemplateResponse(
            request, name,
            {"p": p, "csrf": session.csrf if session else "", "flash": shown_flash, "sim": console.sim is not None,
             "path": request.url.path, "storage_warning": console.storage_warning() if p and p.is_admin else None,
             **context},
            status_code=status_code,
        )  # fmt: skip

    # -- errors ------------------------------------------------------------------------------------

    async def refusal_text(exc: Refused, p: Principal, request_id: str) -> str:
        """The rule that refused, in plain Chinese (the agent's own message is bilingual)."""
        if exc.code in L.REFUSAL_MESSAGES:
            return L.REFUSAL_MESSAGES[exc.code]
        if exc.code == "out_of_order":
            return (console.turn(p, await console.request_for(p, request_id)) or "未轮到您审批") + "。"
        return exc.message

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

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if is_api(request):
            return JSONResponse({"ok": False, "error": {"code": "login_required", "message": "请先登录", "type": "LoginRequired"}}, 401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)

    @app.exception_handler(CsrfFailed)
    async def _csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        message = "安全校验失败（CSRF 令牌缺失或无效），操作未执行。请刷新页面后重试。"
        if is_api(request):
            return JSONResponse({"ok": False, "error": {"code": "csrf", "message": message, "type": "CsrfFailed"}}, 403)
        return await render(request, "error.html", 403, title="安全校验失败", message=message)

    @app.exception_handler(EdgeError)
    async def _edge_error(request: Request, exc: EdgeError) -> Response:
        status = error_status(exc)
        if is_api(request):
            return JSONResponse({"ok": False, "error": exc.to_dict()}, status)
        return await render(request, "error.html", status, title="无法完成", message=exc.message)

    def envelope(code: str, message: str, kind: str = "InputError") -> dict[str, Any]:
        """The API's error body, as ErrorEnvelope describes it: every /api error answers in this shape."""
        return {"ok": False, "error": {"code": code, "message": message, "type": kind}}

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            code, message = "bad_json", "请求内容不是有效的 JSON。"
        else:
            problems = "；".join(f"{'.'.join(str(x) for x in e.get('loc', ()))} {_problem(e)}" for e in errors)
            code, message = "bad_input", f"请求格式错误：{problems}"
        if is_api(request):
            return JSONResponse(envelope(code, message), 422)
        return await render(request, "error.html", 400, title="输入有误", message=message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """What the framework refuses itself (no such path, a method the path lacks, an unreadable form)."""
        message = {404: "没有此页面或接口。", 405: "此地址不接受该请求方法。"}.get(exc.status_code, f"请求无法处理：{exc.detail}")
        if is_api(request):
            return JSONResponse(envelope(f"http_{exc.status_code}", message, "HTTPError"), exc.status_code, headers=exc.headers)
        return await render(request, "error.html", exc.status_code, title="无法完成", message=message)

    # -- login ---------------------------------------------------------------------------------------

    def safe_next(target: str | None) -> str:
        if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
            return target
        return "/"

    login_key = secrets.token_bytes(32)  # signs login-form tokens; a restart only asks for a reload of the form

    def new_login_token() -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{hmac.new(login_key, nonce.encode(), hashlib.sha256).hexdigest()}"

    def login_token_ok(token: str | None) -> bool:
        nonce, _, mac = (token or "").partition(".")
        expected = hmac.new(login_key, nonce.encode(), hashlib.sha256).hexdigest()
        return bool(nonce) and hmac.compare_digest(mac.encode(), expected.encode())

    def login_limits(request: Request, username: str) -> tuple[list[LoginLimit], LoginLimit]:
        """(the account's counters, the address's counter) an attempt is charged to.

        The client address is the connection's, or what a configured proxy says (edge/web/server.py):
        never a header anyone can set. An account is limited per address and, more loosely, over all
        addresses, so one guesser slows only their own tries at it, not its owner's from elsewhere.
        """
        client = request.client.host if request.client else "unknown"
        name = username.lower()[:64]  # no real username is longer (accounts.py); keys stay small
        account = [LoginLimit(f"user:{name}@{client}", settings.login_max_failures),
                   LoginLimit(f"user:{name}", settings.login_account_max_failures)]  # fmt: skip
        return account, LoginLimit(f"ip:{client}", settings.login_ip_max_failures)

    async def attempt_login(request: Request, username: str, password: str) -> tuple[Any, str | None, int]:
        """(account or None, error message, HTTP status)."""
        username = (username or "").strip()
        account_limits, address_limit = login_limits(request, username)
        backoff = (settings.login_backoff_s, settings.login_backoff_max_s)
        # Counted before the (slow) hash: parallel guesses each take a turn, and only the allowed ones are checked.
        wait = await store.claim_attempt([*account_limits, address_limit], *backoff)
        if wait > 0:
            return None, f"登录失败次数过多，请 {int(wait) + 1} 秒后再试。", 429
        found = await store.password_hash(username) if username else None
        stored = found[1] if found else dummy_hash()
        ok = await asyncio.to_thread(verify_password, password or "", stored)
        if found is None or not ok or found[0].disabled:
            message = "用户名或密码错误。"
            if found is not None and found[0].disabled and ok:
                message = "此账号已停用。"
            blocked = await store.blocked_for([limit.key for limit in [*account_limits, address_limit]])
            if blocked:
                message += f" 失败次数过多，请 {int(blocked) + 1} 秒后再试。"
            return None, message, 401
        await store.forgive([limit.key for limit in account_limits], [address_limit], *backoff)
        return found[0], None, 200

    async def login_form(request: Request, next: str, status_code: int = 200, username: str = "", error: str | None = None) -> Response:
        """The login page with its CSRF token, also set as a cookie: a POST must bring both, and only this
        server can make a token that passes (it is signed). Nothing is stored."""
        token = request.cookies.get(LOGIN_COOKIE)
        if token is None or not login_token_ok(token):
            token = new_login_token()
        response = await render(request, "login.html", status_code, next=safe_next(next), username=username, error=error, csrf=token)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookie(request), path="/login")
        return response

    async def logged_in(request: Request, account: Any, target: str) -> Response:
        """A fresh session for ``account``; an account whose password an admin set goes to change it first."""
        token, _ = await store.create_session(account.id)
        session = await store.session(token, settings.session_idle_s, settings.session_max_s)
        assert session is not None
        if account.must_change_password:
            await store.set_flash(session.token_hash, "error", PASSWORD_CHANGE_REQUIRED)
            target = "/account"
        response = RedirectResponse(target, 303)
        set_cookie(request, response, token, persistent=True)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.get("/login", include_in_schema=False)
    async def login_page(request: Request, next: str = "/") -> Response:
        session = await session_of(request)
        if session is not None and session.user is not None:
            return RedirectResponse(safe_next(next), 303)
        return await login_form(request, next)

    @app.post("/login", include_in_schema=False)
    async def login_submit(
        request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
    ) -> Response:
        cookie = request.cookies.get(LOGIN_COOKIE)
        if not login_token_ok(cookie):  # no form from us (or from before a restart): show a fresh one
            return RedirectResponse(f"/login?next={quote(safe_next(next), safe='')}", 303)
        await check_csrf(request, None, expected=cookie)
        account, error, status = await attempt_login(request, username, password)
        if account is None:
            return await login_form(request, next, status, username, error)
        old = await session_of(request)
        if old is not None:
            await store.end_session(old.token_hash)  # a fresh session id after login
        response = await logged_in(request, account, safe_next(next))
        await store.purge_sessions(settings.session_idle_s, settings.session_max_s)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        session = await session_of(request)
        if session is not None:
            await check_csrf(request, session)
            await store.end_session(session.token_hash)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- pages ---------------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        p = await principal_of(request)
        if not p.in_scope:
            return await render(request, "error.html", 403, title="不在本村范围", message=f"您的账号不属于{console.config.village}，本控制台没有您可查看的记录。")
        if p.account.must_change_password:
            return RedirectResponse("/account", 303)  # the page flow leads to setting one's own password first
        if p.may_decide:
            return RedirectResponse("/inbox", 303)
        if p.may_file or p.roles & {"village_staff"}:
            return RedirectResponse("/requests", 303)
        if p.may_read_ledger and not p.is_admin:
            return RedirectResponse("/ledger", 303)
        return RedirectResponse("/devices" if p.may_see_devices else "/requests", 303)

    @app.get("/requests", include_in_schema=False)
    async def requests_page(request: Request, status: str | None = None) -> Response:
        p = await principal_of(request)
        status = status if status in STATUS_NAMES else None
        items = await console.visible_requests(p, status)
        return await render(request, "requests.html", requests=items, status=status)

    @app.get("/requests/new", include_in_schema=False)
    async def new_request_page(request: Request) -> Response:
        p = await principal_of(request)
        if not p.may_file:
            raise Refused("您的账号不能提交用印申请（需要申请人或印章管理员角色）", "not_applicant")
        return await render(request, "request_new.html", form={}, devices=console.config.devices)

    @app.post("/requests/new", include_in_schema=False)
    async def new_request_submit(
        request: Request,
        matter: Annotated[str, Form()] = "",
        seal: Annotated[str, Form()] = "",
        presses: Annotated[str, Form()] = "",
        amount: Annotated[str, Form()] = "",
        device: Annotated[str, Form()] = "",
        document: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        p = await acting(request)
        form = {"matter": matter, "seal": seal, "presses": presses, "amount": amount, "device": device}
        try:
            filed = await console.file(p, matter, seal, presses, amount, device or None, document)
        except InputError as exc:
            return await render(request, "request_new.html", 400, form=form, devices=console.config.devices, error=exc.message)
        await flash(request, "ok", f"已提交用印申请 {filed.id}，等待审批。")
        return RedirectResponse(f"/requests/{filed.id}", 303)

    async def request_context(request: Request, p: Principal, request_id: str) -> dict[str, Any]:
        detail = await console.detail_for(p, request_id)
        view = await console.request_for(p, request_id)
        path = console.document_file(view)
        ctype = await asyncio.to_thread(content_type_of, path) if path.exists() else None
        text = None
        if ctype and ctype.startswith("text/"):
            text = (await asyncio.to_thread(path.read_bytes))[:20000].decode("utf-8", "replace")
        return {
            "r": detail, "view": view, "doc_type": ctype, "doc_text": text,
            "turn": console.turn(p, view) if p.may_decide else None,
            "on_route": p.person_id in view.route.get("approvers", ()),
            "decided": any(a["person"] == p.person_id for a in view.approvals),
        }  # fmt: skip

    @app.get("/requests/{request_id}", include_in_schema=False)
    async def request_page(request: Request, request_id: str) -> Response:
        p = await principal_of(request)
        return await render(request, "request.html", **(await request_context(request, p, request_id)))

    @app.get("/requests/{request_id}/live", include_in_schema=False)
    async def request_live(request: Request, request_id: str) -> Response:
        p = await principal_of(request)
        context = await request_context(request, p, request_id)
        return templates.TemplateResponse(request, "_request_live.html", {"p": p, **context})

    @app.get("/requests/{request_id}/document", include_in_schema=False)
    async def request_document(request: Request, request_id: str) -> Response:
        p = await principal_of(request)
        return await document_response(p, request_id)

    async def document_response(p: Principal, request_id: str) -> Response:
        view = await console.request_for(p, request_id)
        path = console.document_file(view)
        if not path.exists():
            raise NotFound("原件文件不在本机的文档库中")
        ctype = await asyncio.to_thread(content_type_of, path)
        name = str(view.document.get("name") or "原件")
        headers = {"Cache-Control": "private, max-age=3600"}
        if ctype is None:
            return FileResponse(path, media_type="application/octet-stream", filename=name, headers=headers)
        if ctype != "application/pdf":
            headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
        else:
            headers["Content-Security-Policy"] = "default-src 'none'; object-src 'self'; plugin-types application/pdf"
        return FileResponse(path, media_type=ctype, filename=name, content_disposition_type="inline", headers=headers)

    @app.get("/requests/{request_id}/photos/{sha256}", include_in_schema=False)
    async def press_photo(request: Request, request_id: str, sha256: str) -> Response:
        p = await principal_of(request)
        detail = await console.detail_for(p, request_id)
        # Only a press's own photo field: a hash elsewhere (OCR text, a reason) is anyone's to write.
        if sha256 not in {pe.get("photo") for pe in detail.get("press_events", [])}:
            raise NotFound("没有此照片")
        photos = PhotoStore(console.config.data_dir)
        if sha256 in photos:
            path = photos.path(sha256)
            ctype = await asyncio.to_thread(content_type_of, path)
            if ctype in ("image/jpeg", "image/png"):
                return FileResponse(path, media_type=ctype, headers={"Cache-Control": "private, max-age=86400"})
        raise NotFound("照片文件不在本机")

    def refused_to(exc: Refused, request_id: str) -> str:
        """Where a refused decision leads: to the password form when that is what stands in the way."""
        return "/account" if exc.code == "password_change_required" else f"/requests/{request_id}"

    @app.post("/requests/{request_id}/approve", include_in_schema=False)
    async def approve_submit(request: Request, request_id: str) -> Response:
        p = await acting(request)
        try:
            result = await console.approve(p, request_id)
        except Refused as exc:
            await flash(request, "error", f"审批被拒绝：{await refusal_text(exc, p, request_id)}")
            return RedirectResponse(refused_to(exc, request_id), 303)
        done = "审批通过，授权将发送到设备。" if result.status != "pending" else "已同意，等待其他审批人。"
        await flash(request, "ok", f"您已同意 {request_id}。{done}")
        return RedirectResponse(f"/requests/{request_id}", 303)

    @app.post("/requests/{request_id}/reject", include_in_schema=False)
    async def reject_submit(request: Request, request_id: str, reason: Annotated[str, Form()] = "") -> Response:
        p = await acting(request)
        try:
            await console.reject(p, request_id, reason)
        except Refused as exc:
            await flash(request, "error", f"驳回被拒绝：{await refusal_text(exc, p, request_id)}")
            return RedirectResponse(refused_to(exc, request_id), 303)
        except InputError as exc:
            if isinstance(exc, NotFound):
                raise
            await flash(request, "error", exc.message)
            return RedirectResponse(f"/requests/{request_id}", 303)
        await flash(request, "ok", f"已驳回 {request_id}。")
        return RedirectResponse(f"/requests/{request_id}", 303)

    @app.get("/inbox", include_in_schema=False)
    async def inbox_page(request: Request) -> Response:
        p = await principal_of(request)
        items = await console.inbox(p)
        recent = [r for r in await console.visible_requests(p, limit=30) if r.status != "pending"][:10] if p.may_decide else []
        subscribed = await store.subscription_count(p.account.id) if p.may_decide else 0
        return await render(request, "inbox.html", items=items, recent=recent, subscribed=subscribed)

    # -- ledger ----------------------------------------------------------------------------------------

    async def device_names() -> dict[str, str]:
        return await console.device_names()

    async def failed_entries() -> dict[int, str]:
        """Ledger index → why the working state could not take that entry (edge/projection.py)."""
        return {a["entry"]: a["reason"] for a in await console.projection_anomalies()}

    async def ledger_filter(kind: str | None, device: str | None, since: str | None, until: str | None, anomaly: bool, request_id: str | None) -> L.LedgerFilter:
        device_ids: tuple[str, ...] | None = None
        if device:
            names = await device_names()
            device_ids = tuple(i for i, n in names.items() if n == device) or (device,)
        return L.LedgerFilter(
            kind=kind or None, device_ids=device_ids, since=L.local_day(since, "开始日期"), until=L.local_day(until, "结束日期"),
            anomaly=anomaly, request_id=request_id or None, failed_entries=tuple(await failed_entries()) if anomaly else (),
        )  # fmt: skip

    def require_ledger(p: Principal) -> None:
        if not p.may_read_ledger:
            raise Refused("只有监督员和管理员可以查看台账", "forbidden")

    def entry_out(entry: Any, names: dict[str, str], failed: dict[int, str] | None = None) -> dict[str, Any]:
        """One entry for the timeline; ``failed``: the entries the working state could not take, flagged as anomalies."""
        error = (failed or {}).get(entry.index)
        anomaly = entry.body.get("anomaly")
        return {
            "index": entry.index, "ts": entry.ts, "kind": entry.kind, "kind_name": L.kind_name(entry.kind),
            "summary": L.summary(entry, console.config, names), "body": entry.body, "hash": entry.hash.hex(),
            "anomaly": str(anomaly) if anomaly is not None else L.PROJECTION_FAILED if error else None,
            "projection_error": error,
        }  # fmt: skip

    # -- search of stamped pages -------------------------------------------------------------------------

    async def search_for(p: Principal, q: str, seal: str, since: str, until: str, flag: str) -> list[dict[str, Any]]:
        if len(q) > 200:
            raise InputError("检索词太长（最多 200 字）", "bad_query")
        first, last = L.local_day(since, "开始日期"), L.local_day(until, "结束日期")
        return await console.search_pages(p, q.strip(), seal, first, last, flag)

    @app.get("/search", include_in_schema=False)
    async def search_page(
        request: Request, q: str = "", seal: str = "", since: str = "", until: str = "", flag: str = ""
    ) -> Response:
        p = await principal_of(request)
        params = {"q": q, "seal": seal, "since": since, "until": until, "flag": flag}
        try:
            hits = await search_for(p, q, seal, since, until, flag)
        except InputError as exc:
            return await render(request, "search.html", 400, hits=[], params=params, error=exc.message)
        return await render(request, "search.html", hits=hits, params=params)

    @app.get("/ledger", include_in_schema=False)
    async def ledger_page(
        request: Request, kind: str = "", device: str = "", since: str = "", until: str = "", anomaly: str = "",
        request_id: str = "", before: Annotated[int | None, Query(ge=0, le=SQLITE_MAX_INT)] = None,
    ) -> Response:  # fmt: skip
        p = await principal_of(request)
        require_ledger(p)
        params = {"kind": kind, "device": device, "since": since, "until": until, "anomaly": anomaly, "request_id": request_id}
        try:
            flt = await ledger_filter(kind, device, since, until, bool(anomaly), request_id)
        except InputError as exc:
            return await render(request, "ledger.html", 400, entries=[], params=params, kinds=[], error=exc.message, query="", next_before=None, anomalies=0, total=0)
        limit = 100
        entries = await ledger.query(flt, before, limit)
        names = await device_names()
        failed = await failed_entries()
        query = urlencode({k: v for k, v in params.items() if v})
        return await render(
            request, "ledger.html", entries=[entry_out(e, names, failed) for e in entries], params=params, kinds=await ledger.kinds(),
            query=query, next_before=entries[-1].index if len(entries) == limit else None,
            anomalies=await ledger.count(L.LedgerFilter(anomaly=True, failed_entries=tuple(failed))), total=await ledger.count(flt),
            unapplied=await console.projection_anomalies(),
        )  # fmt: skip

    async def csv_response(flt: L.LedgerFilter) -> Response:
        names = await device_names()
        failed = await failed_entries()

        async def rows() -> Any:
            yield "\ufeff" + L.csv_text([L.CSV_COLUMNS])  # the BOM: Excel then reads UTF-8 (Chinese) correctly
            batch: list[list[str]] = []
            async for entry in ledger.iterate(flt):
                batch.append(L.csv_row(entry, console.config, names, failed))
                if len(batch) >= 500:
                    yield L.csv_text(batch)
                    batch = []
            if batch:
                yield L.csv_text(batch)

        stamp = time.strftime("%Y%m%d-%H%M%S")
        filename = f"qinglian-ledger-{stamp}.csv"
        return StreamingResponse(
            (chunk.encode("utf-8") async for chunk in rows()),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote('台账-' + filename)}"},
        )

    @app.get("/ledger.csv", include_in_schema=False)
    async def ledger_csv(
        request: Request, kind: str = "", device: str = "", since: str = "", until: str = "", anomaly: str = "", request_id: str = ""
    ) -> Response:
        p = await principal_of(request)
        require_ledger(p)
        return await csv_response(await ledger_filter(kind, device, since, until, bool(anomaly), request_id))

    # -- devices -------------------------------------------------------------------------------------------

    def require_devices(p: Principal) -> None:
        if not p.may_see_devices:
            raise Refused("您的账号不能查看设备", "forbidden")

    async def devices_context() -> dict[str, Any]:
        devices = await console.devices()
        names = await device_names()
        for d in devices:
            status = d["status"]
            if status is not None:
                flt = L.LedgerFilter(groups=("seal.*", "device.*", "grant.*"), device_ids=(status["device_id"],))
                events = await ledger.query(flt, None, 8)
                d["events"] = [entry_out(e, names) for e in events]
            else:
                d["events"] = []
        return {"devices": devices, "camera": console.camera()}

    @app.get("/devices", include_in_schema=False)
    async def devices_page(request: Request) -> Response:
        p = await principal_of(request)
        require_devices(p)
        return await render(request, "devices.html", **(await devices_context()))

    @app.get("/devices/live", include_in_schema=False)
    async def devices_live(request: Request) -> Response:
        p = await principal_of(request)
        require_devices(p)
        session = await session_of(request)
        return templates.TemplateResponse(
            request, "_devices_live.html", {"p": p, "sim": console.sim is not None, "csrf": session.csrf if session else "", **(await devices_context())}
        )

    @app.post("/devices/{name}/press", include_in_schema=False)
    async def sim_press(request: Request, name: str) -> Response:
        p = await acting(request)
        await do_sim_press(p, name)
        await flash(request, "ok", f"已在模拟设备 {name} 上按压一次。")
        return RedirectResponse("/devices", 303)

    async def do_sim_press(p: Principal, name: str) -> None:
        if console.sim is None:
            raise NotFound("只有模拟设备可以在网页上按压")
        if not p.may_press_sim:
            raise Refused("只有印章管理员或管理员可以操作设备", "forbidden")
        console.config.device(name)
        await console.sim.press(await console.original_in_use(name))

    # -- account ---------------------------------------------------------------------------------------------

    @app.get("/account", include_in_schema=False)
    async def account_page(request: Request) -> Response:
        p = await principal_of(request)
        subscribed = await store.subscription_count(p.account.id)
        return await render(request, "account.html", subscribed=subscribed, push=console.vapid_public_key is not None)

    @app.post("/account/password", include_in_schema=False)
    async def change_password(
        request: Request, current: Annotated[str, Form()] = "", new: Annotated[str, Form()] = "", again: Annotated[str, Form()] = ""
    ) -> Response:
        p = await acting(request)
        found = await store.password_hash(p.account.username)
        ok = found is not None and await asyncio.to_thread(verify_password, current, found[1])
        problem = None if ok else "当前密码不正确"
        problem = problem or (None if new == again else "两次输入的新密码不一致")
        # The same again would keep a password an admin knows as the owner's "own".
        problem = problem or (None if new != current else "新密码不能与当前密码相同")
        try:
            if problem is None:
                await change_own_password(store, console.config, p.account, new, console.agent.record_account)
        except InputError as exc:
            problem = exc.message
        if problem:
            subscribed = await store.subscription_count(p.account.id)
            return await render(request, "account.html", 400, subscribed=subscribed, push=console.vapid_public_key is not None, error=problem)
        token, _ = await store.create_session(p.account.id)  # every other session ended
        response = RedirectResponse("/account", 303)
        set_cookie(request, response, token, persistent=True)
        request.state.session = await store.session(token, settings.session_idle_s, settings.session_max_s)
        await flash(request, "ok", "密码已修改，其他设备上的登录已退出。")
        return response

    # -- administration -------------------------------------------------------------------------------------

    def require_admin(p: Principal) -> None:
        if not p.is_admin:
            raise Refused("只有管理员可以管理账号", "forbidden")

    @app.get("/admin/users", include_in_schema=False)
    async def users_page(request: Request) -> Response:
        p = await principal_of(request)
        require_admin(p)
        return await render(request, "users.html", users=await store.users(), people=console.config.people, form={})

    @app.post("/admin/users", include_in_schema=False)
    async def users_add(request: Request) -> Response:
        p = await acting(request)
        require_admin(p)
        form = await request.form()
        roles = [str(r) for r in form.getlist("roles")]
        values = {k: str(form.get(k) or "") for k in ("username", "name", "person", "villages", "password")}
        try:
            new = check_account(console.config, values["username"], values["name"], roles, values["person"], values["villages"].replace("，", ",").split(","))
            await create_account(store, console.config, new, values["password"], p.account.username, console.agent.record_account)
        except InputError as exc:
            return await render(request, "users.html", 400, users=await store.users(), people=console.config.people, form={**values, "roles": roles}, error=exc.message)
        await flash(request, "ok", f"已创建账号 {new.username}。初始密码请当面告知本人；本人首次登录须改为自己的密码，之后才能审批。")
        return RedirectResponse("/admin/users", 303)

    @app.post("/admin/users/{username}/password", include_in_schema=False)
    async def users_reset(request: Request, username: str, password: Annotated[str, Form()] = "") -> Response:
        p = await acting(request)
        require_admin(p)
        try:
            await reset_password(store, console.config, username, password, p.account.username, console.agent.record_account)
        except InputError as exc:
            return await render(request, "users.html", 400, users=await store.users(), people=console.config.people, form={}, error=exc.message)
        await flash(request, "ok", f"已重设 {username} 的密码，其登录已全部退出；本人登录后须先改为自己的密码才能审批。")
        return RedirectResponse("/admin/users", 303)

    @app.post("/admin/users/{username}/disable", include_in_schema=False)
    async def users_disable(request: Request, username: str) -> Response:
        return await toggle_user(request, username, True)

    @app.post("/admin/users/{username}/enable", include_in_schema=False)
    async def users_enable(request: Request, username: str) -> Response:
        return await toggle_user(request, username, False)

    async def toggle_user(request: Request, username: str, disabled: bool) -> Response:
        p = await acting(request)
        require_admin(p)
        if disabled and username.lower() == p.account.username.lower():
            raise Refused("不能停用自己正在使用的账号", "forbidden")
        await set_disabled(store, username, disabled, p.account.username, console.agent.record_account)
        await flash(request, "ok", f"已{'停用' if disabled else '启用'}账号 {username}")
        return RedirectResponse("/admin/users", 303)

    # -- PWA -------------------------------------------------------------------------------------------------

    @app.get("/manifest.webmanifest", include_in_schema=False)
    async def manifest() -> Response:
        return FileResponse(HERE / "static" / "manifest.webmanifest", media_type="application/manifest+json", headers={"Cache-Control": "max-age=3600"})

    @app.get("/sw.js", include_in_schema=False)
    async def service_worker() -> Response:
        return FileResponse(HERE / "static" / "sw.js", media_type="text/javascript", headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})

    # -- the JSON API ----------------------------------------------------------------------------------------

    errors: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorEnvelope}, 401: {"model": ErrorEnvelope}, 403: {"model": ErrorEnvelope},
        404: {"model": ErrorEnvelope}, 409: {"model": ErrorEnvelope},
        422: {"model": ErrorEnvelope, "description": "the request does not fit this description (bad JSON, a missing field)"},
    }  # fmt: skip

    def me_out(session: Session, p: Principal) -> MeOut:
        return MeOut(
            username=p.account.username, name=p.account.name, roles=sorted(p.roles), person=p.person_id,
            villages=list(p.account.villages), village=console.config.village, csrf_token=session.csrf,
            must_change_password=p.account.must_change_password,
        )  # fmt: skip

    @app.post("/api/login", tags=["session"], response_model=MeOut, responses={**errors, 429: {"model": ErrorEnvelope}})
    async def api_login(request: Request, body: LoginIn) -> Response:
        """Log in; sets the session cookie (HttpOnly, SameSite=Lax). Attempts are limited per account and per
        address with a growing delay (429 says how long). ``must_change_password``: the owner must set their own
        password on the account page before the account may approve or reject."""
        account, error, status = await attempt_login(request, body.username, body.password)
        if account is None:
            code = "rate_limited" if status == 429 else "bad_login"
            return JSONResponse({"ok": False, "error": {"code": code, "message": error, "type": "LoginFailed"}}, status)
        old = await session_of(request)
        if old is not None:
            await store.end_session(old.token_hash)
        token, _ = await store.create_session(account.id)
        session = await store.session(token, settings.session_idle_s, settings.session_max_s)
        assert session is not None
        response = JSONResponse(me_out(session, console.principal(account)).model_dump())
        set_cookie(request, response, token, persistent=True)
        return response

    @app.post("/api/logout", tags=["session"], response_model=OkOut, responses=errors)
    async def api_logout(request: Request) -> Response:
        session = await session_of(request)
        if session is not None:
            await check_csrf(request, session)
            await store.end_session(session.token_hash)
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/api/me", tags=["session"], response_model=MeOut, responses=errors)
    async def api_me(request: Request) -> MeOut:
        p = await principal_of(request)
        session = await session_of(request)
        assert session is not None
        return me_out(session, p)

    @app.get("/api/requests", tags=["requests"], response_model=list[RequestOut], responses=errors)
    async def api_requests(request: Request, status: Annotated[str | None, Query(description="only this status")] = None) -> list[dict[str, Any]]:
        """The requests this account may see, newest first."""
        p = await principal_of(request)
        return [r.to_dict() for r in await console.visible_requests(p, status)]

    @app.post(
        "/api/requests", tags=["requests"], response_model=RequestOut, status_code=201, responses=errors,
    )  # fmt: skip
    async def api_file(
        request: Request,
        matter: Annotated[str, Form(description="用印事项")],
        seal: Annotated[str, Form(description="official | finance | contract | legal_rep")],
        presses: Annotated[str, Form(description="1..100")],
        document: Annotated[UploadFile, File(description="the original: PDF, JPEG or PNG")],
        amount: Annotated[str, Form(description="amount in yuan, e.g. 1200.50: at most 2 decimals, above 0 and at most "
                                    "the edge's ceiling ([money] max_amount_fen, 1 亿元 by default); empty: none")] = "",
        device: Annotated[str, Form(description="device name, when several hold this seal")] = "",
    ) -> dict[str, Any]:
        """File a seal request as the account's person, with its original document (multipart)."""
        p = await acting(request)
        return (await console.file(p, matter, seal, presses, amount, device or None, document)).to_dict()

    @app.get("/api/requests/{request_id}", tags=["requests"], response_model=RequestDetailOut, responses=errors)
    async def api_request(request: Request, request_id: str) -> dict[str, Any]:
        """One request with its grants, presses (photos and OCR flags when recorded) and push deliveries."""
        p = await principal_of(request)
        return await console.detail_for(p, request_id)

    @app.get("/api/requests/{request_id}/document", tags=["requests"], responses=errors)
    async def api_document(request: Request, request_id: str) -> Response:
        """The original document as filed (its type decided by its content)."""
        p = await principal_of(request)
        return await document_response(p, request_id)

    @app.get("/api/requests/{request_id}/deliveries", tags=["push"], response_model=list[DeliveryOut], responses=errors)
    async def api_deliveries(request: Request, request_id: str) -> list[dict[str, Any]]:
        p = await principal_of(request)
        await console.request_for(p, request_id)
        return [d.to_dict() for d in await store.deliveries(request_id)]

    @app.post("/api/requests/{request_id}/approve", tags=["approval"], response_model=RequestOut, responses=errors)
    async def api_approve(request: Request, request_id: str) -> dict[str, Any]:
        """Approve as the account's person; 409 with the reason when the rules refuse (e.g. self-approval)."""
        p = await acting(request)
        return (await console.approve(p, request_id)).to_dict()

    @app.post("/api/requests/{request_id}/reject", tags=["approval"], response_model=RequestOut, responses=errors)
    async def api_reject(request: Request, request_id: str, body: RejectIn) -> dict[str, Any]:
        p = await acting(request)
        return (await console.reject(p, request_id, body.reason)).to_dict()

    @app.get("/api/inbox", tags=["approval"], response_model=list[InboxItemOut], responses=errors)
    async def api_inbox(request: Request) -> list[dict[str, Any]]:
        """Pending requests on this approver's route; ``your_turn`` when they may decide now."""
        p = await principal_of(request)
        return [{"request": r.to_dict(), "your_turn": why is None, "why_not": why} for r, why in await console.inbox(p)]

    def device_out(d: dict[str, Any]) -> dict[str, Any]:
        cfg = d["config"]
        s = d["status"] or {}
        live = s.get("last_status") or {}
        return {
            "name": cfg.name, "seal": cfg.seal, "custodian": cfg.custodian, "enrolled": d["enrolled"],
            "device_id": s.get("device_id"), "online": bool(s.get("online")), "lock": live.get("lock"),
            "presses_total": s.get("presses_total"), "boots": s.get("boots"), "fw": s.get("fw"),
            "last_grant_no": s.get("last_grant_no"), "last_event_id": s.get("last_event_id"),
            "last_seen": s.get("last_seen"), "anomalies": s.get("anomalies"), "grant": live.get("grant"),
            "blocked": {k: s["block"][k] for k in ("no", "reason", "entry", "at")} if s.get("block") else None,
        }  # fmt: skip

    @app.get("/api/devices", tags=["devices"], response_model=list[DeviceOut], responses=errors)
    async def api_devices(request: Request) -> list[dict[str, Any]]:
        p = await principal_of(request)
        require_devices(p)
        return [device_out(d) for d in await console.devices()]

    @app.get("/api/camera", tags=["devices"], response_model=CameraOut, responses=errors)
    async def api_camera(request: Request) -> dict[str, Any]:
        """The desk camera over the stamping desk: connected or why not, and this run's photos."""
        p = await principal_of(request)
        require_devices(p)
        return console.camera()

    @app.post("/api/devices/{name}/sim-press", tags=["devices"], response_model=OkOut, responses=errors)
    async def api_sim_press(request: Request, name: str) -> dict[str, Any]:
        """Press the simulated board once (only when the console runs on hostsim: the demo)."""
        p = await acting(request)
        await do_sim_press(p, name)
        return {"ok": True}

    @app.get("/api/search", tags=["search"], response_model=list[SearchHitOut], responses=errors)
    async def api_search(
        request: Request,
        q: Annotated[str, Query(description="words on the stamped page (all must occur; Chinese needs no spaces)")] = "",
        seal: Annotated[str, Query(description="official | finance | contract | legal_rep")] = "",
        since: Annotated[str, Query(description="photographed on or after this date (Asia/Shanghai), YYYY-MM-DD")] = "",
        until: Annotated[str, Query(description="to this date inclusive")] = "",
        flag: Annotated[str, Query(description="only pages with this flag; any: with any flag")] = "",
    ) -> list[dict[str, Any]]:
        """Stamped pages found by the text OCR read on them, newest first, among the requests this account may see."""
        p = await principal_of(request)
        return await search_for(p, q, seal, since, until, flag)

    @app.get("/api/ledger", tags=["ledger"], response_model=LedgerPageOut, responses=errors)
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
        p = await principal_of(request)
        require_ledger(p)
        flt = await ledger_filter(kind, device, since, until, anomaly, request_id)
        entries = await ledger.query(flt, before, limit)
        names = await device_names()
        failed = await failed_entries()
        return {"entries": [entry_out(e, names, failed) for e in entries], "next_before": entries[-1].index if len(entries) == limit else None}

    @app.get("/api/ledger/export.csv", tags=["ledger"], responses={200: {"content": {"text/csv": {}}}, **errors})
    async def api_ledger_csv(
        request: Request, kind: str | None = None, device: str | None = None, since: str | None = None,
        until: str | None = None, anomaly: bool = False, request_id: str | None = None,
    ) -> Response:  # fmt: skip
        """The filtered ledger as CSV (UTF-8 with BOM, for Excel)."""
        p = await principal_of(request)
        require_ledger(p)
        return await csv_response(await ledger_filter(kind, device, since, until, anomaly, request_id))

    @app.get("/api/push/vapid-public-key", tags=["push"], response_model=PushKeyOut, responses=errors)
    async def api_vapid_key(request: Request) -> dict[str, Any]:
        await principal_of(request)
        if console.vapid_public_key is None:
            raise NotFound("本机未启用网页推送")
        return {"public_key": console.vapid_public_key}

    @app.post("/api/push/subscriptions", tags=["push"], response_model=OkOut, status_code=201, responses=errors)
    async def api_subscribe(request: Request, body: PushSubscriptionIn) -> dict[str, Any]:
        """Store this browser's push subscription (PushSubscription.toJSON()) for the logged-in account."""
        p = await acting(request)
        if urlsplit(body.endpoint).scheme not in ("https", "http"):
            raise InputError("推送地址无效", "bad_endpoint")
        await store.add_subscription(p.account.id, body.endpoint, body.keys.p256dh, body.keys.auth, request.headers.get("user-agent"))
        return {"ok": True}

    @app.delete("/api/push/subscriptions", tags=["push"], response_model=OkOut, responses=errors)
    async def api_unsubscribe(request: Request, body: PushUnsubscribeIn) -> dict[str, Any]:
        p = await acting(request)
        return {"ok": await store.remove_subscription(p.account.id, body.endpoint)}

    return app

