"""The steps of labour dispatch: validate at the boundary, decide with ``rules``, record, and only then does the
working state change (through the projection). Call each inside the agent's recorder step.

``host`` is the agent (the writer): its recorder, working database, config and master key. ``actor`` is the
roster person acting, ``account`` the console account (or host operator) acting for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import aiosqlite

import edge.modules.work_order.kinds as K
import edge.modules.work_order.projection as Q
import edge.modules.work_order.rules as R
from edge.kernel.config import Person
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.fmt import AmountError, parse_yuan
from edge.kernel.routing import CHAIN, RefusalBudget, RouteDesk, check_route_possible
from edge.kernel.text import line, paragraph
from edge.ledger.localtime import SHANGHAI
from edge.modules.work_order.sealing import Sealer, WrappedKey, new_wrapped_key
from edge.modules.work_order.settings import officers

REFUSALS = RefusalBudget()  # refused approvals on record, per person and item and hour, as the seal keeps them
MAX_TEXT = 200


def today() -> date:
    """The village's date now (Asia/Shanghai)."""
    return datetime.now(SHANGHAI).date()


def _conn(host: Any) -> aiosqlite.Connection:
    return host.db.conn  # type: ignore[no-any-return]


def _trade(value: object) -> str:
    if value not in R.TRADES:
        raise InputError(f"没有此工种：{value!r:.30}", "bad_trade")
    return str(value)


def _yuan(value: object, ceiling_fen: int, what: str) -> int:
    try:
        return parse_yuan(value if isinstance(value, str) else "", ceiling_fen)
    except AmountError as exc:
        raise InputError(f"{what}：{exc.message}", exc.code) from None


# -- personal numbers ----------------------------------------------------------------------------------------


async def sealer(host: Any) -> Sealer:
    """The module's sealer; its data key is made (and recorded, sealed under the master key) on first use."""
    found = await Q.one(_conn(host), "SELECT nonce, ciphertext FROM wo_key WHERE id = 1")
    if found is None:
        wrapped = new_wrapped_key(host.master)
        await host.recorder.record(K.KEY, {"nonce": wrapped.nonce.hex(), "ciphertext": wrapped.ciphertext.hex()})
    else:
        wrapped = WrappedKey(bytes.fromhex(found["nonce"]), bytes.fromhex(found["ciphertext"]))
    return Sealer.open_with(host.master, wrapped)


# -- the worker pool -------------------------------------------------------------------------------------------


async def register_worker(host: Any, actor: Person, account: str, form: Mapping[str, Any]) -> str:
    """Register a worker in a trade's pool: the next number of its public rotation order."""
    name = line(form.get("name"), "姓名", 20)
    trade = _trade(form.get("trade"))
    area, group = line(form.get("area"), "片区", 20), line(form.get("group"), "小组", 20)
    phone = R.check_phone(form.get("phone"))
    id_number = R.check_id_number(form.get("id_number"))
    bank = R.check_bank_account(form.get("bank_account"))
    relatives = form.get("relatives") or []
    if isinstance(relatives, str):
        relatives = [r for r in re.split(r"[,，\s]+", relatives) if r]
    if not isinstance(relatives, list) or any(r not in host.config.people for r in relatives):
        raise InputError("亲属应为名册中的人员（村干部）编号", "unknown_person")
    conn = _conn(host)
    seal = await sealer(host)
    digest = seal.digest(id_number)
    if await Q.one(conn, "SELECT id FROM wo_workers WHERE id_digest = ?", (digest,)) is not None:
        raise InputError("此身份证号已登记在名库中，同一人只登记一次", "duplicate_worker")
    count = await Q.one(conn, "SELECT COUNT(*) AS n FROM wo_workers")
    top = await Q.one(conn, "SELECT COALESCE(MAX(rotation), 0) AS n FROM wo_workers WHERE trade = ?", (trade,))
    assert count is not None and top is not None
    worker_id = f"W{int(count['n']) + 1:03d}"
    await host.recorder.record(K.WORKER_REGISTERED, {
        "worker_id": worker_id, "name": name, "trade": trade, "area": area, "group": group, "rotation": int(top["n"]) + 1,
        "phone": phone, "id_sealed": seal.seal(worker_id, "id_number", id_number), "id_digest": digest,
        "bank_sealed": seal.seal(worker_id, "bank_account", bank), "relatives": sorted(set(relatives)),
        "by": actor.id, "account": account,
    })  # fmt: skip
    return worker_id


