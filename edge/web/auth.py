"""Logging in and out, the landing page, one's own account (password, phone push), in pages and in /api."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from edge.kernel.errors import InputError, NotFound
from edge.web.accounts import change_own_password
from edge.web.errors import envelope
from edge.web.service import PASSWORD_CHANGE_REQUIRED, Principal
from edge.web.shell import API_ERRORS, COOKIE, ErrorEnvelope, OkOut, Shell
from edge.web.store import Session
from qinglian.logins import LoginLimit
from qinglian.passwords import dummy_hash, verify_password

LOGIN_COOKIE = "qinglian_login"  # the login form's CSRF token (signed double-submit): no session before a login


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


def safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def router(shell: Shell) -> APIRouter:
    console, store, settings = shell.console, shell.store, shell.settings
    api = APIRouter()
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
        response = await shell.render(request, "login.html", status_code, next=safe_next(next), username=username, error=error, csrf=token)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=shell.secure_cookie(request), path="/login")
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
        shell.set_cookie(request, response, token, persistent=True)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @api.get("/login", include_in_schema=False)
    async def login_page(request: Request, next: str = "/") -> Response:
        session = await shell.session_of(request)
        if session is not None and session.user is not None:
            return RedirectResponse(safe_next(next), 303)
        return await login_form(request, next)

    @api.post("/login", include_in_schema=False)
    async def login_submit(
        request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
    ) -> Response:
        cookie = request.cookies.get(LOGIN_COOKIE)
        if not login_token_ok(cookie):  # no form from us (or from before a restart): show a fresh one
            return RedirectResponse(f"/login?next={quote(safe_next(next), safe='')}", 303)
        await shell.check_csrf(request, None, expected=cookie)
        account, error, status = await attempt_login(request, username, password)
        if account is None:
            return await login_form(request, next, status, username, error)
        old = await shell.session_of(request)
        if old is not None:
            await store.end_session(old.token_hash)  # a fresh session id after login
        response = await logged_in(request, account, safe_next(next))
        await store.purge_sessions(settings.session_idle_s, settings.session_max_s)
        return response

    @api.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        session = await shell.session_of(request)
        if session is not None:
            await shell.check_csrf(request, session)
            await store.end_session(session.token_hash)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @api.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        p = await shell.principal_of(request)
        if not p.in_scope:
            return await shell.render(request, "error.html", 403, title="不在本村范围", message=f"您的账号不属于{console.config.village}，本控制台没有您可查看的记录。")
        if p.account.must_change_password:
            return RedirectResponse("/account", 303)  # the page flow leads to setting one's own password first
        if p.may_decide:
            return RedirectResponse("/inbox", 303)
        if p.may_file or p.roles & {"village_staff"}:
            return RedirectResponse("/requests", 303)
        if p.may_read_ledger and not p.is_admin:
            return RedirectResponse("/ledger", 303)
        return RedirectResponse("/devices" if p.may_see_devices else "/requests", 303)

    # -- one's own account -------------------------------------------------------------------------------

    @api.get("/account", include_in_schema=False)
    async def account_page(request: Request) -> Response:
        p = await shell.principal_of(request)
        subscribed = await store.subscription_count(p.account.id)
        return await shell.render(request, "account.html", subscribed=subscribed, push=console.vapid_public_key is not None)

    @api.post("/account/password", include_in_schema=False)
    async def change_password(
        request: Request, current: Annotated[str, Form()] = "", new: Annotated[str, Form()] = "", again: Annotated[str, Form()] = ""
    ) -> Response:
        p = await shell.acting(request)
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
            return await shell.render(request, "account.html", 400, subscribed=subscribed, push=console.vapid_public_key is not None, error=problem)
        token, _ = await store.create_session(p.account.id)  # every other session ended
        response = RedirectResponse("/account", 303)
        shell.set_cookie(request, response, token, persistent=True)
        request.state.session = await store.session(token, settings.session_idle_s, settings.session_max_s)
        await shell.flash(request, "ok", "密码已修改，其他设备上的登录已退出。")
        return response

    # -- the session in the JSON API -------------------------------------------------------------------------

    def me_out(session: Session, p: Principal) -> MeOut:
        return MeOut(
            username=p.account.username, name=p.account.name, roles=sorted(p.roles), person=p.person_id,
            villages=list(p.account.villages), village=console.config.village, csrf_token=session.csrf,
            must_change_password=p.account.must_change_password,
        )  # fmt: skip

    @api.post("/api/login", tags=["session"], response_model=MeOut, responses={**API_ERRORS, 429: {"model": ErrorEnvelope}})
    async def api_login(request: Request, body: LoginIn) -> Response:
        """Log in; sets the session cookie (HttpOnly, SameSite=Lax). Attempts are limited per account and per
        address with a growing delay (429 says how long). ``must_change_password``: the owner must set their own
        password on the account page before the account may approve or reject."""
        account, error, status = await attempt_login(request, body.username, body.password)
        if account is None:
            code = "rate_limited" if status == 429 else "bad_login"
            return JSONResponse(envelope(code, error or "", "LoginFailed"), status)
        old = await shell.session_of(request)
        if old is not None:
            await store.end_session(old.token_hash)
        token, _ = await store.create_session(account.id)
        session = await store.session(token, settings.session_idle_s, settings.session_max_s)
        assert session is not None
        response = JSONResponse(me_out(session, console.principal(account)).model_dump())
        shell.set_cookie(request, response, token, persistent=True)
        return response

    @api.post("/api/logout", tags=["session"], response_model=OkOut, responses=API_ERRORS)
    async def api_logout(request: Request) -> Response:
        session = await shell.session_of(request)
        if session is not None:
            await shell.check_csrf(request, session)
            await store.end_session(session.token_hash)
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    @api.get("/api/me", tags=["session"], response_model=MeOut, responses=API_ERRORS)
    async def api_me(request: Request) -> MeOut:
        p = await shell.principal_of(request)
        session = await shell.session_of(request)
        assert session is not None
        return me_out(session, p)

    # -- phone push ---------------------------------------------------------------------------------------

    @api.get("/api/push/vapid-public-key", tags=["push"], response_model=PushKeyOut, responses=API_ERRORS)
    async def api_vapid_key(request: Request) -> dict[str, Any]:
        await shell.principal_of(request)
        if console.vapid_public_key is None:
            raise NotFound("本机未启用网页推送")
        return {"public_key": console.vapid_public_key}

    @api.post("/api/push/subscriptions", tags=["push"], response_model=OkOut, status_code=201, responses=API_ERRORS)
    async def api_subscribe(request: Request, body: PushSubscriptionIn) -> dict[str, Any]:
        """Store this browser's push subscription (PushSubscription.toJSON()) for the logged-in account."""
        p = await shell.acting(request)
        if urlsplit(body.endpoint).scheme not in ("https", "http"):
            raise InputError("推送地址无效", "bad_endpoint")
        await store.add_subscription(p.account.id, body.endpoint, body.keys.p256dh, body.keys.auth, request.headers.get("user-agent"))
        return {"ok": True}

    @api.delete("/api/push/subscriptions", tags=["push"], response_model=OkOut, responses=API_ERRORS)
    async def api_unsubscribe(request: Request, body: PushUnsubscribeIn) -> dict[str, Any]:
        p = await shell.acting(request)
        return {"ok": await store.remove_subscription(p.account.id, body.endpoint)}

    return api
