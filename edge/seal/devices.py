"""The device manager: one DeviceLink per enrolled seal, grant dispatch, and recording device events.

Each ``DeviceLink`` runs a reader thread. Its ``on_event`` callback runs the
recording step on the agent's event loop and *waits for it*: only when the
event is committed to the ledger does the callback return, and only then does
the link acknowledge it to the device. A crash before that leaves the event
unacknowledged in the device's flash, so it is sent again (at least once);
the step skips an event id at or below the device's last recorded id, which
is stored in the same step (exactly once in the ledger).

Grants: when a request is approved and its device is online and holds no
other request, the next grant number is taken (above both our record and the
device's reported ``last_grant``), the grant is minted and recorded
(``grant.issued``) *before* it is sent, so no grant ever reaches a device
without a ledger entry. A grant is given up (``grant.lapsed``) only when the
device provably can no longer accept it: it answered a new session's hello
with a lower ``last_grant`` (a grant is bound to the session it was minted
for), or its validity window has passed with ``last_grant`` still lower.

Grants the edge never issued: whoever reads the device key out of the
board's flash can mint grants the device accepts. The device reports what it
took (``grant_ok``, ``unlocked``, ``press``, ``relocked``, ``maintenance_open``
carry the grant number, and every hello and status its ``last_grant``), so a
number this edge did not issue, or a ``last_grant`` above every number it
issued, is recorded at once (``device.rogue_grant``, an anomaly pushed to the
supervisors) and the device gets no grant again until it is re-provisioned
with a new key (``device.block_cleared``, see edge/enrolment.py). Numbers up
to the device's ``last_grant`` at its first hello after enrolment came
before this edge (a replaced edge host) and are not held against it.

Malformed events: the same key lets its holder sign events with numbers past
64 bits, negative, floats, bools or text where a number belongs. Such an
event could not be interpreted or recorded, so it would never be
acknowledged and the device's stream would stall behind it for good. It is
checked before anything reads it (``protocol.event_problem``) and, if
malformed, recorded as what it is (``device.malformed_event``, an anomaly,
with the raw event as truncated ASCII text), acknowledged like any other, and
the stream goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.kernel.config import DeviceConfig, EdgeConfig
from edge.kernel.errors import Refused, Unavailable
from edge.kernel.recorder import Recorder
from edge.ledger import utc_now
from edge.ledger.wire import ANOMALY_KINDS
from edge.seal import firmware
from edge.seal import projection as P
from edge.seal.db import APPROVED, G_SENT, GRANTED, IN_USE, DeviceView, EdgeDB, GrantRow, RequestView
from edge.seal.desk import SealDesk
from edge.seal.devicelink import DeviceLink, DeviceUnavailable
from edge.seal.protocol import event_problem, quoted

log = logging.getLogger("edge.devices")

# Refusals after which a fresh grant may be sent: the device did not take this one
# and the cause can pass (a new session, a slow link, a lock still open, a tamper
# switch that gets closed). The others mean a wrong key, device or request: no retry.
RETRYABLE_REFUSALS = frozenset({"stale_session", "expired", "from_future", "replayed", "busy", "store_full", "tamper"})
# Refusals that should never happen between an honest edge and its device.
SUSPICIOUS_REFUSALS = frozenset({"bad_mac", "other_device", "malformed", "out_of_range", "replayed"})
# Device events that show the device took a grant and acted on it.
TOOK_GRANT = frozenset({"grant_ok", "unlocked", "press", "relocked", "maintenance_open"})
ROGUE = ANOMALY_KINDS[P.DEVICE_ROGUE_GRANT]
MALFORMED = ANOMALY_KINDS[P.DEVICE_MALFORMED_EVENT]
_RAW_CHARS = 600  # of a malformed event, as ASCII JSON: a whole event of today's firmware fits
BLOCKED = "device_blocked"  # why an approved request for a blocked device failed
_BRIDGE_TIMEOUT_S = 30.0  # how long the reader thread waits for a recording step
_WINDOW_SLACK_S = 10.0  # beyond a grant's window: clock estimate error and the device's 5 s future slack
_STATUS_SAVE_S = 5.0


@dataclass
class _Handle:
    """One configured, enrolled device and its link."""

    config: DeviceConfig
    device_id: str
    key: bytes
    fingerprint: str
    link: DeviceLink | None = None
    generation: int = 0  # bumped when the link is replaced; callbacks of an old link are ignored
    hello: dict[str, Any] = field(default_factory=dict)
    retry_after: float = 0.0  # monotonic time before which no grant is sent
    sent_at: dict[int, float] = field(default_factory=dict)  # grant no -> monotonic time it was sent
    status_saved: float = 0.0


class DeviceManager:
    def __init__(self, config: EdgeConfig, recorder: Recorder[EdgeDB], desk: SealDesk, wake: asyncio.Event) -> None:
        self.config = config
        self.recorder = recorder
        self.db: EdgeDB = recorder.db
        self.desk = desk
        self._wake = wake
        self._loop = asyncio.get_running_loop()
        self._handles: dict[str, _Handle] = {}
        self._closing = False

    # -- links -------------------------------------------------------------------------

    async def connect(self, config: DeviceConfig, device_id: str, key: bytes, fingerprint: str) -> None:
        """Start (or restart, after a re-enrolment) the link to one device."""
        old = self._handles.get(device_id)
        generation = 1
        if old is not None:
            if old.fingerprint == fingerprint and old.config.url == config.url and old.link is not None:
                return
            generation = old.generation + 1
            old.generation = generation  # silence the old link's callbacks before it is closed
            if old.link is not None:
                await asyncio.to_thread(old.link.close)
        device = await self.db.device(device_id)
        last_event_id = device.last_event_id if device else 0
        handle = _Handle(config, device_id, key, fingerprint, generation=generation)
        handle.link = DeviceLink(
            config.url,
            device_id,
            key,
            on_event=lambda event: self._on_event(handle, generation, event),
            last_event_id=last_event_id,
            on_online=lambda up: self._on_online(handle, generation, up),
            heartbeat_s=self.config.timing.heartbeat_s,
        )
        self._handles[device_id] = handle
        handle.link.start()
        log.info("connecting to %s (%s) at %s", config.name, device_id, config.url)

    async def stop(self) -> None:
        self._closing = True
        for handle in self._handles.values():
            if handle.link is not None:
                await asyncio.to_thread(handle.link.close)

    def link(self, device_id: str) -> DeviceLink | None:
        handle = self._handles.get(device_id)
        return None if handle is None else handle.link

    def is_online(self, device_id: str) -> bool:
        link = self.link(device_id)
        return link is not None and link.online

    def live_status(self, device_id: str) -> dict[str, Any] | None:
        link = self.link(device_id)
        return None if link is None or link.last_status is None else dict(link.last_status)

    # -- the bridge from the reader threads --------------------------------------------------

    def _run_step(self, coro_fn: Callable[[], Any]) -> None:
        """Run a recording step on the event loop and wait for it (called on a reader thread)."""
        future = asyncio.run_coroutine_threadsafe(coro_fn(), self._loop)
        future.result(timeout=_BRIDGE_TIMEOUT_S)

    def _on_event(self, handle: _Handle, generation: int, event: dict[str, Any]) -> None:
        if self._closing or handle.generation != generation:
            # Raising leaves the event unacknowledged: the device keeps it and sends it again.
            raise RuntimeError("the agent is stopping; the event stays on the device")
        self._run_step(lambda: self._record_event(handle, event))

    def _on_online(self, handle: _Handle, generation: int, up: bool) -> None:
        if self._closing or handle.generation != generation or handle.link is None:
            return
        hello = dict(handle.link.hello_info or {}) if up else {}
        try:
            self._run_step(lambda: self._link_changed(handle, up, hello))
        except Exception:
            log.exception("recording that %s went %s failed", handle.device_id, "online" if up else "offline")

    # -- recording device events ------------------------------------------------------------

    async def _record_event(self, handle: _Handle, event: dict[str, Any]) -> None:
        async with self.recorder.step():
            device = await self.db.device(handle.device_id)
            if device is not None and event["id"] <= device.last_event_id:
                return  # recorded before (a resend across edge restarts): acknowledge it again
            problem = event_problem(event)
            if problem is None:
                items = await self._interpret(handle, event)
            else:
                items = [_malformed(handle.device_id, event, problem)]
            await self.recorder.record_many(items)
        self._wake.set()

    async def _interpret(self, handle: _Handle, event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Turn one device event into ledger entries: the event itself, plus what it ends."""
        kind = event["k"]
        body: dict[str, Any] = {"device_id": handle.device_id, "event_id": event["id"], "event": event}
        items: list[tuple[str, dict[str, Any]]] = [(P.seal_kind(kind), body)]
        anomaly: str | None = None
        grant: GrantRow | None = None
        request: RequestView | None = None
        no = event.get("no")
        if kind in ("grant_ok", "unlocked", "press", "relocked", "grant_refused") and no is not None:
            grant = await self.db.grant(handle.device_id, no)
            if grant is None:
                anomaly = "unknown_grant"  # a grant this edge never recorded
            else:
                request = await self.db.request(grant.request_id)
                body["request_id"] = grant.request_id
                body["grant_no"] = no

        if kind == "boot":
            if event.get("cause") == "watchdog":
                anomaly = "watchdog_reset"
            anomaly = await firmware.verdict(self.db, self.config, handle.device_id, event.get("fw")) or anomaly
        elif kind == "tamper":
            anomaly = "tamper_open" if event.get("active") else "tamper_closed"
        elif kind == "locked_press":
            anomaly = "locked_press"
        elif kind == "overflow":
            anomaly = "overflow"
        elif kind in ("maintenance_open", "maintenance_refused"):
            anomaly = kind  # the REPL opened (or was asked for): supervisors should see every one
        elif kind == "grant_ok" and request is not None and grant is not None:
            if grant.status != G_SENT or request.status not in (APPROVED, GRANTED):
                anomaly = "unexpected_grant_ok"
        elif kind == "press" and request is not None:
            if request.status != IN_USE:
                anomaly = "press_outside_use"
            elif event.get("n", 0) > request.presses:
                anomaly = "over_press"
        elif kind == "grant_refused":
            reason = event.get("reason")
            if reason in SUSPICIOUS_REFUSALS:
                anomaly = f"grant_refused_{reason}"
            if request is not None and grant is not None and grant.status == G_SENT and request.status == GRANTED and request.grant_no == no:
                if reason in RETRYABLE_REFUSALS:
                    body["decision"] = "retry"
                    handle.retry_after = time.monotonic() + self.config.timing.grant_retry_s
                else:
                    body["decision"] = "fail"
                    items.append((P.FAILED_KIND, {"request_id": request.id, "reason": f"grant_refused:{reason}", "grant_no": no}))
        elif kind == "relocked" and request is not None and grant is not None:
            reason = event.get("reason")
            if reason == "reboot":
                anomaly = "reboot_during_use"
            if request.status in (GRANTED, IN_USE) and request.grant_no == no:
                used = event.get("used")
                if not isinstance(used, int):  # a relock at boot does not know; count the recorded presses
                    used = len([p for p in await self.db.press_events(request.id) if p["grant_no"] == no])
                items.append(
                    (
                        P.CLOSED,
                        {
                            "request_id": request.id,
                            "device_id": handle.device_id,
                            "grant_no": no,
                            "reason": reason,
                            "presses_approved": request.presses,
                            "presses_used": used,
                        },
                    )
                )
        if kind in TOOK_GRANT:
            # Every number this edge gives out (use and maintenance grants) is at most last_grant_no.
            device = await self.db.device(handle.device_id)
            if device is not None:
                items.extend(_rogue(device, no, "unknown_grant", event["id"]))
        if anomaly is not None:
            body["anomaly"] = anomaly
            log.warning("anomaly on %s: %s (event %s)", handle.device_id, anomaly, event)
        return items

    async def _link_changed(self, handle: _Handle, up: bool, hello: dict[str, Any]) -> None:
        async with self.recorder.step():
            if not up:
                await self.recorder.record(P.DEVICE_OFFLINE, {"device_id": handle.device_id})
            else:
                handle.hello = hello
                await self.recorder.record_many(await self._came_online(handle, hello))
            await self.db.set_last_status(handle.device_id, hello or None, utc_now())
        self._wake.set()

    async def _came_online(self, handle: _Handle, hello: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        device = await self.db.device(handle.device_id)
        last_event_id = device.last_event_id if device else 0
        body: dict[str, Any] = {
            "device_id": handle.device_id,
            "sid": hello.get("sid"),
            "boots": hello.get("boots"),
            "presses": hello.get("presses"),
            "last_grant": hello.get("last_grant"),
            "first": hello.get("first"),
            "pending": hello.get("pending"),
            "lock": hello.get("lock"),
            "tamper": hello.get("tamper"),
            "fw": hello.get("fw"),
            "ver": hello.get("ver"),
        }
        if device is not None and device.fw is not None and hello.get("fw") != device.fw:
            body["anomaly"] = "firmware_changed"
        refused = await firmware.verdict(self.db, self.config, handle.device_id, hello.get("fw"))
        if refused is not None:
            body["anomaly"] = refused  # no grants until it runs an allowed release
        items: list[tuple[str, dict[str, Any]]] = [(P.DEVICE_ONLINE, body)]
        if device is not None:
            items.extend(_rogue(device, hello.get("last_grant"), "out_of_sequence"))
        first = hello.get("first")
        if isinstance(first, int) and first > last_event_id + 1:
            # The device no longer holds events we never recorded: say so, never silently.
            reason = "before_enrolment" if last_event_id == 0 else "dropped_by_device"
            items.append(
                (P.DEVICE_EVENTS_LOST, {"device_id": handle.device_id, "from": last_event_id + 1, "to": first - 1, "reason": reason, "anomaly": ANOMALY_KINDS[P.DEVICE_EVENTS_LOST]})
            )
        last_grant = hello.get("last_grant")
        if isinstance(last_grant, int):
            for grant in await self.db.grants(device_id=handle.device_id, status=G_SENT):
                if grant.sid != hello.get("sid") and last_grant < grant.no:
                    # Minted for a session that is gone, and the device never took it: it never will.
                    items.append(
                        (P.GRANT_LAPSED, {"device_id": handle.device_id, "no": grant.no, "request_id": grant.request_id, "reason": "session_ended"})
                    )
                    handle.sent_at.pop(grant.no, None)
        return items

    # -- the periodic work: lapse dead grants, send due grants -------------------------------------

    async def tick(self) -> None:
        for handle in list(self._handles.values()):
            try:
                await self._lapse_by_window(handle)
                await self._dispatch(handle)
                await self._save_status(handle)
            except Exception:
                log.exception("device %s: tick failed", handle.device_id)

    async def _lapse_by_window(self, handle: _Handle) -> None:
        link = handle.link
        if link is None or not link.online or not handle.sent_at:
            return
        now = time.monotonic()
        wait = _WINDOW_SLACK_S + 3 * self.config.timing.heartbeat_s  # the status below is at most this old
        for no, sent in list(handle.sent_at.items()):
            async with self.recorder.step():
                grant = await self.db.grant(handle.device_id, no)
                if grant is None or grant.status != G_SENT:
                    handle.sent_at.pop(no, None)
                    continue
                status = link.last_status or {}
                if now - sent > grant.valid_s + wait and isinstance(status.get("last_grant"), int) and status["last_grant"] < no:
                    await self.recorder.record(
                        P.GRANT_LAPSED,
                        {"device_id": handle.device_id, "no": no, "request_id": grant.request_id, "reason": "window_passed"},
                    )
                    handle.sent_at.pop(no, None)

    async def _dispatch(self, handle: _Handle) -> None:
        link = handle.link
        if link is None or not link.online or time.monotonic() < handle.retry_after:
            return
        status = link.last_status or {}
        if status.get("tamper"):
            return  # the device would refuse; wait until the case is shut again
        async with self.recorder.step():
            if await firmware.verdict(self.db, self.config, handle.device_id, status.get("fw") or handle.hello.get("fw")):
                return  # unknown or downgraded firmware: no grants (recorded when it came online)
            device = await self.db.device(handle.device_id)
            if device is None:
                return
            rogue = _rogue(device, status.get("last_grant"), "out_of_sequence")
            if rogue:
                await self.recorder.record_many(rogue)
                device = await self.db.device(handle.device_id)
                assert device is not None
            if await self.db.active_request(handle.device_id) is not None:
                return  # one request at a time per device
            due = [r for r in await self.db.waiting_requests() if r.device_id == handle.device_id]
            now = self.desk.clock()
            due = [r for r in due if (self.desk.expiry_time(r) or now) > now]
            if not due:
                return
            if device.block is not None:
                await self.recorder.record_many([(P.FAILED_KIND, _refusal(device, r)) for r in due])
                return
            # Outside its seal's hours a request waits for the next opening; inside, its window ends with them.
            windows = [(r, self.desk.use_window_s(r, now)) for r in due]
            ready = [(r, s) for r, s in windows if s is not None]
            if not ready:
                return
            request, valid_s = ready[0]
            no = await self._next_grant_no(handle)
            try:
                grant = link.mint_grant(no, request.id, request.presses, valid_s)
            except DeviceUnavailable:
                return
            # In the ledger before it is on the wire: no grant reaches a device unrecorded.
            await self.recorder.record(
                P.GRANT_ISSUED,
                {
                    "device_id": handle.device_id, "no": no, "request_id": request.id, "sid": grant["sid"],
                    "at": grant["at"], "presses": request.presses, "valid_s": valid_s, "mac": grant["mac"],
                },
            )  # fmt: skip
            handle.sent_at[no] = time.monotonic()
            try:
                link.send_signed_grant(grant)
            except DeviceUnavailable as exc:
                handle.sent_at.pop(no, None)
                handle.retry_after = time.monotonic() + self.config.timing.grant_retry_s
                await self.recorder.record(
                    P.GRANT_UNSENT, {"device_id": handle.device_id, "no": no, "request_id": request.id, "reason": str(exc)}
                )
            else:
                log.info("grant %d for %s sent to %s", no, request.id, handle.device_id)

    async def _next_grant_no(self, handle: _Handle) -> int:
        """Above every number this edge issued and every one the device reports accepting."""
        assert handle.link is not None
        device = await self.db.device(handle.device_id)
        reported = [s.get("last_grant") for s in (handle.link.last_status or {}, handle.hello)]
        return max([device.last_grant_no if device else 0, *[n for n in reported if isinstance(n, int)]]) + 1

    async def open_maintenance(self, device_id: str, seconds: int) -> int:
        """Send an authenticated maintenance grant; return its number. The device opens its REPL.

        Also to a device blocked for a rogue grant: re-provisioning it goes through this window
        (and whoever holds its old key can open the REPL anyway).
        """
        handle = self._handles.get(device_id)
        link = handle.link if handle is not None else None
        if handle is None or link is None or not link.online:
            raise Unavailable(f"设备不在线 device {device_id} is offline", "device_offline")
        async with self.recorder.step():
            active = await self.db.active_request(device_id)
            if active is not None:
                raise Refused(f"设备正在用印 {active.id}，不能维护 device is in use for {active.id}", "device_busy")
            no = await self._next_grant_no(handle)
            grant = link.mint_maintenance(no, seconds)
            # In the ledger before it is on the wire, like every grant.
            await self.recorder.record(
                P.MAINTENANCE_ISSUED, {"device_id": device_id, "no": no, "secs": seconds, "sid": grant["sid"], "mac": grant["mac"]}
            )
        link.send_signed_maintenance(grant)
        return no

    async def _save_status(self, handle: _Handle) -> None:
        now = time.monotonic()
        if handle.link is None or now - handle.status_saved < _STATUS_SAVE_S:
            return
        handle.status_saved = now
        status = handle.link.last_status if handle.link.online else None
        if status is not None:
            async with self.recorder.step():  # never inside another step's open transaction
                await self.db.set_last_status(handle.device_id, dict(status), utc_now())


def _refusal(device: DeviceView, request: RequestView) -> dict[str, Any]:
    """Why an approved request gets no grant: its device used a grant this edge never issued."""
    block = device.block
    assert block is not None
    message = (
        f"设备 {device.name} 使用了本边缘从未签发的授权 #{block['no']}（台账第 {block['entry']} 条），设备密钥可能已被读出，"
        "已停止向其授权。请技术员重新烧录（qinglian flash，写入新密钥）后重新提交申请。"
    )
    return {"request_id": request.id, "reason": BLOCKED, "device_id": device.device_id, "rogue_entry": block["entry"], "message": message}


def _malformed(device_id: str, event: dict[str, Any], problem: str) -> tuple[str, dict[str, Any]]:
    """The entry for an event whose fields no firmware sends: it takes the event's place in the stream."""
    eid = event["id"]
    log.error("device %s sent a malformed event %d (%s): recorded as an anomaly and acknowledged", device_id, eid, problem)
    body = {"device_id": device_id, "event_id": eid, "problem": problem, "raw": quoted(event, _RAW_CHARS), "anomaly": MALFORMED}
    return (P.DEVICE_MALFORMED_EVENT, body)


def _rogue(device: DeviceView, no: object, reason: str, event_id: int | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The entry for a grant number this edge never issued, or nothing if it is not one (or recorded already)."""
    if not isinstance(no, int) or device.grant_base is None or no <= max(device.grant_base, device.last_grant_no):
        return []  # issued here, or before this edge knew the device (unknown until its first hello)
    if device.block is not None and no <= device.block["no"]:
        return []  # the same rogue grant seen again (its other events, the next hello)
    log.error("device %s took grant %d, which this edge never issued (%s): no grants until it is re-provisioned", device.device_id, no, reason)
    body: dict[str, Any] = {
        "device_id": device.device_id, "no": no, "reason": reason, "issued_upto": max(device.grant_base, device.last_grant_no),
        "fingerprint": device.fingerprint, "anomaly": ROGUE,
    }  # fmt: skip
    if event_id is not None:
        body["event_id"] = event_id
    return [(P.DEVICE_ROGUE_GRANT, body)]
