"""Approval rules (审批): separation of duties and the progress of a route, who acted, and how often a
refusal is worth recording.

A request's route is frozen when it is filed: ``chain`` needs every approver
in the given order, ``n_of_m`` any ``n`` distinct approvers of the list.
Nobody approves their own request, and the custodian of the device the seal
is in never approves its use — even if some route lists them.

Each decision names the person *and* the account that acted for them: a
console account, or ``host:<user>`` when the host's operator acted at the
command line (or a program on the host through the Python API).
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.db import PENDING, STATUS_NAMES, RequestView
from edge.kernel.config import DeviceConfig, Person, RouteRule
from edge.kernel.errors import InputError


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one approval or rejection."""

    ok: bool
    code: str = "ok"
    message: str = ""
    final: bool = False  # this approval completes the route


HOST_OPERATOR_PREFIX = "host:"  # console usernames cannot contain ":" (edge/web/accounts.py)


def host_operator() -> str:
    """The account of whoever acts at this host's command line: the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        user = "unknown"
    return HOST_OPERATOR_PREFIX + user


@dataclass
class RefusalBudget:
    """How many refused approvals of one person on one request are recorded per window.

    A refusal is recorded so that supervisors see attempts against the rules; a person clicking
    "approve" in a loop must not fill the ledger, so beyond ``per_request`` in ``window_s`` the
    refusal is still given to them but no longer recorded (the recorded ones say so).
    """

    per_request: int = 3
    window_s: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def take(self, person: str, request_id: str) -> int | None:
        """The number of this refusal within the window if it is to be recorded, else None."""
        now = self.clock()
        for key in [k for k, times in self._seen.items() if times[-1] <= now - self.window_s]:
            del self._seen[key]  # forget what is past the window, so memory stays bounded by recent activity
        times = [t for t in self._seen.get((person, request_id), []) if t > now - self.window_s]
        if len(times) >= self.per_request:
            return None
        times.append(now)
        self._seen[(person, request_id)] = times
        return len(times)


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