async def set_status(host: Any, actor: Person, account: str, worker_id: str, form: Mapping[str, Any]) -> None:
    """Available again; unavailable with a reason and dates; blacklisted with the committee's reason (a
    committee member, an approver of the roster, records it)."""
    worker = await Q.one(_conn(host), "SELECT * FROM wo_workers WHERE id = ?", (worker_id,))
    if worker is None:
        raise NotFound("名库中没有此人")
    status = form.get("status")
    body: dict[str, Any] = {"worker_id": worker_id, "status": status, "reason": "", "by": actor.id, "account": account}
    if status == R.UNAVAILABLE:
        body["reason"] = line(form.get("reason"), "不可派原因", 100)
        start, end = R.parse_day(form.get("from"), "开始日期"), R.parse_day(form.get("to"), "结束日期")
        if end < start:
            raise InputError("结束日期不能早于开始日期", "bad_date")
        body.update({"from": start.isoformat(), "to": end.isoformat()})
    elif status == R.BLACKLISTED:
        if not actor.has("approver"):
            raise Refused("列入黑名单须由两委会成员（审批人）记录", "forbidden")
        body["reason"] = line(form.get("reason"), "两委会决定的理由", 200)
    elif status != R.AVAILABLE:
        raise InputError(f"没有此状态：{status!r:.30}", "bad_status")
    await host.recorder.record(K.WORKER_STATUS, body)


# -- work orders -----------------------------------------------------------------------------------------------


async def file_order(host: Any, actor: Person, account: str, form: Mapping[str, Any]) -> str:
    """File a work order (派工单) for the village head's signature. 30,000 yuan or more is refused (a 限额工程);
    a week whose plan the committee already froze takes only an emergency order, with its own reason."""
    content = line(form.get("content"), "用工内容", MAX_TEXT)
    trade = _trade(form.get("trade"))
    place = line(form.get("place"), "地点", 100)
    try:
        headcount = int(str(form.get("headcount", "")).strip())
    except ValueError:
        raise InputError("人数应为整数", "bad_headcount") from None
    if not 1 <= headcount <= R.MAX_HEADCOUNT:
        raise InputError(f"人数应为 1 到 {R.MAX_HEADCOUNT}", "bad_headcount")
    start, end = R.parse_day(form.get("start"), "开始日期"), R.parse_day(form.get("end"), "结束日期")
    days = R.order_days(start, end)
    rate = _yuan(form.get("rate"), R.MAX_RATE_FEN, "日工资标准")
    amount = R.order_amount(rate, headcount, days)
    R.check_limit(amount, content, place)
    emergency = form.get("emergency") in (True, "1", "on", "true")
    reason = line(form.get("emergency_reason"), "紧急用工理由", 200, required=emergency) if emergency else ""
    week = R.week_of(start)
    conn = _conn(host)
    plan = await Q.plan(conn, week)
    if plan is not None and plan["status"] == "approved" and not emergency:
        raise Refused(f"{week} 用工计划已经两委会审定并冻结，计划外用工须走紧急通道（写明理由，由村主要负责人审批）", "plan_frozen")
    head = officers(host.config).head
    assert head is not None
    check_route_possible("村主要负责人审批", CHAIN, 1, [head], [actor.id], "自己提交的派工单")
    n = await Q.one(conn, "SELECT COUNT(*) AS n FROM wo_orders WHERE week = ?", (week,))
    assert n is not None
    order_id = f"WO-{week.replace('-', '')}-{int(n['n']) + 1:02d}"
    route = {"rule": "work_order.head", "mode": CHAIN, "n": 1, "approvers": [head]}
    await host.recorder.record(K.ORDER_FILED, {
        "order_id": order_id, "week": week, "content": content, "trade": trade, "headcount": headcount, "place": place,
        "start": start.isoformat(), "end": end.isoformat(), "days": days, "rate_fen": rate, "amount_fen": amount,
        "applicant": actor.id, "account": account, "route": route, "emergency": emergency, "emergency_reason": reason,
    })  # fmt: skip
    return order_id


