"""Seal requests (用印申请): filing, approving, rejecting and expiring them.

Each step checks its input against the config and the working state, then
records what happened in the ledger (which also updates the database). Bad
input raises :class:`InputError` and changes nothing; a refusal under the
approval rules is recorded (``seal_request.approval_refused``, a few times per
person and request at most) and raised as :class:`Refused`. Every decision
names the account that acted for the person.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge.kernel.accounts import host_operator
from edge.kernel.config import SEAL_KINDS, SEAL_NAMES, DeviceConfig, EdgeConfig, Person, RouteRule, UseHours
from edge.kernel.documents import StoredDocument, check_source, store_document, verify_stored
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.fmt import AmountError, check_fen, parse_yuan
from edge.kernel.recorder import Recorder
from edge.kernel.routing import RefusalBudget, Routed, RouteDesk, awaiting, check_approval, check_route_possible
from edge.ledger.wire import ROSTER_ROLES
from edge.seal import projection as P
from edge.seal.db import PENDING, READING, STATUS_NAMES, EdgeDB, RequestView
from edge.seal.handover import handed_route, handover_refusal
from edge.seal.hours import closed_message, grant_window_s, hours_of_device, urgent_route, window_end
from edge.seal.regrant import approval_lifetime_end, regrant_refusal

MAX_PRESSES = 100  # the device refuses more in one grant (firmware/board.py)
MAX_MATTER_CHARS = 500
MAX_REASON_CHARS = 500
NO_AMOUNT = 0  # a request that states no amount (a certificate, a letter): routed as 0 fen
ROUTED_PREFIX = "seal_request"  # the routing desk records seal_request.approval, .approved, ...
# How long filing waits for the original to be read (edge/seal/reading.py) before it answers: a page read on an
# idle edge takes about a second, so the applicant usually sees the request pending with both amounts; behind
# a burst of photos in the OCR workers it answers sooner than the read, with the request in READING, which
# becomes pending (route frozen) when the read is recorded.
FILING_READ_WAIT_S = 8.0


def routed(request: RequestView) -> Routed:
    """A request as the routing rules read it: its applicant and the custodian of its device may not decide it."""
    barred = {
        request.custodian: (
            "custodian_approval",
            f"印章管理员不能审批其保管印章的用印 {request.custodian} is the custodian of {request.device_name} "
            f"and cannot approve its use ({request.id})",
        ),
        request.applicant: ("self_approval", f"不能审批自己的申请 {request.applicant} cannot approve their own request {request.id}"),
    }  # the applicant's refusal wins when one person is both (it was checked first)
    return Routed(
        request.id, request.status, STATUS_NAMES.get(request.status, request.status), request.status == PENDING,
        request.route, tuple(request.approvers_done), barred,
    )  # fmt: skip


@dataclass(frozen=True)
class Filing:
    """A request checked against the config, before its document is stored."""

    applicant: Person
    matter: str
    seal: str
    presses: int
    amount_fen: int
    device: DeviceConfig
    route: RouteRule


def parse_time(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


def amount_from_text(config: EdgeConfig, text: str | None) -> int:
    """The amount typed in a form or on the command line, in fen; left empty, the request states none."""
    if text is None or not str(text).strip():
        return NO_AMOUNT
    try:
        return parse_yuan(str(text), config.money.max_amount_fen)
    except AmountError as exc:
        raise InputError(exc.message, exc.code) from None


def check_amount(config: EdgeConfig, amount_fen: object) -> int:
    """An amount in fen from any caller (the web, the CLI, the command queue): none, or 0 < fen ≤ the ceiling.

    Every filing passes here, so nothing SQLite cannot hold (or the village did not allow) reaches the ledger.
    """
    if type(amount_fen) is int and amount_fen == NO_AMOUNT:
        return NO_AMOUNT
    try:
        return check_fen(amount_fen, config.money.max_amount_fen)
    except AmountError as exc:
        raise InputError(exc.message, exc.code) from None


def check_filing(
    config: EdgeConfig,
    applicant: str,
    matter: str,
    seal: str,
    presses: int,
    amount_fen: int = 0,
    device: str | None = None,
) -> Filing:
    """Validate everything about a new request that the config alone decides."""
    person = config.person(applicant)
    if not (person.has("applicant") or person.has("custodian")):
        raise InputError(f"{person.name}({person.id}) 无申请权限 may not file seal requests (not an applicant)", "not_applicant")
    if not isinstance(matter, str) or not matter.strip():
        raise InputError("用印事项不能为空 the matter must not be empty", "bad_matter")
    matter = matter.strip()
    if len(matter) > MAX_MATTER_CHARS:
        raise InputError(f"用印事项过长 the matter is longer than {MAX_MATTER_CHARS} characters", "bad_matter")
    if seal not in SEAL_KINDS:
        raise InputError(f"未知印章种类 unknown seal kind {seal!r}; use one of {', '.join(SEAL_KINDS)}", "bad_seal")
    if type(presses) is not int or not 1 <= presses <= MAX_PRESSES:
        raise InputError(f"用印次数应为 1..{MAX_PRESSES} presses must be an integer 1..{MAX_PRESSES}, got {presses!r}", "bad_presses")
    amount_fen = check_amount(config, amount_fen)
    candidates = [d for d in config.devices if d.seal == seal]
    if device is not None:
        chosen = config.device(device)
        if chosen.seal != seal:
            raise InputError(
                f"设备 {chosen.name} 装的是{SEAL_NAMES[chosen.seal]} device {chosen.name} holds the {chosen.seal} seal, not {seal}",
                "wrong_device",
            )
    elif not candidates:
        raise InputError(f"没有装{SEAL_NAMES[seal]}的设备 no device holds the {seal} seal", "no_device")
    elif len(candidates) > 1:
        names = ", ".join(d.name for d in candidates)
        raise InputError(f"多台设备装有此印章，请指定 several devices hold the {seal} seal ({names}); name one", "ambiguous_device")
    else:
        chosen = candidates[0]
    route = config.route_for(seal, amount_fen)
    check_route_possible(
        route.name, route.mode, route.n, route.approvers, {person.id, chosen.custodian}, f"a request by {person.id} on {chosen.name}"
    )
    return Filing(person, matter, seal, presses, amount_fen, chosen, route)


Clock = Callable[[], datetime]
REMIND_EVERY_S = 3600  # 催办: once an hour per request, so a reminder stays a reminder


def check_reason(reason: object, what: str) -> str:
    """A written reason (驳回理由, 加急理由): required, trimmed, at most MAX_REASON_CHARS."""
    if not isinstance(reason, str) or not reason.strip():
        raise InputError(f"{what}须说明理由 a reason is required", "missing_reason")
    reason = reason.strip()
    if len(reason) > MAX_REASON_CHARS:
        raise InputError(f"理由过长 the reason is longer than {MAX_REASON_CHARS} characters", "bad_reason")
    return reason


def check_comment(comment: object) -> str | None:
    """An approver's 审批意见: optional, trimmed, at most MAX_REASON_CHARS."""
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise InputError("审批意见应为文字 a comment must be text", "bad_comment")
    comment = comment.strip()
    if len(comment) > MAX_REASON_CHARS:
        raise InputError(f"审批意见过长 the comment is longer than {MAX_REASON_CHARS} characters", "bad_comment")
    return comment or None


