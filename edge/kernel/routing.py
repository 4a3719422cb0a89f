"""Routing of approvals (审批), for every part: the pure rules, and one desk that records the decisions.

A routed item's route is frozen when it is filed (``{"rule", "mode", "n", "approvers"}``): ``chain`` needs
every approver in the given order, ``n_of_m`` any ``n`` distinct approvers of the list. Separation of duties
comes first: each item names the persons barred from deciding it, each with the refusal's code and message
(the seal bars the applicant and the custodian of its device, even if some route lists them). Any approver on
the route who has not approved yet may reject it (a veto), in any order.

The rules are pure functions of the item and the person, so the console's 待审批 inbox, the notifier and the
desk all ask the same question the same way. The desk records under the caller's ledger prefix
(``<prefix>.approval``, ``.approved``, ``.approval_refused``, ``.rejected``) with the item's id under the
caller's key (the seal: ``request_id``), inside the caller's recorder step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from edge.kernel.config import Person
from edge.kernel.errors import InputError, Refused

CHAIN, N_OF_M = "chain", "n_of_m"

#: Refusal codes, in Chinese for the ledger page and the console.
REFUSAL_NAMES = {
    "self_approval": "审批自己的申请", "custodian_approval": "印章管理员审批", "not_on_route": "不在审批路线上",
    "out_of_order": "未按顺序审批", "already_approved": "重复审批", "not_pending": "申请已不在待审批状态",
}  # fmt: skip


@dataclass(frozen=True)
class Routed:
    """What the rules read of a routed item (a seal request, a project, a work order, ...)."""

    id: str
    status: str  # the part's own status code
    status_name: str  # ... in Chinese
    pending: bool  # still awaiting decisions
    route: Mapping[str, Any]
    done: tuple[str, ...]  # who approved, in order
    barred: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # person -> (refusal code, message)


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one approval or rejection."""

    ok: bool
    code: str = "ok"
    message: str = ""
    final: bool = False  # this approval completes the route


def progress(item: Routed) -> tuple[int, int, str | None]:
    """(approvals so far, approvals needed, who is next in a chain — None for n_of_m or when done)."""
    approvers = item.route["approvers"]
    nxt = approvers[len(item.done)] if item.route["mode"] == CHAIN and len(item.done) < len(approvers) else None
    return len(item.done), int(item.route["n"]), nxt


def awaiting(route: Mapping[str, Any], done: Sequence[str], barred: Collection[str]) -> list[str]:
    """Who may approve next: the next approver of a chain, or every approver of N of M not barred and not done."""
    approvers = list(route["approvers"])
    if len(done) >= int(route["n"]):
        return []
    if route["mode"] == CHAIN:
        return approvers[len(done) : len(done) + 1]
    return [a for a in approvers if a not in barred and a not in done]


def to_tell(route: Mapping[str, Any], barred: Collection[str], approvals: int | None) -> list[str]:
    """Who is told that an item awaits them: when it is filed (``approvals`` None), everyone it awaits (the first
    of a chain, every eligible approver of N of M); after the ``approvals``-th approval of a chain, the next one.
    After an approval of N of M nobody new: all were told at filing."""
    if approvals is None:
        return awaiting(route, (), barred)
    if route["mode"] != CHAIN:
        return []
    return awaiting(route, route["approvers"][:approvals], ())


def _separation(item: Routed, person: Person) -> Verdict | None:
    if not item.pending:
        return Verdict(False, "not_pending", f"申请{item.status_name}，不能再审批")
    if person.id in item.barred:
        code, message = item.barred[person.id]
        return Verdict(False, code, message)
    if not person.has("approver") or person.id not in item.route["approvers"]:
        return Verdict(False, "not_on_route", f"{person.name}({person.id}) 不在此申请的审批路线上")
    return None


def check_approval(item: Routed, person: Person) -> Verdict:
    refusal = _separation(item, person)
    if refusal is not None:
        return refusal
    if person.id in item.done:
        return Verdict(False, "already_approved", "已审批过，不能重复审批")
    done, needed, nxt = progress(item)
    if nxt is not None and nxt != person.id:
        return Verdict(False, "out_of_order", f"顺序审批，应由 {nxt} 先审批")
    return Verdict(True, final=done + 1 >= needed)


def check_rejection(item: Routed, person: Person) -> Verdict:
    """Any approver on the route who has not approved yet may reject (a veto), in any order."""
    refusal = _separation(item, person)
    if refusal is not None:
        return refusal
    if person.id in item.done:
        return Verdict(False, "already_approved", "已批准，不能再驳回")
    return Verdict(True, final=True)


