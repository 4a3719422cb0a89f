"""The small-project steps of a village: each reads the working state, decides by the rules and records,
inside one recorder step (``host``: the running agent, with its recorder, working database and config).

Filing prices the bill of quantities from the catalogue the edge holds (the township's, come down as a signed
document) and freezes the route of the project's category; each approval is recorded by the kernel's routing
desk. Then the village recommends its contractor, the township's draw comes down (re-run here before it applies),
the contractors quote sealed at the township, whose opening before a peer observer comes down (re-checked here),
and completion is settled against the budget. Catalogue, draw and opening are recorded only from verified
documents (or, in the demo, by :func:`record_demo_document`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import edge.modules.small_project.kinds as K
import edge.modules.small_project.projection as P
import edge.modules.small_project.rules as rules  # noqa: PLR0402 (no cycle through the package)
from edge.kernel.accounts import Actor
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.fmt import DEFAULT_MAX_AMOUNT_FEN, AmountError, parse_yuan
from edge.kernel.routing import RefusalBudget, Routed, RouteDesk
from edge.kernel.text import line, paragraph
from edge.modules.small_project.settings import route_for, settings_of

#: Who files a project: the village's book-keeper (村务人员) or an applicant of the roster.
FILER_ROLES = frozenset({"village_staff", "applicant"})
MAX_LINES = 200
REFUSALS = RefusalBudget()  # refused approvals on record, per person, item and hour, as the seal keeps them


@dataclass(frozen=True)
class ProjectDraft:
    name: str
    category: str
    place: str
    scope: str
    lines: Sequence[rules.BillLine]


def _by(actor: Actor) -> dict[str, Any]:
    return {"account": actor.account, "person": actor.person_id}


def routed(row: Mapping[str, Any]) -> Routed:
    barred = {row["person"]: ("self_approval", "不能审批自己申报的工程")} if row.get("person") else {}
    status = str(row["status"])
    return Routed(row["id"], status, P.STATUS[status], status == "pending", row["route"], tuple(row["done"]), barred)


async def file_project(host: Any, actor: Actor, draft: ProjectDraft) -> str:
    """File a project (its id) for the approval its category routes it to, its budget priced from the catalogue."""
    _filer(actor)
    name, place = line(draft.name, "工程名称", 60), line(draft.place, "工程地点", 60)
    scope = paragraph(draft.scope, "建设内容", 1000)
    if not 0 < len(draft.lines) <= MAX_LINES:
        raise InputError(f"工程量清单应为 1 到 {MAX_LINES} 行", "bad_lines")
    lines = [rules.BillLine(ln.code, ln.quantity, ln.price_fen, line(ln.reason, "高于指导价的理由", 200) if ln.reason.strip() else "")
             for ln in draft.lines]  # fmt: skip
    settings = settings_of(host.config.sections)
    async with host.recorder.step():
        catalogue = await P.current_catalogue(host.db.conn)
        if catalogue is None:
            raise InputError("尚未收到乡镇的指导价目录，暂不能申报", "no_catalogue")
        try:
            budget = rules.price_bill(catalogue, lines, settings.limit_fen)
        except rules.RuleError as exc:
            raise InputError(exc.message, "bad_budget") from None
        barred = [actor.person_id] if actor.person_id else []
        route = route_for(settings, draft.category, host.config.people, barred)
        project_id = f"GC-{await P.count(host.db.conn) + 1:05d}"
        await host.recorder.record(K.FILED, {
            "id": project_id, "name": name, "category": draft.category, "place": place, "scope": scope,
            "catalogue_version": budget.catalogue_version, "lines": [rules.line_body(p) for p in budget.lines],
            "total_fen": budget.total_fen, "route": route, **_by(actor),
        })  # fmt: skip
    return project_id


async def decide(host: Any, actor: Actor, project_id: str, approve: bool, reason: str = "") -> bool:
    """An approver's decision on a project on their route; True when it completes the route (approved)."""
    if actor.person is None or "approver" not in actor.roles:
        raise Refused("您的账号没有审批权限", "not_approver")
    why = paragraph(reason, "驳回理由", 500) if not approve else ""
    async with host.recorder.step():
        row = await P.project(host.db.conn, project_id)
        if row is None:
            raise NotFound("没有此工程")
        desk = RouteDesk(host.recorder, K.NAME, "project_id", REFUSALS)
        if not approve:
            await desk.reject(routed(row), actor.person, actor.account, why)
            return False
        return await desk.approve(routed(row), actor.person, actor.account)


def _filer(actor: Actor) -> None:
    if not actor.roles & FILER_ROLES:
        raise Refused("您的账号不能办理工程事项（需要村务人员或申请人角色）", "forbidden")


async def _project(host: Any, project_id: str, status: str) -> dict[str, Any]:
    row = await P.project(host.db.conn, project_id)
    if row is None:
        raise NotFound("没有此工程")
    if row["status"] != status:
        raise InputError(
            f"工程 {project_id} 当前为“{P.STATUS[row['status']]}”，此步骤只能在“{P.STATUS[status]}”时进行", "bad_state"
        )
    return row


def _value(value: str) -> str:
    """The village's value for the draw, as typed (checked, never stored before it is revealed)."""
    typed = line(value, "村随机值", rules.VALUE_MAX)
    if len(typed) < rules.VALUE_MIN:
        raise InputError(f"村随机值至少 {rules.VALUE_MIN} 个字（一句话或一串掷骰数字）", "bad_value")
    return typed


