"""``[small_project]`` in the edge's TOML: the limit and who approves a project of each category.

Every key is optional::

    [small_project]
    limit_yuan = "400000.00"          # a project's budget must be below this (限额以下)

    [[small_project.routes]]          # who approves a project of these categories, routed by the kernel's desk
    name = "道路水利"
    categories = ["道路", "水利"]
    mode = "chain"                    # chain: each in order; n_of_m: any n of them
    approvers = ["zhangwei", "chenjing"]
    township = ["zhenshen"]           # then these township officers (central accounts), in order, at the central

Without routes a project of any of the default categories needs one approval of any approver on the roster
other than the person who filed it. With routes, the categories are exactly those the routes name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import edge.modules.small_project.rules as rules  # noqa: PLR0402 (no cycle through the package)
from edge.kernel.config import ROUTE_MODES, Person
from edge.kernel.errors import InputError
from edge.kernel.fmt import FEN_PER_YUAN, AmountError, parse_yuan
from edge.kernel.routing import CHAIN, N_OF_M, check_route_possible
from edge.kernel.toml import ConfigSection, Table
from edge.modules.small_project.kinds import NAME

DEFAULT_CATEGORIES = ("道路", "水利", "房建", "绿化", "其他")
MAX_LIMIT_FEN = (
    4_000_000 * FEN_PER_YUAN
)  # 400 万元: the national tender threshold of works; no small-project limit is above it


@dataclass(frozen=True)
class ProjectRoute:
    name: str
    categories: tuple[str, ...]
    mode: str = N_OF_M
    approvers: tuple[str, ...] = ()  # empty: every approver of the roster
    n: int = 1
    township: tuple[str, ...] = ()  # the township's steps after the village's: central usernames, in order


@dataclass(frozen=True)
class ProjectSettings:
    limit_fen: int = rules.DEFAULT_LIMIT_FEN
    routes: tuple[ProjectRoute, ...] = ()

    @property
    def categories(self) -> tuple[str, ...]:
        if not self.routes:
            return DEFAULT_CATEGORIES
        return tuple(dict.fromkeys(c for r in self.routes for c in r.categories))


def _route(t: Table, i: int) -> ProjectRoute:
    name = t.string("name", required=False) or f"限额工程路线{i + 1}"
    categories = t.strings("categories")
    mode = t.string("mode", required=False) or N_OF_M
    if mode not in ROUTE_MODES:
        raise t.fail("mode", f"应为 chain 或 n_of_m，收到 {mode!r}")
    approvers = t.strings("approvers", required=False)
    n = t.integer("n", 1, minimum=1) or 1
    if approvers and mode == N_OF_M and n > len(approvers):
        raise t.fail("n", f"应在 1 到 {len(approvers)}（审批人数）之间，收到 {n}")
    township = t.strings("township", required=False)
    t.done()
    return ProjectRoute(name, categories, mode, approvers, len(approvers) if mode == CHAIN else n, township)


def parse(t: Table) -> ProjectSettings:
    text = t.string("limit_yuan", required=False)
    try:
        limit = parse_yuan(text, MAX_LIMIT_FEN) if text else rules.DEFAULT_LIMIT_FEN
    except AmountError as exc:
        raise t.fail("limit_yuan", exc.message) from None
    routes = tuple(_route(r, i) for i, r in enumerate(t.array("routes"))) if "routes" in t.raw else ()
    seen: set[str] = set()
    for r in routes:
        twice = seen & set(r.categories)
        if twice:
            raise t.fail("routes", f"类别 {'、'.join(sorted(twice))} 出现在两条审批路线中")
        seen |= set(r.categories)
    t.done()
    return ProjectSettings(limit, routes)


SECTION = ConfigSection(NAME, parse)


def settings_of(sections: Mapping[str, Any]) -> ProjectSettings:
    found = sections.get(NAME)
    return found if isinstance(found, ProjectSettings) else ProjectSettings()


def route_for(
    settings: ProjectSettings, category: str, people: Mapping[str, Person], barred: Sequence[str]
) -> dict[str, Any]:
    """The route frozen into a project when it is filed, by its category; refused when nobody could approve it."""
    if category not in settings.categories:
        raise InputError(f"工程类别应为 {'、'.join(settings.categories)} 之一", "bad_category")
    rule = next((r for r in settings.routes if category in r.categories), ProjectRoute("限额工程审批", (category,)))
    approvers = rule.approvers or tuple(sorted(p.id for p in people.values() if p.has("approver")))
    for a in approvers:
        if a not in people or not people[a].has("approver"):
            raise InputError(f"[small_project] 配置的审批人 {a} 不是名册中的审批人，请管理员改正配置", "bad_route")
    if not approvers:
        raise InputError("名册中没有审批人，无法提交审批", "route_impossible")
    n = len(approvers) if rule.mode == CHAIN else min(rule.n, len(approvers))
    check_route_possible(rule.name, rule.mode, n, approvers, barred, "此工程")
    return {"rule": rule.name, "mode": rule.mode, "n": n, "approvers": list(approvers), "township": list(rule.township)}
