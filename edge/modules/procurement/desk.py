"""The procurement steps of a village: each one reads the working state, decides by the rules and records,
inside one recorder step (``host``: the running agent, with its recorder, working database and config).

Recording a purchase checks the split-purchase rule first: an offline purchase that would bring a project, or
a category within two months, to 5,000 yuan or more is refused, and the refusal is a ledger entry with the
purchases that add up. An override names its reason and waits for a second approver (the kernel's routing
desk); once approved, the purchase is recorded, flagged with the override. A demand goes through the
village's approval, then up to the township at the central; the award, a return or a failed tender come down
as documents; contract, delivery acceptance and payment follow here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Any

import edge.modules.procurement.db as db  # noqa: PLR0402  (not from the package: its __init__ imports this)
import edge.modules.procurement.kinds as K
import edge.modules.procurement.rules as rules  # noqa: PLR0402  (not from the package: its __init__ imports this)
from edge.kernel.accounts import Actor
from edge.kernel.config import Person
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.fmt import yuan
from edge.kernel.routing import RefusalBudget, Routed, RouteDesk
from edge.kernel.text import line, paragraph
from edge.modules.procurement.config import route_for, settings_of
from edge.modules.procurement.inputs import DemandDraft, PurchaseDraft

#: Who records purchases and files demands: the village's book-keeper (村务人员) or an applicant of the roster.
RECORDER_ROLES = frozenset({"village_staff", "applicant"})
REFUSALS = RefusalBudget()  # refused approvals on record, per person, item and hour, as the seal keeps them

#: Stores an uploaded file once the step decides to keep it: {sha256, name, size}, or None without a file.
Store = Callable[[], Awaitable[Mapping[str, Any] | None]]


class SplitPurchase(Refused):
    """An offline purchase the rule refused (on record): the groups that add up, for the page to list."""

    def __init__(self, message: str, groups: list[dict[str, Any]]) -> None:
        super().__init__(message, "split_purchase")
        self.groups = groups


def may_record(actor: Actor) -> bool:
    return bool(actor.roles & RECORDER_ROLES)


def _recorder(actor: Actor) -> None:
    if not may_record(actor):
        raise Refused("您的账号不能登记采购或提交需求（需要村务人员或申请人角色）", "forbidden")


def _by(actor: Actor) -> dict[str, Any]:
    return {"account": actor.account, "person": actor.person_id}


def as_purchase(row: Mapping[str, Any]) -> rules.Purchase:
    return rules.Purchase(
        row["id"],
        date.fromisoformat(row["day"]),
        row["category"],
        int(row["amount_fen"]),
        row["channel"],
        row["project"],
    )


def _group_body(g: rules.Group) -> dict[str, Any]:
    return {
        "rule": g.rule,
        "key": g.key,
        "ids": list(g.ids),
        "total_fen": g.total_fen,
        "start": g.start.isoformat(),
        "end": g.end.isoformat(),
    }


def _next_id(prefix: str, n: int) -> str:
    return f"{prefix}-{n + 1:05d}"


async def _split(host: Any, draft: PurchaseDraft) -> tuple[list[dict[str, Any]], str]:
    """The groups an offline ``draft`` would bring to the threshold (as entry bodies) and the Chinese message."""
    earlier = await db.purchases(host.db.conn)
    candidate = rules.Purchase("本次", draft.day, draft.category, draft.amount_fen, draft.channel, draft.project)
    groups = rules.offline_refusal(candidate, [as_purchase(r) for r in earlier])
    if not groups:
        return [], ""
    amounts = {r["id"]: int(r["amount_fen"]) for r in earlier} | {"本次": draft.amount_fen}
    days = {r["id"]: date.fromisoformat(r["day"]) for r in earlier} | {"本次": draft.day}
    return [_group_body(g) for g in groups], rules.refusal_message(groups, amounts, days)


async def record_purchase(host: Any, actor: Actor, draft: PurchaseDraft, store: Store) -> str:
    """Record a purchase (its id), or refuse an offline one the rule forbids: :class:`SplitPurchase`, on record.
    ``store`` keeps the invoice only when the purchase is recorded."""
    _recorder(actor)
    async with host.recorder.step():
        groups, message = await _split(host, draft)
        if groups:
            await host.recorder.record(
                K.PURCHASE_REFUSED, {"purchase": draft.body(), "groups": groups, "message": message, **_by(actor)}
            )
            raise SplitPurchase(message, groups)
        invoice = await store()
        purchase_id = _next_id("CG", await db.count(host.db.conn, "procurement_purchases"))
        body = {
            **draft.body(),
            "invoice": dict(invoice) if invoice else None,
            "id": purchase_id,
            "override": None,
            "demand_id": None,
        }
        await host.recorder.record(K.PURCHASE_RECORDED, {**body, **_by(actor)})
    return purchase_id


# -- an override: an offline purchase against the rule, with a reason and a second approver ----------------


def override_routed(row: Mapping[str, Any]) -> Routed:
    barred = {row["person"]: ("self_approval", "不能审批自己申请的例外登记")} if row.get("person") else {}
    status = str(row["status"])
    return Routed(
        row["id"], status, db.OVERRIDE_STATUS[status], status == "pending", row["route"], tuple(row["done"]), barred
    )


async def request_override(host: Any, actor: Actor, draft: PurchaseDraft, reason_text: str, store: Store) -> str:
    """Ask for an offline purchase the rule refuses to be recorded all the same: a written reason, then a
    second approver. The override's id."""
    _recorder(actor)
    reason = paragraph(reason_text, "例外登记的理由", 500, 10)
    async with host.recorder.step():
        groups, message = await _split(host, draft)
        if not groups:
            raise InputError("此采购未触及拆分采购规则，可直接登记，无需例外", "no_override_needed")
        barred = [actor.person_id] if actor.person_id else []
        route = route_for(
            settings_of(host.config.sections).override, "procurement_override", host.config.people, barred, "此例外登记"
        )
        invoice = await store()
        override_id = _next_id("LW", await db.count(host.db.conn, "procurement_overrides"))
        purchase = {**draft.body(), "invoice": dict(invoice) if invoice else None}
        await host.recorder.record(K.OVERRIDE_REQUESTED, {
            "id": override_id, "purchase": purchase, "reason": reason, "groups": groups, "message": message, "route": route, **_by(actor),
        })  # fmt: skip
    return override_id


