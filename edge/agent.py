"""The edge agent: config, ledger, working database, device keys and devices, wired together.

The composition root: the one module that puts the kernel, the seal and the registered parts
(``edge.modules.PARTS``) together. ``EdgeAgent`` is the Python API each step of the seal loop goes through (the
web console will put pages on it): ``file_request``, ``approve``, ``reject``,
``enrol``, ``list_requests``, ``get_request``, ``request_detail``,
``device_status``. Opening one takes the data folder's writer lock; ``start()``
then connects the devices and runs the loop that picks up steps queued by
other processes (the CLI), expires requests and sends due grants. Without
``start()`` an agent is just the writer: the CLI uses it that way when no
agent is running.

    agent = await EdgeAgent.open(load_config("edge.toml"))
    await agent.start()
    request = await agent.file_request("liming", "村务合同", "official", 2, Path("contract.pdf"))
    ...
    await agent.close()
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from edge.kernel import commands
from edge.kernel.accounts import ACCOUNT_KINDS
from edge.kernel.central import (
    CONFIG_APPLIED,
    CONFIG_REFUSED,
    effective_config,
    load_received_config,
    save_applied_config,
    with_received_config,
)
from edge.kernel.config import EdgeConfig
from edge.kernel.contract import Part
from edge.kernel.documents import StoredDocument
from edge.kernel.errors import EdgeError, InputError, NotFound, Unavailable
from edge.kernel.recorder import Recorder
from edge.kernel.writerlock import WriterLock
from edge.ledger import Entry, Ledger, utc_now
from edge.modules import PARTS
from edge.seal import firmware
from edge.seal import projection as P
from edge.seal.db import DeviceView, EdgeDB, Release, RequestView
from edge.seal.desk import Clock, SealDesk, filter_for_person, utc_clock
from edge.seal.devices import DeviceManager
from edge.seal.enrolment import choose_device, record_enrolment, store_key, unseal_key
from edge.seal.keystore import DeviceIdentity, MasterKey, key_fingerprint

if TYPE_CHECKING:
    from edge.kernel.sync import SyncClient
    from edge.seal.evidence import Evidence
    from edge.seal.personcam import PersonCam

log = logging.getLogger("edge.agent")

MAX_MAINTENANCE_S = 3600  # the firmware's limit too (firmware/grant.py)
# A running edge signs a checkpoint this often when entries came since the last one (besides one every
# DEFAULT_CHECKPOINT_EVERY entries and one at shutdown), so `ledger proof` covers a quiet day's entries too.
CHECKPOINT_EVERY_S = 60.0


class EdgeAgent:
    def __init__(self, config: EdgeConfig, lock: WriterLock, ledger: Ledger, db: EdgeDB, clock: Clock = utc_clock) -> None:
        # The TOML file's config, and on top of it the roster and routing the central store sent.
        self.local_config = config
        config = self.config = with_received_config(config)
        self._lock = lock
        self.ledger = ledger
        self.db = db
        self.recorder: Recorder[EdgeDB] = Recorder(ledger, db)
        self.desk = SealDesk(config, self.recorder, clock)
        self.devices: DeviceManager | None = None
        self.evidence: Evidence | None = None  # photos of stamped pages, when [camera] is configured
        self.person: PersonCam | None = None  # photos of the person at the desk, when [camera] person_source is
        self.sync: SyncClient | None = None  # pushes the ledger to the central store, when [central] is configured
        self._master: MasterKey | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._passes = asyncio.Condition()  # notified at the end of each pass of the loop
        self._passes_begun = self._passes_done = 0
        self.checkpoint_every_s = CHECKPOINT_EVERY_S
        self._checkpointed_at = time.monotonic()
        self._stopping = False
        self._closed = False

    @classmethod
    async def open(
        cls,
        config: EdgeConfig,
        lock: WriterLock | None = None,
        lock_timeout: float = 30.0,
        clock: Clock = utc_clock,
        parts: Sequence[Part] = PARTS,
    ) -> EdgeAgent:
        """Become the writer of the data folder and bring the database up to date with the ledger.

        ``parts``: the registered parts (a test adds its own example module to them)."""
        lock = lock or await WriterLock.acquire(config.data_dir, lock_timeout)
        ledger: Ledger | None = None
        db: EdgeDB | None = None
        try:
            ledger = await Ledger.open(config.data_dir)
            db = await EdgeDB.open(config.data_dir, parts)
            agent = cls(config, lock, ledger, db, clock)
            await agent.recorder.catch_up()
            await db.interrupt_running_commands(utc_now())  # a writer died mid-step: tell its caller
        except BaseException:
            if db is not None:
                await db.close()
            if ledger is not None:
                await ledger.close()
            lock.release()
            raise
        return agent

    @property
    def master(self) -> MasterKey:
        if self._master is None:
            self._master = MasterKey.load(self.config.key_file)
        return self._master

    # -- running -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect the enrolled devices and run the agent loop until :meth:`close`."""
        async with self.recorder.step():
            # "camera" says whether the presses of this run are to be photographed (edge/evidence.py's sweep)
            camera = self.config.camera is not None
            # "person_camera": whether the unlocks and last presses of this run are to be photographed (personcam.py)
            person = camera and bool(self.config.camera and self.config.camera.person_source)
            await self.recorder.record(
                P.AGENT_STARTED,
                {"pid": os.getpid(), "village": self.config.village, "camera": camera, "person_camera": person},
            )
        if self.config.camera is not None and self.evidence is None:
            from edge.seal.evidence import Evidence

            # before the devices connect: it must observe every press they record
            self.evidence = Evidence(self.config, self.config.camera, self.recorder, desk=self.desk)
            await self.evidence.start()
        if self.config.camera is not None and self.config.camera.person_source and self.person is None:
            from edge.seal.personcam import PersonCam

            self.person = PersonCam(self.config, self.config.camera, self.recorder)
            await self.person.start()
        self.devices = DeviceManager(self.config, self.recorder, self.desk, self._wake)
        for device in self.config.devices:
            await self._connect(device.name)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="edge agent loop")
        if self.config.central is not None and self.sync is None:
            await self._apply_held_config()
            self.sync = self._sync_client()
            self.sync.start()

    async def _connect(self, name: str) -> None:
        assert self.devices is not None
        config = self.config.device(name)
        view = await self.db.device_by_name(name)
        if view is None:
            log.warning("device %s is not enrolled; run `qinglian edge enrol`", name)
            return
        if config.device_id is not None and config.device_id != view.device_id:
            log.error("device %s is enrolled as %s but the config says %s; not connecting", name, view.device_id, config.device_id)
            return
        key = await unseal_key(self.db, self.master, view.device_id)
        if key is None or key_fingerprint(key) != view.fingerprint:
            # A key swapped in without an enrolment record is not used.
            log.error("device %s: the stored key does not match the enrolment record; re-enrol it", name)
            return
        await self.devices.connect(config, view.device_id, key, view.fingerprint)

    async def _run(self) -> None:
        poll = self.config.timing.poll_s
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), poll)
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                break
            self._passes_begun += 1
            try:
                await self.process_commands()
                await self.desk.expire_due()
                if self.devices is not None:
                    await self.devices.tick()
                if time.monotonic() - self._checkpointed_at >= self.checkpoint_every_s:
                    self._checkpointed_at = time.monotonic()
                    async with self.recorder.step():  # between steps: a checkpoint covers whole steps only
                        await self.ledger.checkpoint()  # nothing is signed when nothing came since the last one
                for part in self.db.parts.parts:
                    if part.tick is not None:
                        await part.tick(self)  # its deadlines: each records what fell due in its own steps
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("agent loop step failed; retrying")
            async with self._passes:
                self._passes_done += 1
                self._passes.notify_all()

    def wake(self) -> None:
        self._wake.set()

    async def next_pass(self, timeout: float) -> None:
        """Return once the loop has finished a pass begun after this call.

        Everything recorded before the call (an approval, a device coming online or
        reporting its tamper switch) has then been looked at: commands run, requests
        expired, grants sent. For callers that must show what the agent made of a step
        (the tests, the demo) without guessing how long that takes.
        """
        if self._task is None:
            raise RuntimeError("the agent loop is not running: start() it first")
        target = self._passes_begun + 1  # a pass under way may have begun before the step
        self.wake()
        async with self._passes:
            await asyncio.wait_for(self._passes.wait_for(lambda: self._passes_done >= target), timeout)

    async def stop(self) -> None:
        """Stop the loop and let go of the devices, staying the writer (the flash tool needs the port)."""
        if self.sync is not None:  # an unacknowledged batch is simply pushed again next time
            await self.sync.stop()
            self.sync = None
        if self._task is not None:
            # Let the loop finish its step: cancelling it could cut a database transaction in half.
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None
        if self.devices is not None:
            await self.devices.stop()
            self.devices = None
            if self.evidence is not None:
                await self.evidence.close()  # after the devices: no press comes in unobserved
                self.evidence = None
            if self.person is not None:
                await self.person.close()
                self.person = None
            try:
                async with self.recorder.step():
                    await self.recorder.record(P.AGENT_STOPPED, {"pid": os.getpid()})
            except Exception:
                log.exception("could not record the agent's stop")
        if self.evidence is not None:  # start() stopped half-way
            await self.evidence.close()
            self.evidence = None
        if self.person is not None:
            await self.person.close()
            self.person = None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.stop()
        try:
            await self.ledger.close()
            await self.db.close()
        finally:
            self._lock.release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- steps ---------------------------------------------------------------------------

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
        """File a seal request with its original document; it waits for approval (pending)."""
        request = await self.desk.file_request(applicant, matter, seal, presses, document, amount_fen, device)
        self.wake()
        return request

    async def approve(
        self, request_id: str, approver: str, account: str | None = None, comment: str | None = None
    ) -> RequestView:
        """One approval; the final one makes the grant due. ``Refused`` under separation of duties.
        ``account``: who acted for ``approver`` (a console account; by default the host's operator);
        ``comment``: their 审批意见."""
        request = await self.desk.approve(request_id, approver, account, comment)
        self.wake()
        return request

    async def reject(self, request_id: str, approver: str, reason: str, account: str | None = None) -> RequestView:
        request = await self.desk.reject(request_id, approver, reason, account)
        self.wake()
        return request

    async def withdraw(self, request_id: str, applicant: str, account: str | None = None) -> RequestView:
        """The applicant takes back a request nobody has decided yet (撤销)."""
        return await self.desk.withdraw(request_id, applicant, account)

    async def remind(self, request_id: str, applicant: str, account: str | None = None) -> list[str]:
        """The applicant reminds the approvers the request awaits (催办); who was reminded."""
        return await self.desk.remind(request_id, applicant, account)

    async def hand_over(
        self, request_id: str, approver: str, to: str, reason: str, account: str | None = None
    ) -> RequestView:
        """The approver whose turn it is hands their step to another approver (转交, edge/seal/handover.py)."""
        return await self.desk.hand_over(request_id, approver, to, reason, account)

    async def mark_urgent(self, request_id: str, applicant: str, reason: str, account: str | None = None) -> RequestView:
        """The applicant asks for an urgent use outside the seal's hours (加急用印): a reason, one more approver."""
        return await self.desk.mark_urgent(request_id, applicant, reason, account)

    async def regrant(self, request_id: str, approver: str, account: str | None = None) -> RequestView:
        """Re-issue a grant that lapsed unused, as the final approver, once (edge/seal/regrant.py); it is sent now."""
        request = await self.desk.regrant(request_id, approver, account)
        self.wake()
        return request

    async def record_account(self, kind: str, body: dict[str, Any]) -> int:
        """Record a change of a console account (edge/web/accounts.py); the entry's index."""
        if kind not in ACCOUNT_KINDS:
            raise InputError(f"不是账号记录 not an account entry: {kind!r}", "bad_command")
        entry = await self._record_one(kind, body)
        return int(entry.index)

    async def enrol(
        self, identity: DeviceIdentity, device_name: str | None = None, device_id: str | None = None
    ) -> DeviceView:
        """Enrol a board from its identity file; connect it at once if the agent is running."""
        device = choose_device(self.config, identity, device_name, device_id)
        await store_key(self.db, self.master, identity)
        return await self.record_enrolment(device.name, identity.device_id, identity.fingerprint)

    async def record_enrolment(self, name: str, device_id: str, fingerprint: str) -> DeviceView:
        """Record an enrolment whose key is already stored (``qinglian edge enrol`` stores it, then queues this)."""
        view = await record_enrolment(self.recorder, self.config, self.master, name, device_id, fingerprint)
        if self.devices is not None:
            await self._connect(name)
        return view

    # -- the central store -----------------------------------------------------------------

    def _sync_client(self) -> SyncClient:
        from edge.kernel.sync import SyncClient

        central = self.config.central
        assert central is not None
        return SyncClient(
            self.ledger, central.url, central.edge_id, interval=central.sync_interval_s,
            batch_size=central.batch_size, record=self._record_one, on_config=self.apply_central_config,
            decision_key=central.decision_key,
            document_kinds=[kind for part in self.db.parts.parts for kind in part.from_central],
        )  # fmt: skip

    async def _apply_held_config(self) -> None:
        """A configuration received but not yet applied (the agent stopped in between): apply it now."""
        held = load_received_config(self.config.data_dir)
        if held is None:
            return
        outcomes = await self.ledger.entries_of_kind(CONFIG_APPLIED) + await self.ledger.entries_of_kind(CONFIG_REFUSED)
        last = max(outcomes, key=lambda e: e.index).body.get("hash") if outcomes else None
        if last != held["config_hash"]:
            await self.apply_central_config(held["config"], held["config_hash"])

    async def _record_one(self, kind: str, body: dict[str, Any]) -> Any:
        async with self.recorder.step():
            return await self.recorder.record(kind, body)

    async def apply_central_config(self, received: dict[str, Any], config_hash: str) -> None:
        """Take a configuration from the central store: roster and routing into the approval logic,
        signed firmware releases onto the allow-list; record what was applied or why not.

        Requests already filed keep the route frozen into them; new ones follow the new rules.
        """
        body: dict[str, Any] = {"hash": config_hash, "version": received.get("version")}
        try:
            new = effective_config(self.local_config, received)
        except EdgeError as exc:
            log.error("central configuration %s refused: %s", config_hash[:12], exc.message)
            await self._record_one(CONFIG_REFUSED, {**body, "reason": exc.message})
            return
        self.config = new
        self.desk.config = new
        await asyncio.to_thread(save_applied_config, new.data_dir, received, config_hash)
        body["people"] = sorted(new.people)
        body["routes"] = [rule.name for rule in new.routes]
        allowed, refused = [], []
        fw_doc = received.get("firmware") or {}
        revoked = await firmware.revoke(
            self.recorder, list(fw_doc.get("revoked", [])), fw_doc.get("min_security_version"), config_hash
        )
        releases = fw_doc.get("releases", [])
        for manifest in releases:
            if manifest.get("format") != firmware.FORMAT:
                continue  # a bare hash: the edge allows only releases whose manifest it can verify
            if not self.config.firmware.enforced:
                refused.append({"firmware_hash": manifest["firmware_hash"], "reason": "no_release_key"})
                continue
            try:
                await self.allow_release(manifest)
                allowed.append(manifest["firmware_hash"])
            except EdgeError as exc:
                refused.append({"firmware_hash": manifest.get("firmware_hash"), "reason": exc.message})
        if allowed or refused or revoked:
            body["firmware_allowed"] = allowed
            body["firmware_refused"] = refused
            body["firmware_revoked"] = revoked
        await self._record_one(CONFIG_APPLIED, body)
        log.info("central configuration %s applied", config_hash[:12])

    # -- firmware ------------------------------------------------------------------------

    async def allow_release(self, manifest: dict[str, Any]) -> Release:
        """Put a release on the firmware allow-list, after checking its signature with the configured key."""
        if self.config.firmware.release_pubkey is None:
            raise InputError("配置中没有发布公钥 set [firmware] release_pubkey in the config first", "no_release_key")
        return await firmware.allow(self.recorder, self.config, firmware.load_public_key(self.config.firmware.release_pubkey), manifest)

    async def open_maintenance(self, device_name: str, seconds: int) -> int:
        """Open the device's REPL for ``seconds`` (an authenticated, recorded maintenance grant)."""
        if not 1 <= seconds <= MAX_MAINTENANCE_S:
            raise InputError(f"维护时长应为 1–{MAX_MAINTENANCE_S} 秒 seconds must be 1..{MAX_MAINTENANCE_S}", "bad_seconds")
        view = await self.db.device_by_name(device_name)
        if view is None:
            raise NotFound(f"设备未登记 device {device_name!r} is not enrolled")
        if self.devices is None:
            raise Unavailable("代理未运行 the agent is not running", "not_running")
        return await self.devices.open_maintenance(view.device_id, seconds)

    # -- reading -------------------------------------------------------------------------

    async def get_request(self, request_id: str) -> RequestView:
        async with self.recorder.step():
            request = await self.db.request(request_id)
        if request is None:
            raise NotFound(f"没有此申请 no request {request_id!r}")
        return request

    async def list_requests(self, status: str | None = None, person: str | None = None) -> list[RequestView]:
        """Requests, oldest first; with ``person``, those they filed, keep the seal for, or are to approve."""
        if person is not None:
            self.config.person(person)
        async with self.recorder.step():
            requests = await self.db.requests(status=status)
        return filter_for_person(requests, person)

    async def request_detail(self, request_id: str) -> dict[str, Any]:
        """The request with its grants and recorded presses."""
        async with self.recorder.step():
            request = await self.db.request(request_id)
            if request is None:
                raise NotFound(f"没有此申请 no request {request_id!r}")
            grants = await self.db.grants(request_id=request_id)
            presses = await self.db.press_events(request_id)
        return {**request.to_dict(), "grants": [asdict(g) for g in grants], "press_events": presses}

    async def request_records(self, request_id: str) -> list[Entry]:
        """The entries the request's page shows as written (photo checks, hand-overs, person photos), in order."""
        async with self.recorder.step():
            indexes = await self.db.request_records(request_id)
        return await self.ledger.entries_at(indexes)

    async def device_status(self) -> list[dict[str, Any]]:
        async with self.recorder.step():
            views = await self.db.devices()
        result = []
        for view in views:
            data = view.to_dict()
            if self.devices is not None:
                data["online"] = self.devices.is_online(view.device_id)
                data["last_status"] = self.devices.live_status(view.device_id) or data["last_status"]
            result.append(data)
        return result

    async def wait_request(self, request_id: str, statuses: Iterable[str], timeout: float = 30.0) -> RequestView:
        """Wait until the request is in one of ``statuses``; ``TimeoutError`` otherwise."""
        wanted = frozenset(statuses)

        async def reached() -> RequestView | None:
            request = await self.db.request(request_id)
            return request if request is not None and request.status in wanted else None

        result: RequestView = await self.recorder.wait_for(reached, timeout)
        return result

    async def wait_online(self, device_name: str, timeout: float = 15.0) -> DeviceView:
        async def online() -> DeviceView | None:
            view = await self.db.device_by_name(device_name)
            if view is None or self.devices is None or not self.devices.is_online(view.device_id):
                return None
            return view if view.online else None

        result: DeviceView = await self.recorder.wait_for(online, timeout)
        return result

    # -- steps handed over by other processes ------------------------------------------------

    async def process_commands(self) -> int:
        """Run every queued command (from the CLI); return how many ran."""
        count = 0
        while True:
            # The database connection is shared: every use of it takes the writer's step lock.
            async with self.recorder.step():
                claimed = await self.db.claim_command()
            if claimed is None:
                break
            command_id, kind, args = claimed
            try:
                result = await self.execute(kind, args)
                payload: dict[str, Any] = {"ok": True, "result": result}
            except EdgeError as exc:
                payload = {"ok": False, "error": exc.to_dict()}
            except Exception as exc:  # never leave a caller waiting on a crash
                log.exception("command %s %s failed", command_id, kind)
                payload = {"ok": False, "error": EdgeError(f"内部错误 internal error: {exc!r}", "internal").to_dict()}
            async with self.recorder.step():
                await self.db.finish_command(command_id, payload["ok"], payload, utc_now())
            count += 1
        return count

    async def execute(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        """One queued step, through the registry of every part's commands."""
        return await commands.execute(self.db.parts.commands, self, kind, args)


async def submit(
    config: EdgeConfig, kind: str, args: dict[str, Any], timeout: float = commands.DEFAULT_TIMEOUT_S
) -> dict[str, Any]:
    """Hand one step to the writer of ``config``'s data folder (the running agent, or this process for a moment
    when none runs); its result, or its error raised here."""
    return await commands.submit(config, kind, args, drain, timeout)


async def drain(config: EdgeConfig, lock: WriterLock) -> None:
    """Be the writer with ``lock`` for a moment: run every queued command, then let go."""
    agent = await EdgeAgent.open(config, lock=lock)
    try:
        await agent.process_commands()
    finally:
        await agent.close()
