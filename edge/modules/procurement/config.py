"""``[procurement]`` in the edge's TOML: who approves a demand, and who is the second approver of an override.

Every key is optional. Without them a demand, and an offline purchase the rule refused, each need one
approval of any approver on the village's roster (n_of_m, n = 1) other than the person who asked::

    [procurement]
    demand_approvers = ["zhangwei", "chenjing"]   # the village's approval of a demand
    demand_mode = "chain"                         # chain: each in order; n_of_m: any demand_n of them
    override_approvers = ["zhangwei", "zhaolei"]  # the second approver of an override
    override_n = 1

The approvers are checked against the roster when an item is filed (the roster may come from the central).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edge.kernel.config import ROUTE_MODES, Person
from edge.kernel.errors import InputError
from edge.kernel.routing import CHAIN, N_OF_M, check_route_possible
from edge.kernel.toml import ConfigSection, Table
from edge.modules.procurement.kinds import NAME


@dataclass(frozen=True)
class RouteSetting:
    approvers: tuple[str, ...] = ()  # empty: every approver of the roster
    mode: str = N_OF_M
    n: int = 1


@dataclass(frozen=True)
class ProcurementSettings:
    demand: RouteSetting = RouteSetting()
    override: RouteSetting = RouteSetting()


def _route(t: Table, prefix: str, modes: bool) -> RouteSetting:
    approvers = t.strings(f"{prefix}_approvers", required=False)
    mode = (t.string(f"{prefix}_mode", required=False) or N_OF_M) if modes else N_OF_M
    if mode not in ROUTE_MODES:
        raise t.fail(f"{prefix}_mode", f"应为 chain 或 n_of_m，收到 {mode!r}")
    n = t.integer(f"{prefix}_n", 1, minimum=1) or 1
    if approvers and mode == N_OF_M and n > len(approvers):
        raise t.fail(f"{prefix}_n", f"应在 1 到 {len(approvers)}（审批人数）之间，收到 {n}")
    return RouteSetting(approvers, mode, len(approvers) if mode == CHAIN else n)


def parse(t: Table) -> ProcurementSettings:
    settings = ProcurementSettings(_route(t, "demand", True), _route(t, "override", False))
    t.done()
    return settings


SECTION = ConfigSection(NAME, parse)


def settings_of(sections: Mapping[str, Any]) -> ProcurementSettings:
    found = sections.get(NAME)
    return found if isinstance(found, ProcurementSettings) else ProcurementSettings()


def route_for(
    setting: RouteSetting, name: str, people: Mapping[str, Person], barred: Sequence[str], who: str
) -> dict[str, Any]:
    """The route frozen into an item when it is filed; refused when nobody could approve it."""
    approvers = setting.approvers or tuple(sorted(p.id for p in people.values() if p.has("approver")))
    for a in approvers:
        if a not in people or not people[a].has("approver"):
            raise InputError(f"[procurement] 配置的审批人 {a} 不是名册中的审批人，请管理员改正配置", "bad_route")
    if not approvers:
        raise InputError("名册中没有审批人，无法提交审批", "route_impossible")
    n = len(approvers) if setting.mode == CHAIN else min(setting.n, len(approvers))
    check_route_possible(name, setting.mode, n, approvers, barred, who)
    return {"rule": name, "mode": setting.mode, "n": n, "approvers": list(approvers)}
