"""Who is told what, and delivering it with retries.

The notifier watches the ledger (``agent.recorder.subscribe``): when a request
is filed, the approvers it now awaits are told (the first of a chain, or all
eligible approvers of an N-of-M route); after each approval of a chain, the
next one; the applicant hears of the final approval or rejection (Web Push
only); the custodian hears when the device took the grant (presses, until
when) and again a minute before its window ends, while presses are left. Group robots get one message per request awaiting approval. The
supervisors covering the village hear at once of a seal that used a grant the
edge never issued (``device.rogue_grant``) or sent an event no firmware sends
(``device.malformed_event``): Web Push only, the village's group is not where
a cadre's misuse should be announced first. Every other part says what it
pushes through its ``notices`` hook (``edge.kernel.notices``), called for each
of its new entries.

Each (message, backend, recipient) is a *delivery* row in ``web.sqlite3``;
a failed attempt is retried after ``notify_retry_s`` doubled per attempt (up to
``notify_retry_max_s``), ``notify_attempts`` times in all; its state is shown
on the request page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from edge.kernel.config import SEAL_NAMES
from edge.kernel.fmt import yuan
from edge.kernel.contract import Notice, Part
from edge.kernel.notices import decided
from edge.kernel.notices import awaiting as awaiting_notice
from edge.kernel.routing import to_tell
from edge.kernel.tasks import cancel_and_wait
from edge.kernel.websettings import WebSettings
from edge.ledger import Entry
from edge.ledger.wire import ANOMALY_KINDS
from edge.ledger.localtime import local_time
from edge.notify.base import Backend, DeliveryError, Message
from edge.seal import projection as P
from edge.seal.db import IN_USE, RequestView
from edge.web.store import Account, WebStore

if TYPE_CHECKING:
    from edge.agent import EdgeAgent

log = logging.getLogger("edge.notify")

# The custodian's: the device took the grant (the seal is open, for how long), and its window is about to end.
GRANTED, GRANT_ENDING = "granted", "grant_ending"
WARN_BEFORE_END_S = 60
GRANT_OK = P.seal_kind("grant_ok")
#: What a keyed device does only with a key read out of its flash: pushed to the supervisors at once, each as the
#: event of its anomaly (``rogue_grant``, ``malformed_event``).
DEVICE_ALARMS = (P.DEVICE_ROGUE_GRANT, P.DEVICE_MALFORMED_EVENT)


class Notifier:
    def __init__(
        self,
        agent: EdgeAgent,
        store: WebStore,
        backends: Sequence[Backend],
        settings: WebSettings,
        base_url: Callable[[], str],
    ) -> None:
        self.agent = agent
        self.store = store
        self.backends = {b.name: b for b in backends}
        self.settings = settings
        self.base_url = base_url
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._warnings: set[asyncio.Task[None]] = set()  # a minute before each open grant's end
        self._unsubscribe: Callable[[], None] | None = None
        # Each ledger prefix of a part that pushes through its ``notices`` hook -> that part.
        self._noticing: dict[str, Part] = {
            prefix: part for part in agent.db.parts.parts if part.notices is not None for prefix in part.owned_prefixes
        }  # fmt: skip

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        self._unsubscribe = self.agent.recorder.subscribe(self._observe)
        self._task = asyncio.create_task(self._run(), name="notifier deliveries")

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for warning in list(self._warnings):
            await cancel_and_wait(warning)
        for task in list(self._pending):
            try:
                await asyncio.wait_for(asyncio.shield(task), 5)
            except Exception:
                pass
        if self._task is not None:
            await cancel_and_wait(self._task)
        for backend in self.backends.values():
            await backend.close()

    def _observe(self, entries: Sequence[Entry]) -> None:
        kinds = (P.FILED, P.ROUTED, P.APPROVAL, P.APPROVED_KIND, P.REJECTED, P.REMINDED, P.HANDED_OVER, GRANT_OK, *DEVICE_ALARMS)
        interesting = [e for e in entries if e.kind in kinds or e.kind.partition(".")[0] in self._noticing]
        if not interesting:
            return
        task = asyncio.get_running_loop().create_task(self._on_entries(interesting))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _on_entries(self, entries: Sequence[Entry]) -> None:
        try:
            for entry in entries:
                await self._on_entry(entry)
        except Exception:
            log.exception("could not queue notifications for ledger entries %s", [e.index for e in entries])
        self._wake.set()

    def _url(self, request_id: str) -> str:
        return f"{self.base_url().rstrip('/')}/requests/{request_id}"

    async def _on_entry(self, entry: Entry) -> None:
        b = entry.body
        part = self._noticing.get(entry.kind.partition(".")[0])
        if part is not None and part.notices is not None:
            async with self.agent.recorder.step():
                notices = await part.notices(self.agent, entry)
            for notice in notices:
                await self._send(notice)
            return
        if entry.kind in DEVICE_ALARMS:
            await self._device_alarm(entry)
            return
        request_id = b.get("request_id")
        if not isinstance(request_id, str):
            return
        async with self.agent.recorder.step():
            request = await self.agent.db.request(request_id)
        if request is None:
            return
        summary = (
            f"{self.agent.config.name_of(request.applicant)}申请{SEAL_NAMES.get(request.seal, request.seal)}×{request.presses}"
            f"（{yuan(request.amount_fen)}）：{request.matter}"
        )
        if request.amount_mismatch:
            summary += f"。⚠ 原件金额 {yuan(request.amount_read_fen or 0)}，与申报金额不符"
        if (entry.kind == P.FILED and not b.get("reading")) or entry.kind == P.ROUTED:
            # a request whose original is read first awaits its approvers once its route is frozen (edge/seal/reading.py)
            await self.notify_awaiting(request_id, to_tell(request.route, (request.applicant, request.custodian), None), summary)
        elif entry.kind == P.APPROVAL:
            await self.notify_awaiting(request_id, to_tell(request.route, (), int(b.get("count", 0))), summary)
        elif entry.kind == P.APPROVED_KIND:
            for notice in decided(request_id, summary, f"/requests/{request_id}", [request.applicant], then="印章管理员可以用印"):
                await self._send(notice)
        elif entry.kind == P.REMINDED:
            await self.notify_awaiting(request_id, [str(a) for a in b.get("awaiting", [])], f"催办：{summary}")
        elif entry.kind == P.HANDED_OVER:
            giver = self.agent.config.name_of(str(b.get("approver")))
            await self.notify_awaiting(request_id, [str(b["to"])], f"{giver}转交给您审批（{b.get('reason', '')}）：{summary}")
        elif entry.kind == GRANT_OK:
            await self._granted(request, entry, summary)
        elif entry.kind == P.REJECTED:
            for notice in decided(request_id, summary, f"/requests/{request_id}", [request.applicant], rejected=str(b.get("reason", ""))):
                await self._send(notice)

    async def _granted(self, request: RequestView, entry: Entry, summary: str) -> None:
        """Tell the custodian the seal is open, how many presses and until when; warn a minute before the end."""
        no = (entry.body.get("event") or {}).get("no")
        if type(no) is not int:
            return
        async with self.agent.recorder.step():
            grants = [g for g in await self.agent.db.grants(request_id=request.id) if g.no == no]
        if not grants:
            return
        valid_s = grants[0].valid_s
        ends = datetime.fromisoformat(entry.ts) + timedelta(seconds=valid_s)
        body = f"{summary}。印章已解锁，可盖 {request.presses} 次，{local_time(ends.isoformat())} 前有效。"
        message = Message(GRANTED, request.id, f"可以用印 {request.id}", body, self._url(request.id), self.agent.config.village)
        await self._queue(message, [request.custodian], group=False)
        if valid_s > WARN_BEFORE_END_S:
            task = asyncio.get_running_loop().create_task(self._warn(request.id, no, valid_s - WARN_BEFORE_END_S))
            self._warnings.add(task)
            task.add_done_callback(self._warnings.discard)

    async def _warn(self, request_id: str, no: int, delay_s: float) -> None:
        await asyncio.sleep(delay_s)  # the device's window runs on its own clock; this is a reminder, not the rule
        async with self.agent.recorder.step():
            request = await self.agent.db.request(request_id)
        if request is None or request.status != IN_USE or request.grant_no != no or request.presses_used >= request.presses:
            return
        body = (
            f"授权约 1 分钟后到期，已盖 {request.presses_used}/{request.presses} 次。"
            "到期未盖完的，须由最后审批人重新授权（仅一次）。"
        )
        message = Message(GRANT_ENDING, request_id, f"授权即将到期 {request_id}", body, self._url(request_id), self.agent.config.village)
        await self._queue(message, [request.custodian], group=False)
        self._wake.set()

    async def _device_alarm(self, entry: Entry) -> None:
        b = entry.body
        async with self.agent.recorder.step():
            view = await self.agent.db.device(b["device_id"])
        name = view.name if view is not None else b["device_id"]
        device = f"{self.agent.config.village} 的印章设备 {name}（{b['device_id']}）"
        if entry.kind == P.DEVICE_ROGUE_GRANT:
            title = f"异常：{name} 使用了非本边缘签发的授权"
            body = (
                f"{device}使用了本边缘从未签发的授权 #{b['no']}（本边缘签发至 #{b['issued_upto']}，台账第 {entry.index} 条）。"
                "设备密钥可能已被读出；在技术员重新烧录写入新密钥之前，该设备不再获得授权。"
            )
        else:
            title = f"异常：{name} 发送了格式错误的事件"
            body = (
                f"{device}发送了固件从不发送的事件 #{b['event_id']}（台账第 {entry.index} 条）。"
                "设备密钥可能已被读出；请技术员检查该设备，重新烧录写入新密钥。"
            )
        url = f"{self.base_url().rstrip('/')}/devices"
        message = Message(ANOMALY_KINDS[entry.kind], None, title, body, url, self.agent.config.village)
        supervisors = [
            a for a in await self.store.users() if "supervisor" in a.roles and not a.disabled and a.covers(self.agent.config.village)
        ]  # fmt: skip
        await self._queue_accounts(message, supervisors, group=False)

    async def notify_awaiting(self, request_id: str, approvers: Sequence[str], summary: str) -> None:
        for notice in awaiting_notice(request_id, approvers, summary, f"/requests/{request_id}", self.agent.config.name_of):
            await self._send(notice)

    async def _send(self, notice: Notice) -> None:
        url = f"{self.base_url().rstrip('/')}{notice.link}"
        message = Message(notice.event, notice.item_id, notice.title, notice.body, url, self.agent.config.village)
        await self._queue(message, notice.people, notice.group, notice.accounts)

    async def _queue(self, message: Message, people: Sequence[str], group: bool, usernames: Sequence[str] = ()) -> None:
        """One delivery per group backend (if ``group``), one per push subscription of each person's accounts
        (and of the accounts named by ``usernames``)."""
        accounts = [
            a for a in await self.store.users()
            if (a.person in people or a.username in usernames) and not a.disabled and a.covers(self.agent.config.village)
        ]  # fmt: skip
        await self._queue_accounts(message, accounts, group)

    async def _queue_accounts(self, message: Message, accounts: Sequence[Account], group: bool) -> None:
        subscriptions = await self.store.subscriptions(a.id for a in accounts)
        by_id = {a.id: a for a in accounts}
        for backend in self.backends.values():
            if backend.per_person:
                for sub in subscriptions:
                    recipient = f"{by_id[sub.user_id].name}({by_id[sub.user_id].username}) 设备#{sub.id}"
                    await self.store.add_delivery(
                        message.request_id, message.event, backend.name, backend.kind, recipient, {"subscription_id": sub.id}, message.to_dict()
                    )  # fmt: skip
            elif group:
                await self.store.add_delivery(message.request_id, message.event, backend.name, backend.kind, "群", {}, message.to_dict())
        self._wake.set()

    # -- delivering ------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                due = await self.store.due_deliveries(self.store.clock())
                if due:
                    await asyncio.gather(*(self._attempt(d.id, d.backend, d.message, d.target, d.attempts) for d in due))
                    continue
                nxt = await self.store.next_due()
                wait = 5.0 if nxt is None else min(5.0, max(0.02, nxt - self.store.clock()))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop failed; retrying")
                wait = 1.0
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                pass
            self._wake.clear()

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt ``attempts + 1`` after ``attempts`` failures."""
        return float(min(self.settings.notify_retry_max_s, self.settings.notify_retry_s * (2 ** max(0, attempts - 1))))

    async def _attempt(self, delivery_id: int, backend_name: str, message: dict[str, Any], target: dict[str, Any], attempts: int) -> None:
        backend = self.backends.get(backend_name)
        attempts += 1
        if backend is None:
            await self.store.finish_attempt(delivery_id, "failed", attempts, self.store.clock(), f"推送方式 {backend_name} 已不在配置中")
            return
        try:
            await backend.deliver(Message.from_dict(message), target)
        except DeliveryError as exc:
            final = exc.permanent or attempts >= self.settings.notify_attempts
            next_at = self.store.clock() + (0 if final else self.backoff(attempts))
            await self.store.finish_attempt(delivery_id, "failed" if final else "retrying", attempts, next_at, exc.message)
            log.warning(
                "delivery %d via %s failed (attempt %d%s): %s %s",
                delivery_id, backend_name, attempts, ", giving up" if final else "", exc.message, exc.detail,
            )  # fmt: skip
        except Exception as exc:
            next_at = self.store.clock() + self.backoff(attempts)
            final = attempts >= self.settings.notify_attempts
            await self.store.finish_attempt(delivery_id, "failed" if final else "retrying", attempts, next_at, "内部错误（详见日志）")
            log.exception("delivery %d via %s crashed", delivery_id, backend_name)
        else:
            await self.store.finish_attempt(delivery_id, "sent", attempts, self.store.clock(), None)
