"""Approval rules (审批): separation of duties and the progress of a route. Pure functions.

A request's route is frozen when it is filed: ``chain`` needs every approver
in the given order, ``n_of_m`` any ``n`` distinct approvers of the list.
Nobody approves their own request, and the custodian of the device the seal
is in never approves its use — even if some route lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.config import DeviceConfig, Person, RouteRule
from edge.db import PENDING, STATUS_NAMES, RequestView
from edge.errors import InputError


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one approval or rejection."""

    ok: bool
    code: str = "ok"
    message: str = ""
    final: bool = False  # this approval completes the route


def _refuse(code: str, message: str) -> Verdict:
    return Verdict(False, code, message)


def progress(request: RequestView) -> tuple[int, int, str | None]:
    """(approvals so far, approvals needed, who is next in a chain — None for n_of_m or when done)."""
    done = request.approvers_done
    route = request.route
    needed = int(route["n"])
    nxt = None
    if route["mode"] == "chain" and len(done) < len(route["approvers"]):
        nxt = route["approvers"][len(done)]
    return len(done), needed, nxt


def _separation(request: RequestView, person: Person) -> Verdict | None:
    if request.status != PENDING:
        status = STATUS_NAMES.get(request.status, request.status)
        return _refuse("not_pending", f"申请{status}，不能再审批 request {request.id} is {request.status}, not pending")
    if person.id == request.applicant:
        return _refuse("self_approval", f"不能审批自己的申请 {person.id} cannot approve their own request {request.id}")
    if person.id == request.custodian:
        return _refuse(
            "custodian_approval",
            f"印章管理员不能审批其保管印章的用印 {person.id} is the custodian of {request.device_name} "
            f"and cannot approve its use ({request.id})",
        )
    if not person.has("approver") or person.id not in request.route["approvers"]:
        return _refuse(
            "not_on_route", f"{person.name}({person.id}) 不在此申请的审批路线上 is not an approver on the route of {request.id}"
        )
    return None


def check_approval(request: RequestView, person: Person) -> Verdict:
    refusal = _separation(request, person)
    if refusal is not None:
        return refusal
    if person.id in request.approvers_done:
        return _refuse("already_approved", f"已审批过 {person.id} has already approved {request.id}")
    done, needed, nxt = progress(request)
    if nxt is not None and nxt != person.id:
        return _refuse(
            "out_of_order", f"顺序审批，应由 {nxt} 先审批 chain route of {request.id}: {nxt} approves next, not {person.id}"
        )
    return Verdict(True, final=done + 1 >= needed)


def check_rejection(request: RequestView, person: Person) -> Verdict:
    """Any approver on the route who has not approved yet may reject (a veto), in any order."""
    refusal = _separation(request, person)
    if refusal is not None:
        return refusal
    if person.id in request.approvers_done:
        return _refuse("already_approved", f"已批准，不能再驳回 {person.id} already approved {request.id}")
    return Verdict(True, final=True)


def check_route_possible(route: RouteRule, applicant: Person, device: DeviceConfig) -> None:
    """Refuse at filing a request that nobody could ever approve under separation of duties."""
    barred = {applicant.id, device.custodian}
    if route.mode == "chain":
        blocked = [a for a in route.approvers if a in barred]
        if blocked:
            raise InputError(
                f"审批路线 {route.name} 含申请人或印章管理员 {', '.join(blocked)}，此申请无法审批 "
                f"route {route.name} needs {', '.join(blocked)}, who may not approve this request; "
                "another applicant must file it",
                "route_impossible",
            )
    else:
        eligible = [a for a in route.approvers if a not in barred]
        if len(eligible) < route.n:
            raise InputError(
                f"审批路线 {route.name} 可审批人不足 route {route.name} needs {route.n} approvers but only "
                f"{len(eligible)} may approve a request by {applicant.id} on {device.name}",
                "route_impossible",
            )
