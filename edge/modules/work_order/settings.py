"""``[work_order]``: who decides in labour dispatch, by their roster ids.

    [work_order]
    head = "zhangwei"     # 村主要负责人: signs each work order (and each emergency order)
    lead = "zhaolei"      # 分管领导: checks each pay list
    finance = "chenjing"  # 财务: approves each pay list, then records the bank transfer

Each must be a person of the roster holding the ``approver`` role, and the lead is never finance (the two
checks of a pay list are two people). Without the table the roster's approvers stand in, in the order the
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


def parse(table: Table) -> Officers:
    officers = Officers(table.string("head", False) or None, table.string("lead", False) or None, table.string("finance", False) or None)
    table.done()
    if officers.lead is not None and officers.lead == officers.finance:
        raise ConfigError("配置错误 [work_order]: 分管领导与财务不能是同一人 lead and finance must be two people")
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
            raise ConfigError(f"配置错误 [work_order].{role}: {person!r} 不是名册中的审批人 is not an approver of the roster")
    if lead == finance:
        raise ConfigError("配置错误 [work_order]: 分管领导与财务不能是同一人 lead and finance must be two people")
    return Officers(head, lead, finance)