async def _order(host: Any, order_id: str) -> dict[str, Any]:
    found = await Q.order(_conn(host), order_id)
    if found is None:
        raise NotFound("没有此派工单")
    return found


async def decide_order(host: Any, actor: Person, account: str, order_id: str, approve: bool, reason: str = "") -> None:
    """The village head's signature (or refusal) through the kernel's routing desk."""
    desk = RouteDesk(host.recorder, K.NAME, "order_id", REFUSALS)
    item = Q.routed_order(await _order(host, order_id))
    if approve:
        await desk.approve(item, actor, account)
    else:
        await desk.reject(item, actor, account, line(reason, "驳回理由", MAX_TEXT))


# -- the week's plan -------------------------------------------------------------------------------------------


def _line(o: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("content", "trade", "place", "headcount", "rate_fen", "amount_fen")
    return {"order_id": o["id"], "start": o["start_day"], "end": o["end_day"], **{k: o[k] for k in keys}}


async def draft_plan(host: Any, actor: Person, account: str, week: str) -> None:
    """Draft the week's plan from the week's signed orders (again, as more are signed, until the meeting)."""
    R.week_days(week)
    conn = _conn(host)
    plan = await Q.plan(conn, week)
    if plan is not None and plan["status"] == "approved":
        raise Refused(f"{week} 用工计划已审定并冻结，不能再改", "plan_frozen")
    signed = await Q.orders(conn, "WHERE week = ? AND status = 'approved' AND emergency = 0", (week,))
    if not signed:
        raise InputError(f"{week} 没有已由村主要负责人签批的派工单，无法草拟计划", "empty_plan")
    lines = [_line(o) for o in sorted(signed, key=lambda o: o["id"])]
    total = sum(line["amount_fen"] for line in lines)
    await host.recorder.record(K.PLAN_DRAFTED, {"week": week, "lines": lines, "total_fen": total, "by": actor.id, "account": account})


async def approve_plan(host: Any, actor: Person, account: str, week: str, form: Mapping[str, Any]) -> None:
    """The committee meeting (村“两委”会) approves the drafted plan: date, attendees, minutes; frozen from then on.
    Emergency orders signed since the last meeting are reported to it and flagged as reviewed."""
    if not actor.has("approver"):
        raise Refused("周计划须由两委会成员（审批人）记录审定", "forbidden")
    conn = _conn(host)
    plan = await Q.plan(conn, week)
    if plan is None:
        raise InputError(f"{week} 还没有草拟的用工计划", "no_plan")
    if plan["status"] == "approved":
        raise Refused(f"{week} 用工计划已审定并冻结", "plan_frozen")
    day = R.parse_day(form.get("meeting_day"), "会议日期")
    attendees = [a for a in re.split(r"[,，、\s]+", line(form.get("attendees"), "参会人员", 200)) if a]
    if len(attendees) < 3:
        raise InputError("两委会参会人员至少 3 人", "too_few_attendees")
    minutes = paragraph(form.get("minutes"), "会议纪要", 2000)
    emergencies = [o["id"] for o in await Q.unreviewed_emergencies(conn)]
    await host.recorder.record(K.PLAN_APPROVED, {
        "week": week, "meeting_day": day.isoformat(), "attendees": attendees, "minutes": minutes,
        "orders": [line["order_id"] for line in plan["orders"]], "total_fen": plan["total_fen"],
        "emergencies": sorted(emergencies), "by": actor.id, "account": account,
    })  # fmt: skip


# -- dispatch --------------------------------------------------------------------------------------------------


def candidates(pool: Sequence[Mapping[str, Any]], start: date, end: date) -> list[R.Candidate]:
    """The pool as the rotation reads it for a job from ``start`` to ``end``."""
    return [
        R.Candidate(w["id"], int(w["rotation"]), not R.away_during(w["status"], w["status_from"], w["status_to"], start, end),
                    w["status"] == R.BLACKLISTED)
        for w in pool
    ]  # fmt: skip


async def dispatch(host: Any, actor: Person, account: str, order_id: str, refused: Sequence[str] = (),
                   takers: Sequence[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Dispatch a signed order in its week's approved plan (or an emergency order): by the trade's rotation,
    or, for a posted job, to its first qualified ``takers``. Recorded with the cursor before and after."""
    o = await _order(host, order_id)
    if o["status"] != "approved":
        raise Refused(f"派工单{Q.ORDER_STATUS[o['status']]}，不能派工", "not_approved")
    conn = _conn(host)
    plan = await Q.plan(conn, o["week"])
    in_plan = plan is not None and plan["status"] == "approved" and any(line["order_id"] == order_id for line in plan["orders"])
    R.check_plan_allows(None if plan is None else plan["status"], in_plan, bool(o["emergency"]))
    pool = await Q.workers(conn, o["trade"])
    unknown = set(refused) - {w["id"] for w in pool}
    if unknown:
        raise InputError(f"拒绝派工的人不在此工种名库中：{', '.join(sorted(unknown))[:80]}", "unknown_worker")
    relatives = [w["id"] for w in pool if o["applicant"] in w["relatives"]]
    standing = candidates(pool, date.fromisoformat(o["start_day"]), date.fromisoformat(o["end_day"]))
    if takers is None:
        mode, result = R.ROTATION, R.rotate(standing, await Q.cursor(conn, o["trade"]), int(o["headcount"]), refused, relatives)
    else:
        mode, result = R.POSTED, R.take_posted(standing, takers, int(o["headcount"]), relatives)
    body = {
        "order_id": order_id, "trade": o["trade"], "mode": mode, "workers": list(result.workers),
        "skipped": [{"worker": w, "reason": r} for w, r in result.skipped], "cursor_before": result.cursor_before,
        "cursor_after": result.cursor_after, "applicant": o["applicant"], "by": actor.id, "account": account,
    }  # fmt: skip
    if takers is not None:
        body["takers"] = list(takers)  # so the audit recomputes a posted job from the ledger as well
    await host.recorder.record(K.DISPATCHED, body)
    return body


# -- attendance and pay ---------------------------------------------------------------------------------------


async def may_keep_attendance(host: Any, person: str, order: Mapping[str, Any], workers: Sequence[str]) -> bool:
    """Whether ``person`` keeps this order's attendance sheet ([work_order] station_head and areas)."""
    areas = {w["area"] for w in await Q.workers(_conn(host), order["trade"]) if w["id"] in workers}
    who = officers(host.config)
    return R.may_keep_attendance(person, who.station_head, who.supervisors(), areas)


async def record_attendance(host: Any, actor: Person, account: str, order_id: str, day_text: str, marks: Mapping[str, str]) -> None:
    """One day's attendance sheet of a dispatched order: each dispatched worker full, half or absent."""
    o = await _order(host, order_id)
    conn = _conn(host)
    sent = await Q.dispatch(conn, order_id)
    if sent is None:
        raise Refused("派工单尚未派工，不能登记出勤", "not_dispatched")
    if await Q.pay_of(conn, order_id) is not None:
        raise Refused("工资已造册，出勤不能再改", "pay_filed")
    if not await may_keep_attendance(host, actor.id, o, sent["workers"]):
        raise Refused("出勤表由站长或本单工人所在片区的联系两委委员登记", "forbidden")
    day = R.parse_day(day_text, "出勤日期")
    R.check_attendance_day(day, date.fromisoformat(o["start_day"]), date.fromisoformat(o["end_day"]), today())
    if set(marks) != set(sent["workers"]):
        raise InputError("出勤表应逐一登记本单派出的每位工人", "bad_attendance")
    halves = {}
    for worker, mark in marks.items():
        if mark not in R.ATTENDANCE:
            raise InputError(f"出勤应为全天、半天或缺勤：{mark!r:.20}", "bad_attendance")
        halves[worker] = R.ATTENDANCE[mark]
    await host.recorder.record(K.ATTENDANCE, {"order_id": order_id, "day": day.isoformat(), "marks": halves, "by": actor.id, "account": account})


async def file_pay(host: Any, actor: Person, account: str, order_id: str) -> str:
    """The pay list of an order from its attendance × rate, for the supervising lead's check and finance's
    approval; never more than its plan line (or emergency order) approved."""
    o = await _order(host, order_id)
    conn = _conn(host)
    if await Q.pay_of(conn, order_id) is not None:
        raise Refused("此派工单的工资已造册", "pay_filed")
    sheet = await Q.attendance_of(conn, order_id)
    lines = R.pay_lines([(a["worker"], int(a["half_days"])) for a in sheet], int(o["rate_fen"]))
    total = sum(line.amount_fen for line in lines)
    R.check_pay(total, int(o["amount_fen"]))
    who = officers(host.config)
    assert who.lead is not None and who.finance is not None
    check_route_possible("工资审核", CHAIN, 2, [who.lead, who.finance], [actor.id], "自己造册的工资")
    pay_id = f"PAY-{order_id.removeprefix('WO-')}"
    await host.recorder.record(K.PAY_FILED, {
        "pay_id": pay_id, "order_id": order_id, "total_fen": total, "rate_fen": int(o["rate_fen"]),
        "lines": [{"worker": line.worker, "half_days": line.half_days, "amount_fen": line.amount_fen} for line in lines],
        "route": {"rule": "work_order.pay", "mode": CHAIN, "n": 2, "approvers": [who.lead, who.finance]},
        "by": actor.id, "account": account,
    })  # fmt: skip
    return pay_id


async def _pay(host: Any, pay_id: str) -> dict[str, Any]:
    found = await Q.one(_conn(host), "SELECT * FROM wo_pays WHERE id = ?", (pay_id,))
    if found is None:
        raise NotFound("没有此工资单")
    return found


async def decide_pay(host: Any, actor: Person, account: str, pay_id: str, approve: bool, reason: str = "") -> None:
    """The supervising lead's check, then finance's approval, through the routing desk."""
    desk = RouteDesk(host.recorder, K.NAME, "pay_id", REFUSALS)
    item = Q.routed_pay(await _pay(host, pay_id))
    if approve:
        await desk.approve(item, actor, account)
    else:
        await desk.reject(item, actor, account, line(reason, "驳回理由", MAX_TEXT))


async def record_paid(host: Any, actor: Person, account: str, pay_id: str, method: object, transfer_ref: object) -> None:
    """Finance records the bank transfer of an approved pay list (its reference); cash is never recorded."""
    R.check_method(method)
    pay = await _pay(host, pay_id)
    if actor.id != officers(host.config).finance:
        raise Refused("银行转账由财务记录", "forbidden")
    if pay["status"] != "approved":
        raise Refused(f"工资单{Q.PAY_STATUS[pay['status']]}，不能记录转账", "not_approved")
    ref = transfer_ref.strip() if isinstance(transfer_ref, str) else ""
    if not re.fullmatch(r"[A-Za-z0-9-]{6,40}", ref, re.ASCII):
        raise InputError("银行转账流水号应为 6 到 40 位字母、数字或 -", "bad_transfer_ref")
    await host.recorder.record(K.PAID, {"pay_id": pay_id, "order_id": pay["order_id"], "method": R.BANK, "transfer_ref": ref,
                                        "total_fen": pay["total_fen"], "by": actor.id, "account": account})  # fmt: skip