def withdrawal_refusal(request: RequestView, person: str) -> tuple[str, str] | None:
    """(code, Chinese message) when ``person`` may not withdraw ``request``: only its applicant, before any decision."""
    if person != request.applicant:
        return "not_applicant", "只有申请人可以撤销申请"
    if request.status not in (PENDING, READING) or request.approvals:
        return "already_decided", "已有审批意见的申请不能撤销"
    return None


def reminder_refusal(request: RequestView, person: str, now: datetime, last: datetime | None) -> tuple[str, str] | None:
    """(code, Chinese message) when ``person`` may not remind ``request``'s approvers now (``last``: the last
    reminder)."""
    if person != request.applicant:
        return "not_applicant", "只有申请人可以催办"
    if request.status != PENDING:
        return "not_pending", "申请不在待审批状态，无需催办"
    if last is not None and now < last + timedelta(seconds=REMIND_EVERY_S):
        return "too_soon", "一小时内已催办过，请稍后再催"
    return None
#: Reads a request's original and records its route (the photo evidence's OCR workers); done when recorded.
Reader = Callable[[str], Awaitable[None]]


def takes_part(request: RequestView, person: str, roles: Collection[str] = ROSTER_ROLES) -> bool:
    """Whether ``person``, holding ``roles``, takes part in ``request``: as its applicant (filed with the
    applicant's or the custodian's role), the custodian of its seal, or an approver on its route. The one rule
    of who sees a request: the CLI's ``--person`` and the console's accounts both read it."""
    if person == request.applicant and {"applicant", "custodian"} & set(roles):
        return True
    if person == request.custodian and "custodian" in roles:
        return True
    return "approver" in roles and person in request.route.get("approvers", ())


