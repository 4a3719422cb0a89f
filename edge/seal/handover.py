"""Handing over an approval step (转交): the approver whose turn it is gives their step to another approver.

The route is frozen at filing (edge/kernel/routing.py); a hand-over changes one name on it, in its place (a
chain keeps its order), and nothing else: the approvals given stay, the number needed stays. The rules are
pure, so the request page offers exactly the people the desk would accept.

Who may receive a step: an approver of this village, who is neither the applicant nor the custodian of the
request's seal (they may not decide it at all), and who is not on the route already — one person holding two
steps would approve twice, and the two-person rule would fall.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.kernel.config import Person
from edge.kernel.routing import awaiting
from edge.seal.db import PENDING, RequestView


def handover_refusal(request: RequestView, giver: str, taker: Person, village: str) -> tuple[str, str] | None:
    """(code, Chinese message) when ``giver`` may not hand their step of ``request`` to ``taker``; None if they may."""
    if request.status != PENDING:
        return "not_pending", "申请不在待审批状态，不能转交"
    if giver not in awaiting(request.route, request.approvers_done, (request.applicant, request.custodian)):
        return "not_your_turn", "只有轮到审批的审批人可以转交"
    return taker_refusal(request, taker, village)


def taker_refusal(request: RequestView, taker: Person, village: str) -> tuple[str, str] | None:
    """(code, Chinese message) when ``taker`` may not receive a step of ``request``."""
    if taker.id == request.applicant:
        return "self_approval", "不能转交给申请人本人"
    if taker.id == request.custodian:
        return "custodian_approval", "不能转交给保管此印章的印章管理员"
    if not taker.has("approver") or taker.village != village:
        return "not_approver", "只能转交给本村的审批人"
    if taker.id in request.route.get("approvers", ()) or taker.id in request.approvers_done:
        return "already_on_route", "此人已在审批路线上，转交会让一人审批两次"
    return None


def takers(request: RequestView, people: Mapping[str, Person], village: str) -> list[Person]:
    """Everyone a step of ``request`` may be handed to, in the roster's order."""
    return [p for p in people.values() if taker_refusal(request, p, village) is None]


def handed_route(route: Mapping[str, Any], giver: str, taker: str) -> dict[str, Any]:
    """The route with ``taker`` in ``giver``'s place."""
    return {**route, "approvers": [taker if a == giver else a for a in route["approvers"]]}