async def decide_override(
    host: Any, actor: Actor, override_id: str, approve: bool, reason_text: str = ""
) -> str | None:
    """An approver's decision on an override; when it completes the route the purchase is recorded, flagged
    (its id returned)."""
    person = _decider(actor)
    async with host.recorder.step():
        row = await db.override(host.db.conn, override_id)
        if row is None:
            raise NotFound("没有此例外登记申请")
        desk = RouteDesk(host.recorder, K.OVERRIDE, "override_id", REFUSALS)
        if not approve:
            await desk.reject(override_routed(row), person, actor.account, paragraph(reason_text, "驳回理由", 500, 2))
            return None
        if not await desk.approve(override_routed(row), person, actor.account):
            return None
        purchase_id = _next_id("CG", await db.count(host.db.conn, "procurement_purchases"))
        flagged = {
            "id": override_id,
            "reason": row["reason"],
            "approvers": [*row["done"], person.id],
            "groups": row["groups"],
        }
        await host.recorder.record(K.PURCHASE_RECORDED, {
            **row["purchase"], "id": purchase_id, "override": flagged, "demand_id": None, "account": row["account"], "person": row["person"],
        })  # fmt: skip
    return purchase_id


def _decider(actor: Actor) -> Person:
    if actor.person is None or "approver" not in actor.roles:
        raise Refused("您的账号没有审批权限", "not_approver")
    return actor.person


# -- a demand: the village's approval, then up to the township ---------------------------------------------


def demand_routed(row: Mapping[str, Any]) -> Routed:
    barred = {row["person"]: ("self_approval", "不能审批自己提交的采购需求")} if row.get("person") else {}
    status = str(row["status"])
    return Routed(
        row["id"], status, db.DEMAND_STATUS[status], status == "pending", row["route"], tuple(row["done"]), barred
    )


async def file_demand(host: Any, actor: Actor, draft: DemandDraft, store: Store) -> str:
    """File a demand (its id) for the village's approval, with its document (``store``: kept once it is filed)."""
    _recorder(actor)
    async with host.recorder.step():
        barred = [actor.person_id] if actor.person_id else []
        route = route_for(
            settings_of(host.config.sections).demand, "procurement_demand", host.config.people, barred, "此采购需求"
        )
        demand_id = _next_id("XQ", await db.count(host.db.conn, "procurement_demands"))
        document = await store()
        body = {
            **draft.body(),
            "id": demand_id,
            "documents": [dict(document)] if document else [],
            "route": route,
            **_by(actor),
        }
        await host.recorder.record(K.DEMAND_FILED, body)
    return demand_id


async def decide_demand(host: Any, actor: Actor, demand_id: str, approve: bool, reason_text: str = "") -> bool:
    """An approver's decision on a demand; True when the village has approved it and it went up to the township."""
    person = _decider(actor)
    async with host.recorder.step():
        row = await _demand(host, demand_id)
        desk = RouteDesk(host.recorder, K.DEMAND, "demand_id", REFUSALS)
        if not approve:
            await desk.reject(demand_routed(row), person, actor.account, paragraph(reason_text, "驳回理由", 500, 2))
            return False
        if not await desk.approve(demand_routed(row), person, actor.account):
            return False
        # Up to the central: a self-contained copy, so the township reviews what the village approved.
        fields = ("id", "title", "category", "project", "lines", "ceiling_fen", "place", "delivery_date", "documents")
        up = {"demand_id": demand_id, "village": host.config.village, "demand": {k: row[k] for k in fields},
              "approvers": [*row["done"], person.id]}  # fmt: skip
        await host.recorder.record(K.DEMAND_SUBMITTED, up)
    return True


