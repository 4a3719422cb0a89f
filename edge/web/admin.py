"""Accounts, for administrators: create, reset a password, disable and enable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from edge.kernel.errors import InputError, Refused
from edge.web.accounts import check_account, create_account, reset_password, set_disabled
from edge.web.service import Principal
from edge.web.shell import Shell


def require_admin(p: Principal) -> None:
    if not p.is_admin:
        raise Refused("只有管理员可以管理账号", "forbidden")


def router(shell: Shell) -> APIRouter:
    console, store = shell.console, shell.store
    api = APIRouter()

    @api.get("/admin/users", include_in_schema=False)
    async def users_page(request: Request) -> Response:
        p = await shell.principal_of(request)
        require_admin(p)
        return await shell.render(request, "users.html", users=await store.users(), people=console.config.people, form={})

    @api.post("/admin/users", include_in_schema=False)
    async def users_add(request: Request) -> Response:
        p = await shell.acting(request)
        require_admin(p)
        form = await request.form()
        roles = [str(r) for r in form.getlist("roles")]
        values = {k: str(form.get(k) or "") for k in ("username", "name", "person", "villages", "password")}
        try:
            new = check_account(console.config, values["username"], values["name"], roles, values["person"], values["villages"].replace("，", ",").split(","))
            await create_account(store, console.config, new, values["password"], p.account.username, console.agent.record_account)
        except InputError as exc:
            return await shell.render(request, "users.html", 400, users=await store.users(), people=console.config.people, form={**values, "roles": roles}, error=exc.message)
        await shell.flash(request, "ok", f"已创建账号 {new.username}。初始密码请当面告知本人；本人首次登录须改为自己的密码，之后才能审批。")
        return RedirectResponse("/admin/users", 303)

    @api.post("/admin/users/{username}/password", include_in_schema=False)
    async def users_reset(request: Request, username: str, password: Annotated[str, Form()] = "") -> Response:
        p = await shell.acting(request)
        require_admin(p)
        try:
            await reset_password(store, console.config, username, password, p.account.username, console.agent.record_account)
        except InputError as exc:
            return await shell.render(request, "users.html", 400, users=await store.users(), people=console.config.people, form={}, error=exc.message)
        await shell.flash(request, "ok", f"已重设 {username} 的密码，其登录已全部退出；本人登录后须先改为自己的密码才能审批。")
        return RedirectResponse("/admin/users", 303)

    @api.post("/admin/users/{username}/disable", include_in_schema=False)
    async def users_disable(request: Request, username: str) -> Response:
        return await toggle_user(request, username, True)

    @api.post("/admin/users/{username}/enable", include_in_schema=False)
    async def users_enable(request: Request, username: str) -> Response:
        return await toggle_user(request, username, False)

    async def toggle_user(request: Request, username: str, disabled: bool) -> Response:
        p = await shell.acting(request)
        require_admin(p)
        if disabled and username.lower() == p.account.username.lower():
            raise Refused("不能停用自己正在使用的账号", "forbidden")
        await set_disabled(store, username, disabled, p.account.username, console.agent.record_account)
        await shell.flash(request, "ok", f"已{'停用' if disabled else '启用'}账号 {username}")
        return RedirectResponse("/admin/users", 303)

    return api
