"""The accounts' pages: logging in and out, a supplier's or bank's application and its status, each role's
landing page (我的工作), the county officers' review of applications, and the administrator's user page.

Every form carries a CSRF token: the session's once logged in, a signed one (cookie and field) before
(central/accounts/shell.py). Pages are Chinese and phone-first, as the rest of the central's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from central.accounts import roles as R
from central.accounts.shell import FORM_COOKIE, SESSION_COOKIE, SUPERVISOR_COOKIE, CentralShell
from central.accounts.store import (
    MAX_LICENCE_BYTES,
    REGISTRATION_APPROVED,
    REGISTRATION_REFUSED,
    SESSION_MAX_S,
    SUPPLIER_CATEGORIES,
    Account,
    AccountError,
    AccountStore,
    check_decision,
    decision_body,
)
from central.store import Principal, Refusal

Text = Annotated[str, Form()]


def _landing(account: Account) -> str:
    """Where an account goes after logging in: its own password first if an administrator set it."""
    if account.must_change_password:
        return "/account"
    return "/application" if account.role in R.ORG_ROLES else "/work"


def router(shell: CentralShell) -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    # -- logging in and out ------------------------------------------------------------------

    async def login_form(request: Request, status_code: int = 200, username: str = "", error: str | None = None,
                         token_error: str | None = None) -> Response:  # fmt: skip
        token = request.cookies.get(FORM_COOKIE, "")
        if not shell.form_token_ok(request, token):
            token = shell.new_form_token()
        response = await shell.render(request, "accounts/login.html", status_code, principal=None, username=username,
                                      error=error, token_error=token_error, form_token=token)  # fmt: skip
        response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="strict", secure=shell.secure(request))
        return response

    @pages.get("/login")
    async def login_page(request: Request) -> Response:
        return await login_form(request)

    @pages.post("/login")
    async def login(request: Request, username: Text = "", password: Text = "", csrf: Text = "",
                    token: Text = "") -> Response:  # fmt: skip
        if token.strip():  # a read-only supervisor token, as before accounts
            found = await shell.store.principal_for_token(token.strip())
            if found is None:
                return await login_form(request, 401, token_error="令牌无效")
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(SUPERVISOR_COOKIE, token.strip(), httponly=True, samesite="strict",
                                secure=shell.secure(request), max_age=30 * 86400)  # fmt: skip
            return response
        if not shell.form_token_ok(request, csrf):
            return await login_form(request, 403, username, "页面已过期，请重新输入后登录。")
        accounts = shell.accounts
        account_limits, address_limit = AccountStore.login_limits(username, client_of(request))
        # Counted before the (slow) hash: parallel guesses each take a turn, and only the allowed ones are checked.
        wait = await accounts.claim_attempt([*account_limits, address_limit])
        if wait > 0:
            return await login_form(request, 429, username, f"登录失败次数过多，请 {int(wait) + 1} 秒后再试。")
        account, ok = await accounts.check_login(username, password)
        if account is None or not ok or account.disabled:
            message = "此账号已停用。" if account is not None and ok else "用户名或密码错误。"
            blocked = await accounts.blocked_for([limit.key for limit in [*account_limits, address_limit]])
            if blocked:
                message += f" 失败次数过多，请 {int(blocked) + 1} 秒后再试。"
            return await login_form(request, 401, username, message)
        await accounts.forgive([limit.key for limit in account_limits], [address_limit])
        old = await shell.session_of(request)
        if old is not None:
            await accounts.end_session(old.token_hash)
        # Always a fresh session id at login: a cookie planted before it never becomes a logged-in session.
        session_token = await accounts.create_session(account)
        target = _landing(account)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, session_token, httponly=True, samesite="lax", secure=shell.secure(request),
                            max_age=int(SESSION_MAX_S))  # fmt: skip
        response.delete_cookie(FORM_COOKIE)
        response.delete_cookie(SUPERVISOR_COOKIE)
        return response

    @pages.post("/logout")
    async def logout(request: Request, csrf: Text = "") -> Response:
        session = await shell.session_of(request)
        if session is not None:
            await shell.check_csrf(request, csrf)
            await shell.accounts.end_session(session.token_hash)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        response.delete_cookie(SUPERVISOR_COOKIE)
        return response

    # -- one's own account ---------------------------------------------------------------------

    @pages.get("/account")
    async def account_page(request: Request) -> Response:
        await shell.principal_of(request)
        session = await shell.session_of(request)
        if session is None:  # a supervisor token has no password to change
            return RedirectResponse("/", status_code=303)
        return await shell.render(request, "accounts/account.html", account=session.account)

    @pages.post("/account/password")
    async def change_password(request: Request, current: Text = "", new: Text = "", again: Text = "",
                              csrf: Text = "") -> Response:  # fmt: skip
        session = await shell.check_csrf(request, csrf)
        try:
            await shell.accounts.change_own_password(session.account, current, new, again)
        except AccountError as exc:
            return await shell.render(request, "accounts/account.html", 400, account=session.account, error=str(exc))
        account = await shell.accounts.account(session.account.username)
        assert account is not None
        # Every session ended with the old password, this one too: a new one here, the others stay out.
        response = RedirectResponse(_landing(account), status_code=303)
        response.set_cookie(SESSION_COOKIE, await shell.accounts.create_session(account), httponly=True,
                            samesite="lax", secure=shell.secure(request), max_age=int(SESSION_MAX_S))  # fmt: skip
        return response

    # -- a supplier's or bank's application -------------------------------------------------------

    async def register_form(request: Request, status_code: int = 200, error: str | None = None,
                            values: dict[str, Any] | None = None) -> Response:  # fmt: skip
        token = request.cookies.get(FORM_COOKIE, "")
        if not shell.form_token_ok(request, token):
            token = shell.new_form_token()
        response = await shell.render(
            request, "accounts/register.html", status_code, principal=None, error=error, form_token=token,
            values=values or {"kind": R.SUPPLIER, "categories": []}, categories=SUPPLIER_CATEGORIES,
            counties=await shell.accounts.counties(), max_mb=MAX_LICENCE_BYTES // (1024 * 1024),
        )  # fmt: skip
        response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="strict", secure=shell.secure(request))
        return response

    @pages.get("/register")
    async def register_page(request: Request) -> Response:
        return await register_form(request)

    @pages.post("/register")
    async def register(
        request: Request, licence: Annotated[UploadFile, File()], kind: Text = "", username: Text = "",
        password: Text = "", again: Text = "", org_name: Text = "", credit_code: Text = "", county: Text = "",
        contact_name: Text = "", contact_phone: Text = "", categories: Annotated[list[str] | None, Form()] = None,
        csrf: Text = "",
    ) -> Response:  # fmt: skip
        values = {"kind": kind, "username": username, "org_name": org_name, "credit_code": credit_code,
                  "county": county, "contact_name": contact_name, "contact_phone": contact_phone,
                  "categories": categories or []}  # fmt: skip
        if not shell.form_token_ok(request, csrf):
            return await register_form(request, 403, "页面已过期，请重新填写后提交。", values)
        if password != again:
            return await register_form(request, 400, "两次输入的密码不一致", values)
        wait = await shell.accounts.claim_attempt([AccountStore.register_limit(client_of(request))])
        if wait > 0:
            return await register_form(request, 429, f"提交过于频繁，请 {int(wait) + 1} 秒后再试。", values)
        data = await licence.read(MAX_LICENCE_BYTES + 1)
        try:
            await shell.accounts.apply(
                kind=kind, username=username, password=password, org_name=org_name, credit_code=credit_code,
                county=county, contact_name=contact_name, contact_phone=contact_phone, categories=categories or [],
                licence=data,
            )  # fmt: skip
        except AccountError as exc:
            return await register_form(request, 400, str(exc), values)
        account, _ = await shell.accounts.check_login(username, password)
        assert account is not None
        response = RedirectResponse("/application", status_code=303)
        response.set_cookie(SESSION_COOKIE, await shell.accounts.create_session(account), httponly=True,
                            samesite="lax", secure=shell.secure(request), max_age=int(SESSION_MAX_S))  # fmt: skip
        response.delete_cookie(FORM_COOKIE)
        return response

    @pages.get("/application")
    async def application_page(request: Request) -> Response:
        who = await shell.principal_of(request)
        if who.account is None or who.level != "self":
            return RedirectResponse("/work" if who.account else "/", status_code=303)
        application = await shell.accounts.application_of(who.account)
        return await shell.render(request, "accounts/application.html", application=application)

    # -- 我的工作: each role's landing page ------------------------------------------------------

    @pages.get("/work")
    async def work(request: Request) -> Response:
        who = await shell.require(request)
        context: dict[str, Any] = {"links": shell.nav(who)}
        # Each part's waiting items for this principal; a part with nothing for its role shows nothing.
        context["work"] = [(part, await part.work(shell, who)) for part in shell.parts if part.work is not None]
        if who.role in R.SUPERVISING:
            context["villages"] = await shell.store.edge_summaries(who)
        if who.role in (R.ADMIN, R.COUNTY_OFFICER):
            context["pending"] = await shell.accounts.applications_for(who.level, who.name, "pending")
        if who.role in R.ORG_ROLES:
            context["application"] = await shell.accounts.application_of(who.account or "")
        return await shell.render(request, "accounts/work.html", **context)

    # -- applications, decided by a county officer of its county ----------------------------------

    async def decider(request: Request) -> Principal:
        return await shell.require(request, R.COUNTY_OFFICER, R.ADMIN)

    @pages.get("/applications")
    async def applications_page(request: Request) -> Response:
        who = await decider(request)
        found = await shell.accounts.applications_for(who.level, who.name)
        return await shell.render(request, "accounts/applications.html", applications=found)

    @pages.get("/applications/{application_id}")
    async def application_detail(request: Request, application_id: int) -> Response:
        who = await decider(request)
        application, _ = await _in_scope(who, application_id)
        return await shell.render(request, "accounts/application_review.html", application=application)

    async def _in_scope(who: Principal, application_id: int) -> Any:
        try:
            return await shell.accounts.application(who.level, who.name, application_id)
        except AccountError as exc:
            raise Refusal(404, "unknown_application", str(exc)) from None

    @pages.get("/applications/{application_id}/licence")
    async def licence_scan(request: Request, application_id: int) -> Response:
        who = await decider(request)
        application, data = await _in_scope(who, application_id)
        # Shown as what its bytes are, never sniffed into anything else, and sandboxed (a PDF runs no script).
        return Response(data, media_type=application.licence_type, headers={
            "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox", "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="licence-{application.id}"',
        })  # fmt: skip

    @pages.post("/applications/{application_id}/decision")
    async def decide(request: Request, application_id: int, decision: Text = "", reason: Text = "",
                     csrf: Text = "") -> Response:  # fmt: skip
        who = await decider(request)
        await shell.check_csrf(request, csrf)
        application, _ = await _in_scope(who, application_id)
        if decision not in ("approve", "refuse"):
            raise Refusal(400, "malformed", "请选择通过或不予通过")
        approve = decision == "approve"
        actor = who.account or who.label
        try:
            reason = check_decision(approve, reason)
            if application.status != "pending":
                raise AccountError("此申请已经处理过")
            # A qualification is a decision of the central: in its decision log first, when it keeps one (--data).
            log = getattr(shell.state, "decisions", None)
            if log is not None:
                kind = REGISTRATION_APPROVED if approve else REGISTRATION_REFUSED
                await log.decide(kind, decision_body(application, approve, reason), actor=actor)
            await shell.accounts.decide(who.level, who.name, application_id, approve, reason, actor)
        except AccountError as exc:
            return await shell.render(request, "accounts/application_review.html", 400, application=application,
                                      error=str(exc))  # fmt: skip
        return RedirectResponse("/applications", status_code=303)

    # -- the administrator's user page (as `qinglian central user ...`) --------------------------------

    async def users_page(request: Request, status_code: int = 200, error: str | None = None,
                         done: str | None = None) -> Response:  # fmt: skip
        users = await shell.accounts.list_accounts()
        return await shell.render(request, "accounts/users.html", status_code, users=users, error=error, done=done,
                                  staff_roles=R.STAFF_ROLES)  # fmt: skip

    @pages.get("/admin/users")
    async def users(request: Request) -> Response:
        await shell.require(request, R.ADMIN)
        return await users_page(request)

    @pages.post("/admin/users")
    async def add_user(request: Request, username: Text = "", name: Text = "", role: Text = "", scope: Text = "",
                       password: Text = "", csrf: Text = "") -> Response:  # fmt: skip
        who = await shell.require(request, R.ADMIN)
        await shell.check_csrf(request, csrf)
        try:
            made = await shell.accounts.create_staff(username, name, role, scope, password, who.account or "")
        except AccountError as exc:
            return await users_page(request, 400, str(exc))
        return await users_page(request, done=f"已创建账号 {made.username}")

    @pages.post("/admin/users/{username}/password")
    async def reset_password(request: Request, username: str, password: Text = "", csrf: Text = "") -> Response:
        await shell.require(request, R.ADMIN)
        await shell.check_csrf(request, csrf)
        try:
            await shell.accounts.set_password(username, password)
        except AccountError as exc:
            return await users_page(request, 400, str(exc))
        return await users_page(request, done=f"已为 {username} 设置新密码，其所有登录已退出")

    @pages.post("/admin/users/{username}/disabled")
    async def set_disabled(request: Request, username: str, disabled: Text = "", csrf: Text = "") -> Response:
        who = await shell.require(request, R.ADMIN)
        await shell.check_csrf(request, csrf)
        if username == who.account and disabled == "1":
            return await users_page(request, 400, "不能停用自己的账号")
        try:
            await shell.accounts.set_disabled(username, disabled == "1")
        except AccountError as exc:
            return await users_page(request, 400, str(exc))
        return await users_page(request, done=f"已{'停用' if disabled == '1' else '启用'}账号 {username}")

    return pages