async def _demand(host: Any, demand_id: str, *statuses: str) -> dict[str, Any]:
    row = await db.demand(host.db.conn, demand_id)
    if row is None:
        raise NotFound("没有此采购需求")
    if statuses and row["status"] not in statuses:
        shown = "、".join(db.DEMAND_STATUS[s] for s in statuses)
        raise InputError(
            f"采购需求 {demand_id} 当前为“{db.DEMAND_STATUS[row['status']]}”，此步骤只能在“{shown}”时进行", "bad_state"
        )
    return row


# -- after the award: contract, delivery acceptance, payment -----------------------------------------------


async def sign_contract(
    host: Any, actor: Actor, demand_id: str, contract_no: str, signed_on: date, store: Store
) -> None:
    _recorder(actor)
    number = line(contract_no, "合同编号", 40)
    async with host.recorder.step():
        await _demand(host, demand_id, "awarded")
        file = await store()
        body = {
            "demand_id": demand_id,
            "contract_no": number,
            "signed_on": signed_on.isoformat(),
            "file": dict(file) if file else None,
        }
        await host.recorder.record(K.CONTRACT_SIGNED, {**body, **_by(actor)})


async def check_delivery(
    host: Any, actor: Actor, demand_id: str, received: Sequence[int], checked_on: date, store: Store
) -> bool:
    """Record a delivery checked against the demand's quantities; when every line matches, the purchase is
    recorded as a platform purchase at the awarded prices. True when it passed."""
    _recorder(actor)
    async with host.recorder.step():
        row = await _demand(host, demand_id, "contracted", "delivery_failed")
        demanded = [int(line["quantity"]) for line in row["lines"]]
        try:
            checks = rules.check_delivery(demanded, received)
        except ValueError as exc:
            raise InputError(str(exc), "bad_quantity") from None
        passed = all(c.ok for c in checks)
        message = rules.delivery_message(checks, [line["name"] for line in row["lines"]])
        photo = await store()
        body = {"demand_id": demand_id, "received": list(received), "passed": passed, "message": message,
                "photo": dict(photo) if photo else None, "checked_on": checked_on.isoformat()}  # fmt: skip
        items: list[tuple[str, Mapping[str, Any]]] = [(K.DELIVERY_CHECKED, {**body, **_by(actor)})]
        if passed:
            items.append(
                (
                    K.PURCHASE_RECORDED,
                    {
                        **_platform_purchase(row, checked_on, await db.count(host.db.conn, "procurement_purchases")),
                        **_by(actor),
                    },
                )
            )
        await host.recorder.record_many(items)
    return passed


def _platform_purchase(row: Mapping[str, Any], day: date, n: int) -> dict[str, Any]:
    award = row["award"]
    unit = {int(x["line"]): int(x["unit_fen"]) for x in award.get("lines") or ()}
    lines = []
    for i, line in enumerate(row["lines"], 1):
        price = unit.get(i)
        q = int(line["quantity"])
        lines.append(
            {
                "name": line["name"],
                "unit": line["unit"],
                "quantity": q,
                "unit_fen": price,
                "amount_fen": q * price if price else None,
            }
        )
    return {
        "id": _next_id("CG", n), "day": day.isoformat(), "category": row["category"], "project": row["project"],
        "supplier": award["supplier"]["name"], "channel": rules.PLATFORM, "amount_fen": int(award["amount_fen"]), "lines": lines,
        "invoice": None, "override": None, "demand_id": row["id"],
    }  # fmt: skip


async def record_payment(host: Any, actor: Actor, demand_id: str, amount_fen: int, paid_on: date, store: Store) -> int:
    """Record a payment to the winning supplier, never beyond what remains of the award; what remains after it."""
    _recorder(actor)
    async with host.recorder.step():
        row = await _demand(host, demand_id, "accepted")
        due = rules.payment_due(int(row["award"]["amount_fen"]), int(row["paid_fen"]))
        if amount_fen > due:
            raise InputError(f"付款金额超过未付余额 {yuan(due)}", "overpayment")
        voucher = await store()
        body = {
            "demand_id": demand_id,
            "amount_fen": amount_fen,
            "paid_on": paid_on.isoformat(),
            "voucher": dict(voucher) if voucher else None,
        }
        await host.recorder.record(K.PAYMENT_RECORDED, {**body, **_by(actor)})
    return due - amount_fen
