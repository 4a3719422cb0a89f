"""``[work_order]``: who decides in labour dispatch, by their roster ids.

    [work_order]
    head = "zhangwei"     # 村主要负责人: signs each work order (and each emergency order)
    lead = "zhaolei"      # 分管领导: checks each pay list
    finance = "chenjing"  # 财务: approves each pay list, then records the bank transfer
    station_head = "wangfang"  # 站长: keeps the attendance sheet (出勤表)

    [work_order.areas]    # each area (片区) of the pool -> the committee member who supervises it
    "红丰一片" = "zhaolei"

Head, lead, finance and each area's supervisor must be a person of the roster holding the ``approver`` role (a
committee member), the station head a person of the roster; the lead is never finance (the two checks of a pay
list are two people). Attendance is then recorded by the station head or by the supervisor of an area of the
order's dispatched workers; with neither configured, by anyone bound to the roster (as before). Without the table the roster's approvers stand in, in the order the
config lists them: the first is the head, the second finance, the third (or the first again) the lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.kernel.errors import ConfigError
from edge.kernel.toml import ConfigSection, Table

NAME = "work_order"


@dataclass(frozen=True)
class Officers:
    head: str | None = None
    lead: str | None = None
    finance: str | None = None
    station_head: str | None = None
    areas: tuple[tuple[str, str], ...] = ()  # (area, the committee member supervising it)

    def supervisors(self) -> dict[str, str]:
        return dict(self.areas)


def parse(table: Table) -> Officers:
    areas = table.table("areas", False)
    supervised = tuple((area, areas.string(area)) for area in areas.raw)
    officers = Officers(table.string("head", False) or None, table.string("lead", False) or None, table.string("finance", False) or None,
                        table.string("station_head", False) or None, supervised)  # fmt: skip
    table.done()
    if officers.lead is not None and officers.lead == officers.finance:
        raise ConfigError("配置错误 [work_order]: 分管领导与财务不能是同一人")
    return officers


SECTION = ConfigSection(NAME, parse)


def officers(config: Any) -> Officers:
    """The officers of this edge, each checked against the roster (an approver); the roster fills the gaps."""
    given = config.sections.get(NAME) or Officers()
    approvers = [p.id for p in config.people.values() if p.has("approver")]
    if len(approvers) < 2 and None in (given.head, given.finance):
        raise ConfigError("用工派工需要至少两名审批人（村主要负责人、财务）：请在 [work_order] 中配置 head、lead、finance")
    head = given.head or approvers[0]
    finance = given.finance or next(a for a in approvers if a != head)
    lead = given.lead or next((a for a in approvers if a not in (head, finance)), head)
    for role, person in (("head", head), ("lead", lead), ("finance", finance)):
        found = config.people.get(person)
        if found is None or not found.has("approver"):
            raise ConfigError(f"配置错误 [work_order].{role}: {person!r} 不是名册中的审批人")
    if lead == finance:
        raise ConfigError("配置错误 [work_order]: 分管领导与财务不能是同一人")
    for area, person in given.areas:
        found = config.people.get(person)
        if found is None or not found.has("approver"):
            raise ConfigError(f"配置错误 [work_order.areas].{area}: {person!r} 不是名册中的两委成员（审批人）")
    if given.station_head is not None and given.station_head not in config.people:
        raise ConfigError(f"配置错误 [work_order].station_head: {given.station_head!r} 不在名册中")
    return Officers(head, lead, finance, given.station_head, given.areas)
