"""The console's pages of labour dispatch, phone-first: orders and their path (sign, dispatch, attendance, pay),
the worker pool, the weekly plan; and the module's items in the 待审批 inbox.

Every form posts to a step of ``desk`` inside the recorder's step; a refused step answers with the shell's
error page (its Chinese message), and nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from edge.kernel.config import Person
from edge.kernel.contract import Awaiting, NavItem, Notice
from edge.kernel.errors import NotFound, Refused
from edge.kernel.fmt import yuan
from edge.kernel.notices import routed
from edge.kernel.routing import why_not
from edge.ledger import Entry
import edge.modules.work_order.desk as desk
import edge.modules.work_order.kinds as K
import edge.modules.work_order.projection as Q
import edge.modules.work_order.rules as R
from edge.modules.work_order.sealing import masked
from edge.modules.work_order.settings import officers

TEMPLATES = Path(__file__).parent / "templates"
NAV = (NavItem("/work_order", "派工"),)
PAGE = "/work_order"
SMALL_PROJECT_FORM = "/small_project"  # 限额工程's page: its filing form reads name, place, scope and amount to prefill
SMALL_PROJECT_TEXT = 60  # its name and place are at most this long


def small_project_offer(over: R.OverLimit) -> str:
    """The link that offers a refused job to 限额工程's filing form with what was typed carried over (a module
    never imports another: the offer goes through the console). Nothing is filed until the clerk submits there."""
    amount = f"{over.amount_fen // 100}.{over.amount_fen % 100:02d}"
    query = {"name": over.content[:SMALL_PROJECT_TEXT], "place": over.place[:SMALL_PROJECT_TEXT],
             "scope": f"由派工单转来：{over.content}（{over.place}，估算 {yuan(over.amount_fen)}）", "amount": amount}  # fmt: skip
    return f"{SMALL_PROJECT_FORM}?{urlencode(query)}#file-details"


def reader(p: Any) -> Any:
    """A principal who may read this village's labour dispatch: any role here (another village's account has none)."""
    if not p.roles:
        raise Refused("您的账号无权查看本村用工派工", "forbidden")
    return p


def actor(p: Any) -> Person:
    """The roster person a state-changing step acts as: an account of this village bound to a person."""
    if not p.in_scope or not p.roles or p.person is None:
        raise Refused("您的账号未关联本村名册人员，不能办理派工事项", "forbidden")
    return p.person  # type: ignore[no-any-return]


def order_item(o: dict[str, Any], name_of: Callable[[str], str]) -> Awaiting:
    """An order as the 待审批 inbox and its pushes show it."""
    summary = f"派工单 {name_of(o['applicant'])} 提交 {o['headcount']} 人 {yuan(o['amount_fen'])}" + ("（紧急）" if o["emergency"] else "")
    return Awaiting(o["id"], o["content"], summary, f"{PAGE}/orders/{o['id']}", o["filed_at"], Q.routed_order(o))


def pay_item(w: dict[str, Any], order_title: str, name_of: Callable[[str], str]) -> Awaiting:
    """A pay list as the 待审批 inbox and its pushes show it: on its order's page."""
    return Awaiting(w["id"], f"劳务工资 {order_title}", f"工资单 {yuan(w['total_fen'])}，{name_of(w['filed_by'])} 造册",
                    f"{PAGE}/orders/{w['order_id']}", w["filed_at"], Q.routed_pay(w))  # fmt: skip


async def inbox(shell: Any, p: Any) -> list[Awaiting]:
    agent = shell.console.agent
    async with agent.recorder.step():
        conn = agent.db.conn
        orders = await Q.orders(conn, "WHERE status = 'pending'")
        pays = await Q.pays(conn, "pending")
        titles = {o["id"]: o["content"] for o in await Q.orders(conn)}
    name = shell.console.name_of
    out = [order_item(o, name) for o in orders if p.person_id in o["route"]["approvers"]]
    out += [pay_item(w, titles.get(w["order_id"], w["order_id"]), name) for w in pays if p.person_id in w["route"]["approvers"]]
    return out


async def notices(host: Any, entry: Entry) -> list[Notice]:
    """The pushes of an order's or a pay list's step (the village head to sign; the lead, then finance, to check
    the pay): the routing desk's own, as every routed item gets them."""
    conn, b, name = host.db.conn, entry.body, host.config.name_of
    if "pay_id" in b:
        w = await Q.one(conn, "SELECT * FROM wo_pays WHERE id = ?", (b["pay_id"],))
        if w is None:
            return []
        o = await Q.order(conn, w["order_id"])
        return routed(entry, K.NAME, K.PAY_FILED, pay_item(w, o["content"] if o else w["order_id"], name), w["filed_by"], name)
    if "order_id" in b and entry.kind != K.PAY_FILED:
        o = await Q.order(conn, b["order_id"])
        return [] if o is None else routed(entry, K.NAME, K.ORDER_FILED, order_item(o, name), o["applicant"], name)
    return []


