"""The small-project steps of a village: each reads the working state, decides by the rules and records,
inside one recorder step (``host``: the running agent, with its recorder, working database and config).

Filing prices the bill of quantities from the catalogue the edge holds (the township's, come down as a signed
document) and freezes the route of the project's category; each approval is recorded by the kernel's routing
desk. The catalogue itself is recorded only from a verified document (or, in the demo, by :func:`seed_catalogue`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import edge.modules.small_project.kinds as K
import edge.modules.small_project.projection as P
import edge.modules.small_project.rules as rules  # noqa: PLR0402 (no cycle through the package)
from edge.kernel.config import Person
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.routing import RefusalBudget, Routed, RouteDesk
from edge.modules.small_project.settings import route_for, settings_of

#: Who files a project: the village's book-keeper (村务人员) or an applicant of the roster.
FILER_ROLES = frozenset({"village_staff", "applicant"})
MAX_LINES = 200
REFUSALS = RefusalBudget()  # refused approvals on record, per person, item and hour, as the seal keeps them


@dataclass(frozen=True)
class Actor:
    """Who takes a step: the console account, and the roster person it acts for (if any)."""

    account: str
    person: Person | None
    roles: frozenset[str]

    @property
    def person_id(self) -> str | None:
        return self.person.id if self.person else None


@dataclass(frozen=True)
class ProjectDraft:
    name: str
    category: str
    place: str
    scope: str
    lines: Sequence[rules.BillLine]


def text(value: object, what: str, limit: int, multiline: bool = False) -> str:
    """Text as typed: NFC, no control characters (line breaks only where ``multiline``), 1..``limit`` characters."""
    cleaned = unicodedata.normalize("NFC", value if isinstance(value, str) else "").strip()
    allowed = {"\n"} if multiline else set()
    if any(unicodedata.category(ch)[0] == "C" and ch not in allowed for ch in cleaned.replace("\r\n", "\n")):
        raise InputError(f"{what}含有控制字符，请重新输入", "bad_text")
    if not cleaned:
        raise InputError(f"请填写{what}", "missing_field")
    if len(cleaned) > limit:
        raise InputError(f"{what}过长：最多 {limit} 个字", "bad_text")
    return cleaned.replace("\r\n", "\n")


def _by(actor: Actor) -> dict[str, Any]:
    return {"account": actor.account, "person": actor.person_id}


def routed(row: Mapping[str, Any]) -> Routed:
    barred = {row["person"]: ("self_approval", "不能审批自己申报的工程")} if row.get("person") else {}
    status = str(row["status"])
    return Routed(row["id"], status, P.STATUS[status], status == "pending", row["route"], tuple(row["done"]), barred)


async def file_project(host: Any, actor: Actor, draft: ProjectDraft) -> str:
    """File a project (its id) for the approval its category routes it to, its budget priced from the catalogue."""
    if not actor.roles & FILER_ROLES:
        raise Refused("您的账号不能申报工程（需要村务人员或申请人角色）", "forbidden")
    name, place = text(draft.name, "工程名称", 60), text(draft.place, "工程地点", 60)
    scope = text(draft.scope, "建设内容", 1000, multiline=True)
    if not 0 < len(draft.lines) <= MAX_LINES:
        raise InputError(f"工程量清单应为 1 到 {MAX_LINES} 行", "bad_lines")
    lines = [rules.BillLine(ln.code, ln.quantity, ln.price_fen, text(ln.reason, "高于指导价的理由", 200) if ln.reason.strip() else "")
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
    why = text(reason, "驳回理由", 500, multiline=True) if not approve else ""
    async with host.recorder.step():
        row = await P.project(host.db.conn, project_id)
        if row is None:
            raise NotFound("没有此工程")
        desk = RouteDesk(host.recorder, K.NAME, "project_id", REFUSALS)
        if not approve:
            await desk.reject(routed(row), actor.person, actor.account, why)
            return False
        return await desk.approve(routed(row), actor.person, actor.account)


async def seed_catalogue(host: Any, body: Mapping[str, Any], document: Mapping[str, Any]) -> None:
    """Record a catalogue whose document the caller stands for: the demo's (``{"id": "demo", "demo": True}``).
    A real edge records catalogues only from the township's verified documents (the kernel's inbox)."""
    rules.parse_catalogue(body)
    async with host.recorder.step():
        await host.recorder.record(K.CATALOGUE, {**body, "document": dict(document)})
