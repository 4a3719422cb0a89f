"""``qinglian flash``: put a signed release on a seal, provision it, and prove it boots.

Steps: (optionally) write a MicroPython image with esptool; reach the REPL —
a factory-fresh board has it open, a provisioned one opens it only through a
maintenance window the edge grants; check it is an ESP32; copy every file of
the release with mpremote and check each on the device by its SHA-256; remove
code files the release does not have; provision an identity (device id from
the chip, a new key made here) on a fresh board, and again on a board the
edge has blocked for using a grant it never issued (its old key is out); reset; watch the board come
back and report the release's firmware hash; only then enrol the new key with
the edge, put the release on the allow-list and record the flash. A failure
at any step says which and why, and leaves nothing half-provisioned
registered with the edge (its ledger records the failed attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

from edge.agent import EdgeAgent
from edge.kernel.config import DeviceConfig
from edge.kernel.errors import EdgeError
from edge.kernel.writerlock import WriterLock
from edge.seal import projection as P
from edge.seal.devicelink import DeviceLink, DeviceUnavailable
from edge.seal.enrolment import unseal_key
from edge.seal.firmware import CODE_SUFFIXES
from edge.seal.keystore import DeviceIdentity
from tools.progress import Progress
from tools.release import Release

IDENTITY_FILE = "identity.json"
MAINTENANCE_S = 600
_REPL_TIMEOUT_S = 3
_READ_TIMEOUT_S = 5
_BOOT_TIMEOUT_S = 30.0


class FlashError(Exception):
    """One step of flashing failed; the message names the step and the cause."""


@dataclass(frozen=True)
class FlashReport:
    device_id: str
    device: str
    provisioned: bool
    version: str
    security_version: int
    firmware_hash: str
    files: int
    seconds: float


def _write_image(port: str, image: Path) -> None:
    import esptool

    if port.startswith("socket://") or not Path(port).exists():
        raise FlashError(f"写入 MicroPython 映像需要串口设备 an image can only be written to a serial device, not {port}")
    try:
        esptool.main(["--port", port, "--baud", "460800", "write_flash", "0x1000", str(image)])
    except (esptool.FatalError, OSError) as exc:
        raise FlashError(f"esptool 写入失败 esptool failed: {exc}") from exc


def _open_repl(port: str) -> SerialTransport | None:
    """The raw REPL without a soft reset (which would end a maintenance window); None if it stays shut."""
    try:
        # A read timeout, so that a board that resets mid-copy ends in an error, not a hang.
        transport = SerialTransport(port, baudrate=115200, timeout=_READ_TIMEOUT_S)
    except TransportError as exc:
        raise FlashError(f"找不到设备 no device at {port}: {exc}") from exc
    try:
        # mpremote prints what it got when the REPL does not answer; that is no news here.
        with contextlib.redirect_stdout(io.StringIO()):
            transport.enter_raw_repl(soft_reset=False, timeout_overall=_REPL_TIMEOUT_S)
    except TransportError:
        transport.close()
        return None
    return transport


def _check_board(transport: SerialTransport) -> str:
    """The chip's id as the device id; refuse anything that is not an ESP32 running MicroPython."""
    try:
        transport.exec("import esp32, machine")
        uid = transport.eval("machine.unique_id()")
    except TransportExecError as exc:
        raise FlashError("板型不符 wrong board: this is not an ESP32 running MicroPython") from exc
    if not isinstance(uid, bytes) or not uid:
        raise FlashError("板型不符 wrong board: no machine.unique_id()")
    return "QL-" + uid.hex().upper()


def _copy_release(transport: SerialTransport, release: Release, progress: Progress) -> None:
    names = sorted(release.files)
    for i, name in enumerate(names, 1):
        data = (release.folder / name).read_bytes()
        progress.bar(i, len(names), name)
        transport.fs_writefile(name, data, chunk_size=512)
        digest = transport.fs_hashfile(name, "sha256").hex()
        if digest != release.files[name]:
            raise FlashError(f"校验失败 hash mismatch on the device for {name}: {digest} != {release.files[name]}")
    # Code the release does not have would shadow or outlive it (app.py beside app.mpy).
    for entry in transport.fs_listdir(""):
        if entry.name.endswith(CODE_SUFFIXES) and entry.name not in release.files:
            transport.fs_rmfile(entry.name)


def _read_identity_id(transport: SerialTransport) -> str | None:
    """The device id in an existing identity file (the key stays on the device)."""
    if not transport.fs_exists(IDENTITY_FILE):
        return None
    transport.exec(f"import json\n_f = open({IDENTITY_FILE!r})\n_i = json.loads(_f.read())['device_id']\n_f.close()")
    device_id = transport.eval("_i")
    return device_id if isinstance(device_id, str) else None


def _provision(transport: SerialTransport, device_id: str) -> bytes:
    key = os.urandom(32)  # made here, written to the device, sealed at the edge; never printed
    data = json.dumps({"device_id": device_id, "key": key.hex()}).encode()
    transport.fs_writefile(IDENTITY_FILE, data)
    if transport.fs_hashfile(IDENTITY_FILE, "sha256") != hashlib.sha256(data).digest():
        raise FlashError("身份写入校验失败 the identity file did not verify on the device")
    return key


def _reset(transport: SerialTransport) -> None:
    try:
        transport.exec_raw_no_follow("import machine\nmachine.reset()")
    finally:
        transport.close()