def router(shell: Any) -> APIRouter:
    api = APIRouter()
    agent = shell.console.agent

    async def form_of(request: Request) -> dict[str, Any]:
        form = await request.form()
        # text fields only: a file sent in place of a field is dropped, and the step says the field is missing
        texts = {k: v for k in form if isinstance(v := form.get(k), str)}
        return texts | {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in ("refused", "relatives")}

    async def act(request: Request, message: str, target: str) -> Response:
        await shell.flash(request, "ok", message)
        return RedirectResponse(target, 303)

    @api.get(PAGE, include_in_schema=False)
    async def overview(request: Request) -> Response:
        p = reader(await shell.principal_of(request))
        async with agent.recorder.step():
            orders = await Q.orders(agent.db.conn)
        week = R.week_of(desk.today())
        return await shell.render(  # type: ignore[no-any-return]
            request, "work_order/orders.html", orders=orders, TRADES=R.TRADES, STATUS=Q.ORDER_STATUS, me=p.person_id, week=week
        )

    @api.post(f"{PAGE}/orders", include_in_schema=False)
    async def file_order(request: Request) -> Response:
        p = await shell.acting(request)
        form = await form_of(request)
        try:
            async with agent.recorder.step():
                order_id = await desk.file_order(agent, actor(p), p.account.username, form)
        except R.OverLimit as over:  # refused here, offered to 限额工程 with what was typed
            return await shell.render(  # type: ignore[no-any-return]
                request, "work_order/over_limit.html", 409, over=over, offer=small_project_offer(over)
            )
        return await act(request, f"派工单 {order_id} 已提交，待村主要负责人签批", f"{PAGE}/orders/{order_id}")

    @api.get(PAGE + "/orders/{order_id}", include_in_schema=False)
    async def order_page(request: Request, order_id: str) -> Response:
        p = reader(await shell.principal_of(request))
        async with agent.recorder.step():
            conn = agent.db.conn
            o = await Q.order(conn, order_id)
            if o is None:
                raise NotFound("没有此派工单")
            sent = await Q.dispatch(conn, order_id)
            sheet = await Q.attendance_of(conn, order_id)
            pay = await Q.pay_of(conn, order_id)
            plan = await Q.plan(conn, o["week"])
            pool = {w["id"]: w for w in await Q.workers(conn, o["trade"])}
            attends = sent is not None and p.person_id is not None and await desk.may_keep_attendance(agent, p.person_id, o, sent["workers"])
        name = shell.console.name_of
        head_turn = why_not(Q.routed_order(o), p.person_id, name) is None and o["applicant"] != p.person_id
        pay_turn = pay is not None and why_not(Q.routed_pay(pay), p.person_id, name) is None and pay["filed_by"] != p.person_id
        days: dict[str, dict[str, int]] = {}
        for a in sheet:
            days.setdefault(a["day"], {})[a["worker"]] = a["half_days"]
        return await shell.render(  # type: ignore[no-any-return]
            request, "work_order/order.html", o=o, sent=sent, days=days, pay=pay, plan=plan, pool=pool, TRADES=R.TRADES,
            STATUS=Q.ORDER_STATUS, PAY_STATUS=Q.PAY_STATUS, SKIP=R.SKIP_REASONS, ATT=R.ATTENDANCE_NAMES, head_turn=head_turn,
            pay_turn=pay_turn, finance=officers(agent.config).finance, me=p.person_id, attends=attends,
        )  # fmt: skip

    @api.post(PAGE + "/orders/{order_id}/{decision}", include_in_schema=False)
    async def order_step(request: Request, order_id: str, decision: str) -> Response:
        p = await shell.acting(request)
        form = await form_of(request)
        who, account = actor(p), p.account.username
        async with agent.recorder.step():
            if decision == "approve":
                await desk.decide_order(agent, who, account, order_id, True)
                message = f"已签批派工单 {order_id}"
            elif decision == "reject":
                await desk.decide_order(agent, who, account, order_id, False, str(form.get("reason") or ""))
                message = f"已驳回派工单 {order_id}"
            elif decision == "dispatch":
                takers = [t for t in re.split(r"[,，、\s]+", str(form.get("takers") or "")) if t]
                sent = await desk.dispatch(agent, who, account, order_id, form["refused"], takers or None)
                how = "按报名先后（公开招工）" if takers else "按轮派顺序"
                message = f"已{how}派出 {len(sent['workers'])} 人"
            elif decision == "attendance":
                marks = {k.removeprefix("w-"): str(v) for k, v in form.items() if k.startswith("w-")}
                await desk.record_attendance(agent, who, account, order_id, str(form.get("day") or ""), marks)
                message = f"已登记 {form.get('day')} 出勤"
            elif decision == "pay":
                pay_id = await desk.file_pay(agent, who, account, order_id)
                message = f"工资单 {pay_id} 已造册，待分管领导审核"
            else:
                raise NotFound("没有此操作")
        return await act(request, message, f"{PAGE}/orders/{order_id}")

    @api.post(PAGE + "/pays/{pay_id}/{decision}", include_in_schema=False)
    async def pay_step(request: Request, pay_id: str, decision: str) -> Response:
        p = await shell.acting(request)
        form = await form_of(request)
        who, account = actor(p), p.account.username
        async with agent.recorder.step():
            pay = await Q.one(agent.db.conn, "SELECT order_id FROM wo_pays WHERE id = ?", (pay_id,))
            if pay is None:
                raise NotFound("没有此工资单")
            if decision == "approve":
                await desk.decide_pay(agent, who, account, pay_id, True)
                message = "已审核同意工资单"
            elif decision == "reject":
                await desk.decide_pay(agent, who, account, pay_id, False, str(form.get("reason") or ""))
                message = "已驳回工资单"
            elif decision == "paid":
                await desk.record_paid(agent, who, account, pay_id, form.get("method"), form.get("transfer_ref"))
                message = "已记录银行转账，工资发放表已公开"
            else:
                raise NotFound("没有此操作")
        return await act(request, message, f"{PAGE}/orders/{pay['order_id']}")

    @api.get(PAGE + "/workers", include_in_schema=False)
    async def pool_page(request: Request) -> Response:
        p = reader(await shell.principal_of(request))
        async with agent.recorder.step():
            conn = agent.db.conn
            pool = await Q.workers(conn)
            cursors = {t: await Q.cursor(conn, t) for t in R.TRADES}
            seal = await desk.sealer(agent) if pool else None
        shown = [w | {"id_shown": masked(seal.open(w["id"], "id_number", w["id_sealed"])) if seal else ""} for w in pool]
        people = [x for x in agent.config.people.values()]
        return await shell.render(  # type: ignore[no-any-return]
            request, "work_order/workers.html", pool=shown, cursors=cursors, TRADES=R.TRADES, STATUS=R.STATUS_NAMES, people=people, me=p.person_id
        )

    @api.post(PAGE + "/workers", include_in_schema=False)
    async def register(request: Request) -> Response:
        p = await shell.acting(request)
        data = await form_of(request)
        async with agent.recorder.step():
            worker_id = await desk.register_worker(agent, actor(p), p.account.username, data)
        return await act(request, f"已登记 {worker_id}", f"{PAGE}/workers")

    @api.post(PAGE + "/workers/{worker_id}/status", include_in_schema=False)
    async def status(request: Request, worker_id: str) -> Response:
        p = await shell.acting(request)
        form = await form_of(request)
        async with agent.recorder.step():
            await desk.set_status(agent, actor(p), p.account.username, worker_id, form)
        return await act(request, f"已更新 {worker_id} 的状态", f"{PAGE}/workers")

    @api.get(PAGE + "/plans/{week}", include_in_schema=False)
    async def plan_page(request: Request, week: str) -> Response:
        p = reader(await shell.principal_of(request))
        monday, sunday = R.week_days(week)
        async with agent.recorder.step():
            conn = agent.db.conn
            plan = await Q.plan(conn, week)
            orders = await Q.orders(conn, "WHERE week = ?", (week,))
            urgent = await Q.unreviewed_emergencies(conn)
        return await shell.render(  # type: ignore[no-any-return]
            request, "work_order/plan.html", week=week, monday=monday, sunday=sunday, plan=plan, orders=orders, urgent=urgent,
            TRADES=R.TRADES, STATUS=Q.ORDER_STATUS, PLAN_STATUS=Q.PLAN_STATUS, me=p.person_id,
        )  # fmt: skip

    @api.post(PAGE + "/plans/{week}/{decision}", include_in_schema=False)
    async def plan_step(request: Request, week: str, decision: str) -> Response:
        p = await shell.acting(request)
        form = await form_of(request)
        async with agent.recorder.step():
            if decision == "draft":
                await desk.draft_plan(agent, actor(p), p.account.username, week)
                message = f"已草拟 {week} 用工计划，待两委会审定"
            elif decision == "approve":
                await desk.approve_plan(agent, actor(p), p.account.username, week, form)
                message = f"{week} 用工计划已经两委会审定并冻结"
            else:
                raise NotFound("没有此操作")
        return await act(request, message, f"{PAGE}/plans/{week}")

    return api