def filter_for_person(requests: list[RequestView], person: str | None) -> list[RequestView]:
    """The requests ``person`` takes part in (applicant, custodian or on the route); all when None."""
    if person is None:
        return requests
    return [r for r in requests if takes_part(r, person)]


def utc_clock() -> datetime:
    return datetime.now(UTC)


class SealDesk:
    """The request steps of the edge agent; every method runs as one recorder step.

    ``clock`` says what time it is when approved requests are expired; a test
    passes one it moves on, rather than waiting out an approval's lifetime.
    """

    def __init__(self, config: EdgeConfig, recorder: Recorder[EdgeDB], clock: Clock = utc_clock) -> None:
        self.config = config
        self.recorder = recorder
        self.db = recorder.db
        self.refusals = RefusalBudget()
        self.clock = clock
        self.reader: Reader | None = None  # set while the photo evidence runs (edge/seal/evidence.py)

    async def _request(self, request_id: str) -> RequestView:
        request = await self.db.request(request_id)
        if request is None:
            raise NotFound(f"没有此申请 no request {request_id!r}")
        return request

    async def file_request(
        self,
        applicant: str,
        matter: str,
        seal: str,
        presses: int,
        document: Path | StoredDocument,
        amount_fen: int = 0,
        device: str | None = None,
    ) -> RequestView:
        """File a request with its original document (a path to copy in, or one already stored)."""
        filing = check_filing(self.config, applicant, matter, seal, presses, amount_fen, device)
        if isinstance(document, StoredDocument):
            size = verify_stored(self.config.data_dir, document.sha256)
            if size != document.size:
                raise InputError("原件大小不符 stored document size differs", "bad_document")
            stored = document
        else:
            check_source(Path(document))
            stored = store_document(self.config.data_dir, Path(document))
        async with self.recorder.step():
            enrolled = await self.db.device_by_name(filing.device.name)
            if enrolled is None:
                raise InputError(
                    f"设备 {filing.device.name} 尚未登记 device {filing.device.name} is not enrolled; "
                    "run `qinglian edge enrol` first",
                    "not_enrolled",
                )
            seq = await self.db.next_request_seq()
            taken = await self.db.unapplied_request_ids()  # a filing the database could not take still owns its id
            while f"SR-{seq:06d}" in taken:
                seq += 1
            request_id = f"SR-{seq:06d}"
            body: dict[str, Any] = {
                "request_id": request_id,
                "seq": seq,
                "village": self.config.village,
                "applicant": filing.applicant.id,
                "matter": filing.matter,
                "seal": filing.seal,
                "presses": filing.presses,
                "amount_fen": filing.amount_fen,
                "device_id": enrolled.device_id,
                "device_name": filing.device.name,
                "custodian": filing.device.custodian,
                "document": stored.to_body(),
                "route": filing.route.to_body(),  # by the declared amount; frozen by seal_request.routed if reading
            }
            if self.config.camera is not None:
                body["reading"] = True  # the original is read first (edge/seal/reading.py); read at the next start if not now
            await self.recorder.record(P.FILED, body)
        if body.get("reading") and self.reader is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.reader(request_id)), FILING_READ_WAIT_S)
            except TimeoutError:
                pass  # still reading: the request's page says so and turns pending when the route is recorded
        async with self.recorder.step():
            return await self._request(request_id)

    async def approve(
        self, request_id: str, approver: str, account: str | None = None, comment: str | None = None
    ) -> RequestView:
        """``account``: who acted for ``approver`` (a console account; by default the host's operator);
        ``comment``: the approver's 审批意见, recorded with the approval (``seal_request.commented``, same step)."""
        person = self.config.person(approver)
        account = account or host_operator()
        comment = check_comment(comment)
        async with self.recorder.step():
            request = await self._request(request_id)
            await self._check_hours(request, person, account)
            await self._routes().approve(routed(request), person, account)
            if comment:
                await self.recorder.record(
                    P.COMMENTED, {"request_id": request_id, "approver": person.id, "account": account, "comment": comment}
                )
            return await self._request(request_id)

    async def reject(self, request_id: str, approver: str, reason: str, account: str | None = None) -> RequestView:
        person = self.config.person(approver)
        account = account or host_operator()
        reason = check_reason(reason, "驳回")
        async with self.recorder.step():
            await self._routes().reject(routed(await self._request(request_id)), person, account, reason)
            return await self._request(request_id)

    async def withdraw(self, request_id: str, applicant: str, account: str | None = None) -> RequestView:
        """The applicant takes back a request nobody has decided yet (撤销): recorded, and it ends."""
        person = self.config.person(applicant)
        account = account or host_operator()
        async with self.recorder.step():
            request = await self._request(request_id)
            refusal = withdrawal_refusal(request, person.id)
            if refusal is not None:
                code, message = refusal
                raise Refused(f"{message} {person.id} may not withdraw {request_id} ({code})", code)
            await self.recorder.record(P.WITHDRAWN_KIND, {"request_id": request_id, "applicant": person.id, "account": account})
            return await self._request(request_id)

    async def remind(self, request_id: str, applicant: str, account: str | None = None) -> list[str]:
        """The applicant reminds the approvers the request awaits (催办), at most once per REMIND_EVERY_S; the
        notifier pushes the entry to them. Who was reminded."""
        person = self.config.person(applicant)
        account = account or host_operator()
        async with self.recorder.step():
            request = await self._request(request_id)
            earlier = [e for e in await self.recorder.ledger.entries_of_kind(P.REMINDED) if e.body.get("request_id") == request_id]
            last = parse_time(earlier[-1].ts) if earlier else None
            refusal = reminder_refusal(request, person.id, self.clock(), last)
            if refusal is not None:
                code, message = refusal
                raise Refused(f"{message} {person.id} may not remind the approvers of {request_id} ({code})", code)
            waiting = awaiting(request.route, request.approvers_done, (request.applicant, request.custodian))
            await self.recorder.record(
                P.REMINDED, {"request_id": request_id, "person": person.id, "account": account, "awaiting": waiting}
            )
            return waiting

    async def hand_over(
        self, request_id: str, approver: str, to: str, reason: str, account: str | None = None
    ) -> RequestView:
        """The approver whose turn it is hands their step to ``to`` (转交, edge/seal/handover.py), with a reason:
        recorded with the new route; ``to`` is pushed the request, ``approver`` is off its route."""
        person = self.config.person(approver)
        taker = self.config.person(to)
        account = account or host_operator()
        reason = check_reason(reason, "转交")
        async with self.recorder.step():
            request = await self._request(request_id)
            refusal = handover_refusal(request, person.id, taker, self.config.village)
            if refusal is not None:
                code, message = refusal
                raise Refused(f"{message} {person.id} may not hand {request_id} over to {taker.id} ({code})", code)
            await self.recorder.record(
                P.HANDED_OVER,
                {"request_id": request_id, "approver": person.id, "to": taker.id, "reason": reason, "account": account,
                 "route": handed_route(request.route, person.id, taker.id)},
            )  # fmt: skip
            return await self._request(request_id)

    async def regrant(self, request_id: str, approver: str, account: str | None = None) -> RequestView:
        """Re-issue a grant that lapsed unused, as the request's final approver, once (edge/seal/regrant.py)."""
        person = self.config.person(approver)
        account = account or host_operator()
        async with self.recorder.step():
            request = await self._request(request_id)
            until = approval_lifetime_end(request.approved_at, self.config.timing.approval_ttl_s)
            refusal = regrant_refusal(request, person.id, self.clock(), until)
            if refusal is not None:
                code, message = refusal
                raise Refused(f"{message} {person.id} may not re-issue the grant of {request_id} ({code})", code)
            await self.recorder.record(
                P.REGRANTED,
                {"request_id": request_id, "approver": person.id, "account": account, "after_grant_no": request.grant_no},
            )
            return await self._request(request_id)

    def seal_hours(self, request: RequestView) -> UseHours | None:
        """The hours of use of ``request``'s seal as configured (None: any time)."""
        return hours_of_device(self.config, request.device_name)

    def hours_of(self, request: RequestView) -> UseHours | None:
        """The hours that bind ``request``: its seal's, lifted for an urgent use (``mark_urgent``)."""
        return None if request.route.get("urgent") else self.seal_hours(request)

    def use_window_s(self, request: RequestView, now: datetime) -> int | None:
        """The window of a grant for ``request`` sent at ``now``, cut to the end of its seal's hours; None: not now."""
        return grant_window_s(self.hours_of(request), now, self.config.timing.use_window_s)

    async def _check_hours(self, request: RequestView, person: Person, account: str) -> None:
        """Refuse (and record, within the budget) the approval that would be final outside the seal's hours."""
        hours = self.hours_of(request)
        now = self.clock()
        if hours is None or window_end(hours, now) is not None:
            return
        verdict = check_approval(routed(request), person)
        if not (verdict.ok and verdict.final):
            return  # an earlier approval on the route may be given any time; another refusal is the route's
        message = closed_message(hours, now)
        attempt = self.refusals.take(person.id, request.id)
        if attempt is not None:
            await self.recorder.record(
                P.APPROVAL_REFUSED,
                {"request_id": request.id, "person": person.id, "account": account, "reason": "outside_hours", "message": message,
                 "status": request.status, "attempt": attempt, "recorded_at_most": self.refusals.per_request},
            )  # fmt: skip
        raise Refused(f"{message} {person.id} may not give the final approval of {request.id} outside the hours", "outside_hours")

    async def mark_urgent(self, request_id: str, applicant: str, reason: str, account: str | None = None) -> RequestView:
        """The applicant asks for an urgent use outside the seal's hours (加急用印): a written reason and one
        more approver on the route; recorded as an anomaly, so supervisors see every one."""
        person = self.config.person(applicant)
        account = account or host_operator()
        reason = check_reason(reason, "加急用印")
        async with self.recorder.step():
            request = await self._request(request_id)
            hours = self.seal_hours(request)
            if person.id != request.applicant:
                raise Refused(f"只有申请人可以申请加急 {person.id} did not file {request_id}", "not_applicant")
            if request.status != PENDING:
                raise Refused(f"申请不在待审批状态，不能加急 {request_id} is not pending", "not_pending")
            if request.route.get("urgent"):
                raise Refused(f"已申请加急 {request_id} is urgent already", "already_urgent")
            if hours is None:
                raise Refused(f"此印章不限用印时间，无需加急 the seal of {request_id} has no hours of use", "no_hours")
            route = urgent_route(request.route, hours.urgent_approver, (request.applicant, request.custodian), reason)
            if route is None:
                raise Refused(
                    f"审批路线上没有可增加的审批人，请在配置中设置 urgent_approver no approver can be added to the route of {request_id}",
                    "no_extra_approver",
                )
            await self.recorder.record(
                P.URGENT,
                {"request_id": request_id, "applicant": person.id, "account": account, "reason": reason, "route": route,
                 "anomaly": "urgent_use"},
            )  # fmt: skip
            return await self._request(request_id)

    def _routes(self) -> RouteDesk:
        return RouteDesk(self.recorder, ROUTED_PREFIX, "request_id", self.refusals)

    def expiry_time(self, request: RequestView) -> datetime | None:
        if request.approved_at is None:
            return None
        return parse_time(request.approved_at) + timedelta(seconds=self.config.timing.approval_ttl_s)

    async def expire_due(self) -> list[str]:
        """Expire approved requests that waited longer than approval_ttl_s for their device; nothing is sent."""
        now = self.clock()
        expired: list[str] = []
        async with self.recorder.step():
            for request in await self.db.waiting_requests():
                deadline = self.expiry_time(request)
                if deadline is not None and deadline <= now:
                    await self.recorder.record(
                        P.EXPIRED_KIND,
                        {
                            "request_id": request.id,
                            "reason": "approval_ttl",
                            "approved_at": request.approved_at,
                            "ttl_s": self.config.timing.approval_ttl_s,
                            "device_id": request.device_id,
                        },
                    )
                    expired.append(request.id)
        return expired