def _await_boot(port: str, device_id: str, key: bytes, firmware_hash: str) -> None:
    """Watch (never acknowledge) the board's hello after the reset: it must run the new release."""
    link = DeviceLink(port, device_id, key, acknowledge=False)
    link.start()
    try:
        hello = link.wait_online(timeout=_BOOT_TIMEOUT_S)
    except DeviceUnavailable as exc:
        raise FlashError(f"设备未重新启动 the device did not come back after the reset: {exc}") from exc
    finally:
        link.close()
    if hello.get("fw") != firmware_hash:
        raise FlashError(f"设备运行的固件不符 the device runs firmware {hello.get('fw')}, not the release's {firmware_hash}")


async def _maintenance_window(agent: EdgeAgent, device: DeviceConfig) -> None:
    """Ask the edge to open the seal's REPL, and wait until the seal says it did."""
    view = await agent.db.device_by_name(device.name)
    if view is None:
        raise FlashError(
            f"设备 {device.name} 未登记，REPL 关闭 the board answers no REPL and {device.name} is not enrolled here: "
            "it is provisioned for another edge (erase it with --micropython-image to start over)"
        )
    await agent.start()
    try:
        await agent.wait_online(device.name, timeout=_BOOT_TIMEOUT_S)
        no = await agent.open_maintenance(device.name, MAINTENANCE_S)

        async def opened() -> bool:
            entries = await agent.ledger.entries_of_kind(P.seal_kind("maintenance_open"))
            return any(e.body["device_id"] == view.device_id and e.body["event"]["no"] == no for e in entries)

        await agent.recorder.wait_for(opened, _BOOT_TIMEOUT_S)
    except (TimeoutError, EdgeError) as exc:
        raise FlashError(f"维护窗口未打开 the maintenance window did not open: {exc}") from exc
    finally:
        await agent.stop()  # free the serial port for mpremote


async def flash(
    port: str,
    release: Release,
    agent: EdgeAgent,
    device: DeviceConfig,
    image: Path | None = None,
    progress: Progress | None = None,
) -> FlashReport:
    progress = progress or Progress(7)
    started = time.monotonic()
    if image is not None:
        progress.step(f"写入 MicroPython 映像 write the MicroPython image {image.name}")
        await asyncio.to_thread(_write_image, port, image)
    progress.step(f"连接设备 connect to {port}")
    transport = await asyncio.to_thread(_open_repl, port)
    if transport is None:
        progress.step("请求维护窗口 ask the edge for a maintenance window")
        await _maintenance_window(agent, device)
        transport = await asyncio.to_thread(_open_repl, port)
        if transport is None:
            raise FlashError("维护窗口打开后仍无 REPL the REPL stayed shut after the maintenance window opened")
    device_id = ""
    try:
        progress.step("检查板型 check the board")
        device_id = await asyncio.to_thread(_check_board, transport)
        existing = await asyncio.to_thread(_read_identity_id, transport)
        if existing is not None and existing != device_id:
            raise FlashError(f"身份文件属于 {existing}，芯片是 {device_id} the identity on the board is not this chip's")
        progress.step(f"写入并校验 {len(release.files)} 个文件 copy and verify the release ({release.version})")
        await asyncio.to_thread(_copy_release, transport, release, progress)
        key: bytes | None = None
        enrolled = await agent.db.device(device_id) if existing is not None else None
        # A blocked seal's key was used by someone else: only a new one lifts the block (edge/enrolment.py).
        provision = existing is None or (enrolled is not None and enrolled.block is not None)
        if provision:
            if existing is None:
                progress.step(f"配置身份 provision {device_id}")
            else:
                progress.step(f"重新配置身份 re-provision {device_id}: it used a grant the edge never issued; a new key replaces the old")
            key = await asyncio.to_thread(_provision, transport, device_id)
        else:
            key = await unseal_key(agent.db, agent.master, device_id)
            if key is None:
                raise FlashError(f"{device_id} 已有身份但本边缘没有其密钥 is provisioned, but this edge holds no key for it")
        progress.step("重启并等待启动 reset and wait for the boot")
        await asyncio.to_thread(_reset, transport)
        transport = None
        await asyncio.to_thread(_await_boot, port, device_id, key, release.firmware_hash)
        progress.step("登记 record with the edge")
        if provision:
            await agent.enrol(DeviceIdentity(device_id, key), device.name)
        if agent.config.firmware.enforced:
            await agent.allow_release(release.manifest)
        report = FlashReport(
            device_id, device.name, provision, release.version, release.security_version,
            release.firmware_hash, len(release.files), round(time.monotonic() - started, 2),
        )  # fmt: skip
        async with agent.recorder.step():
            body = {k: v for k, v in asdict(report).items() if k != "seconds"}  # the ledger takes no floats
            await agent.recorder.record(P.FIRMWARE_FLASHED, {**body, "ms": int(report.seconds * 1000), "target": release.manifest["target"]})
        progress.done(f"{device_id} 运行 runs {release.version} ({release.firmware_hash[:12]}…)")
        return report
    except (FlashError, TransportError, OSError) as exc:
        async with agent.recorder.step():
            await agent.recorder.record(
                P.FIRMWARE_FLASH_FAILED,
                {"device_id": device_id or None, "device": device.name, "version": release.version, "reason": str(exc)},
            )
        if isinstance(exc, FlashError):
            raise
        raise FlashError(f"刷写失败 flashing failed: {exc}") from exc
    finally:
        if transport is not None:
            transport.close()


def writer_lock_or_fail(data_dir: Path) -> WriterLock:
    lock = WriterLock.try_acquire(data_dir)
    if lock is None:
        raise FlashError(
            "边缘代理正在运行，占用着串口 the edge agent is running and holds the serial port: "
            "stop it first (systemctl stop qinglian-edge), flash, then start it again"
        )
    return lock