async def recommend(
    host: Any, actor: Actor, project_id: str, contractor_id: str, contractor_name: str, village_value: str
) -> None:
    """The village's recommended contractor (of the township's pool: the draw checks it is there), with the
    commitment to the village's value for the draw: only its SHA-256 is recorded; the clerk keeps the value.
    Until the township fixes the draw the village may recommend another (one the township found blacklisted)."""
    _filer(actor)
    contractor = {"id": line(contractor_id, "承包商编号", 40), "name": line(contractor_name, "承包商名称", 60)}
    commitment = rules.commitment_of(_value(village_value))
    async with host.recorder.step():
        await _project(host, project_id, "approved")
        inputs = await P.draw_inputs(host.db.conn, project_id)
        if inputs is not None and inputs["fixed"] is not None:  # before it, nothing random exists: it may change
            raise InputError("乡镇已固定抽取依据，不能再更换推荐的承包商", "already_fixed")
        await host.recorder.record(K.RECOMMENDED, {"project_id": project_id, "contractor": contractor,
                                                   "commitment": commitment, **_by(actor)})  # fmt: skip


async def reveal_value(host: Any, actor: Actor, project_id: str, village_value: str) -> None:
    """Reveal the village's value once the township has fixed the draw (so its checkpoint root existed before)."""
    _filer(actor)
    value = _value(village_value)
    async with host.recorder.step():
        await _project(host, project_id, "approved")
        inputs = await P.draw_inputs(host.db.conn, project_id)
        if inputs is None or inputs["fixed"] is None:
            raise InputError("乡镇固定并公布抽取依据后才能公布村随机值", "not_fixed")
        if inputs["value"] is not None:
            raise InputError("本村随机值已公布", "already_revealed")
        if rules.commitment_of(value) != inputs["commitment"]:
            raise InputError("随机值与推荐时提交的承诺不符，请核对记下的原文", "not_committed")
        await host.recorder.record(K.REVEALED, {"project_id": project_id, "value": value, **_by(actor)})


async def complete(host: Any, actor: Actor, project_id: str, accepted_on: date, settled_yuan: str) -> dict[str, int]:
    """Completion acceptance and settlement: the differences against the budget and the contract."""
    _filer(actor)
    try:
        settled = parse_yuan(settled_yuan, DEFAULT_MAX_AMOUNT_FEN)
    except AmountError as exc:
        raise InputError(f"结算金额：{exc.message}", "bad_amount") from None
    async with host.recorder.step():
        row = await _project(host, project_id, "awarded")
        await host.recorder.record(K.COMPLETED, {"project_id": project_id, "accepted_on": accepted_on.isoformat(),
                                                 "settled_fen": settled, **_by(actor)})  # fmt: skip
    return rules.settlement_difference(int(row["total_fen"]), int(row["winner"]["amount_fen"]), settled)


#: Which step may be shown in which state of the project: the works run from the award to the settlement.
_STAGE_STATES = {"contract": ("awarded",), "start": ("awarded",), "progress": ("awarded",),
                 "acceptance": ("awarded", "completed"), "settlement": ("completed",)}  # fmt: skip
#: Stores a checked upload when the step keeps it: ``{sha256, name, size}`` (the web layer makes it).
Store = Callable[[], Awaitable[Mapping[str, Any]]]


async def show_progress(host: Any, actor: Actor, project_id: str, stage: str, day: date, note: str, store: Store) -> None:
    """A step of the works on the notice board with its photo or document: the contract and the start once each
    (the start after the contract), progress any number of times, acceptance and settlement's papers."""
    _filer(actor)
    if stage not in K.STAGES:
        raise InputError(f"环节应为 {'、'.join(K.STAGES.values())} 之一", "bad_stage")
    text = paragraph(note, "说明", 300)
    async with host.recorder.step():
        row = await P.project(host.db.conn, project_id)
        if row is None:
            raise NotFound("没有此工程")
        if row["status"] not in _STAGE_STATES[stage]:
            raise InputError(f"工程当前为“{P.STATUS[row['status']]}”，不能公示“{K.STAGES[stage]}”", "bad_state")
        shown = {p["stage"] for p in await P.progress_of(host.db.conn, project_id)}
        if stage in ("contract", "start") and stage in shown:
            raise InputError(f"“{K.STAGES[stage]}”已公示", "already_shown")
        if stage == "start" and "contract" not in shown:
            raise InputError("请先公示签订的合同，再公示开工", "no_contract")
        stored = await store()  # kept only now: a refused step keeps no file
        await host.recorder.record(K.PROGRESS, {"project_id": project_id, "stage": stage, "day": day.isoformat(),
                                                "note": text, "file": dict(stored), **_by(actor)})  # fmt: skip


async def record_demo_document(host: Any, kind: str, body: Mapping[str, Any]) -> None:
    """Record what a township document would carry, for the demo only (its ``document`` says ``demo``): a real
    edge records these kinds only from the central's verified documents (the kernel's inbox)."""
    if kind not in K.DOCUMENT_KINDS:
        raise ValueError(f"not a document kind of small_project: {kind}")
    async with host.recorder.step():
        await host.recorder.record(kind, {**body, "document": {"id": "demo", "demo": True}})