def why_not(item: Routed, person_id: str | None, name_of: Callable[[str], str]) -> str | None:
    """Why ``person_id`` cannot decide ``item`` now, in Chinese for the console; None when it is their turn."""
    if person_id is None or person_id not in item.route.get("approvers", ()):
        return "您不在此申请的审批路线上"
    if not item.pending:
        return "申请已不在待审批状态"
    if person_id in item.done:
        return "您已审批过此申请"
    _, _, nxt = progress(item)
    if nxt is not None and nxt != person_id:
        return f"顺序审批，应由 {name_of(nxt)} 先审批"
    return None


def check_route_possible(name: str, mode: str, n: int, approvers: Sequence[str], barred: Collection[str], who: str) -> None:
    """Refuse at filing an item that nobody could ever approve under separation of duties (``who``: whose item,
    as the message says it)."""
    if mode == CHAIN:
        blocked = [a for a in approvers if a in barred]
        if blocked:
            raise InputError(
                f"审批路线 {name} 含申请人或印章管理员 {'、'.join(blocked)}，此申请无法审批，请由其他人提交",
                "route_impossible",
            )
    else:
        eligible = [a for a in approvers if a not in barred]
        if len(eligible) < n:
            raise InputError(
                f"审批路线 {name} 可审批人不足：需要 {n} 人，只有 {len(eligible)} 人可以审批{who}",
                "route_impossible",
            )


@dataclass
class RefusalBudget:
    """How many refused approvals of one person on one item are recorded per window.

    A refusal is recorded so that supervisors see attempts against the rules; a person clicking
    "approve" in a loop must not fill the ledger, so beyond ``per_request`` in ``window_s`` the
    refusal is still given to them but no longer recorded (the recorded ones say so).
    """

    per_request: int = 3
    window_s: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def take(self, person: str, item_id: str) -> int | None:
        """The number of this refusal within the window if it is to be recorded, else None."""
        now = self.clock()
        for key in [k for k, times in self._seen.items() if times[-1] <= now - self.window_s]:
            del self._seen[key]  # forget what is past the window, so memory stays bounded by recent activity
        times = [t for t in self._seen.get((person, item_id), []) if t > now - self.window_s]
        if len(times) >= self.per_request:
            return None
        times.append(now)
        self._seen[(person, item_id)] = times
        return len(times)


class Records(Protocol):
    """What the desk needs of the recorder (``edge.kernel.recorder.Recorder``), inside the caller's step."""

    async def record(self, kind: str, body: Mapping[str, Any]) -> Any: ...

    async def record_many(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> Any: ...


class RouteDesk:
    """Records decisions on routed items under the caller's prefix; call inside the caller's recorder step."""

    def __init__(self, recorder: Records, prefix: str, id_key: str, refusals: RefusalBudget) -> None:
        self.recorder = recorder
        self.prefix = prefix
        self.id_key = id_key
        self.refusals = refusals

    async def approve(self, item: Routed, person: Person, account: str) -> bool:
        """Record ``person``'s approval (and the item's approval when it completes the route): True then.
        A refused approval is recorded (within the budget) and raised as :class:`Refused`."""
        verdict = check_approval(item, person)
        if not verdict.ok:
            await self._refuse(item, person, account, verdict)
        done, needed, _ = progress(item)
        approval = {self.id_key: item.id, "approver": person.id, "account": account, "count": done + 1, "needed": needed}
        items: list[tuple[str, dict[str, Any]]] = [(f"{self.prefix}.approval", approval)]
        if verdict.final:
            items.append((f"{self.prefix}.approved", {self.id_key: item.id, "approvers": [*item.done, person.id]}))
        await self.recorder.record_many(items)
        return verdict.final

    async def reject(self, item: Routed, person: Person, account: str, reason: str) -> None:
        verdict = check_rejection(item, person)
        if not verdict.ok:
            await self._refuse(item, person, account, verdict)
        await self.recorder.record(
            f"{self.prefix}.rejected", {self.id_key: item.id, "approver": person.id, "account": account, "reason": reason}
        )

    async def _refuse(self, item: Routed, person: Person, account: str, verdict: Verdict) -> None:
        attempt = self.refusals.take(person.id, item.id)
        if attempt is not None:
            await self.recorder.record(
                f"{self.prefix}.approval_refused",
                {self.id_key: item.id, "person": person.id, "account": account, "reason": verdict.code, "message": verdict.message,
                 "status": item.status, "attempt": attempt, "recorded_at_most": self.refusals.per_request},
            )  # fmt: skip
        raise Refused(verdict.message, verdict.code)
