"""``qinglian demo``: the whole seal loop, headless, on the simulated board.

Starts a simulated board (state in DATA/board), writes a config on first run
(DATA/edge.toml), enrols the board from its flash identity, signs a release of
this checkout's firmware with the demo's own key and allows only that (when the
firmware changed since the last run, it flashes the board through a maintenance
window first, as a technician would), runs the agent in-process, files a request with a generated original, approves it through
the normal two-approver route, waits for the unlock, presses every allowed
press through the board's control port, waits for the relock and the request
closed, verifies the ledger, and reports. A second run with the same DATA
continues the same ledger and the same board.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2

from edge.agent import EdgeAgent
from edge.kernel.config import SEAL_NAMES, EdgeConfig, load_config
from edge.kernel.errors import EdgeError
from edge.ledger import verify_ledger
from edge.modules import SECTIONS
from edge.ledger.private import open_private, private_dir
from edge.ocr.desk import seal_zone
from edge.ocr.settings import CameraSettings
from edge.seal.db import CLOSED, FINAL_STATES, IN_USE, PENDING
from edge.seal.evidence import photo_summary
from edge.seal.firmware import CODE_SUFFIXES, firmware_hash
from edge.seal.keystore import DeviceIdentity, key_fingerprint
from edge.seal.person import PERSON_PHOTO
from edge.seal.projection import seal_kind
from hostsim import flash as sim_flash
from hostsim import pages
from hostsim.control import SimBoard
from tools import flash, release, releasekey
from tools.progress import Progress
from tools.release import Release
from tools.source import FIRMWARE_DIR

DEVICE_NAME = "official-1"
RELEASE_DIR = "release"  # in DATA: the demo's release key and its signed builds of the firmware
RELEASE_KEY = "release.key"
DEMO_SECURITY_VERSION = 1
APPLICANT = "liming"
APPROVERS = ("zhangwei", "chenjing")  # the chain route for the official seal below 10,000 yuan
DEFAULT_PRESSES = 3
_STEP_TIMEOUT_S = 30.0

log = logging.getLogger("edge.demo")


def demo_config(device_id: str, url: str) -> str:
    """The config the demo writes into DATA on its first run (paths relative to DATA)."""
    return f"""\
# 清廉 demo configuration, written by `qinglian demo` on its first run.
village = "青莲村"
data_dir = "."
key_file = "secrets/master.key"

[firmware]
# The demo signs its own release of this checkout's firmware (DATA/release); only that may run.
release_pubkey = "{releasekey.public_path(Path(RELEASE_DIR) / RELEASE_KEY)}"

[web]
# `qinglian demo --serve` listens where --listen says. Uploads: each account at most this much a day, and none
# while the disk under the data folder has less than min_free_mb free (the admin sees a warning).
upload_quota_mb_per_day = 50
min_free_mb = 1024

[timing]
approval_ttl_s = 600
use_window_s = 120
heartbeat_s = 1.0
poll_s = 0.3

[[devices]]
name = "{DEVICE_NAME}"
seal = "official"
url = "{url}"   # the demo's board gets a fresh port each run; the demo uses its current one
custodian = "wangfang"
device_id = "{device_id}"

[[people]]
id = "liming"
name = "李明"
roles = ["applicant"]

[[people]]
id = "wangfang"
name = "王芳"
roles = ["custodian", "applicant"]

[[people]]
id = "zhangwei"
name = "张伟"
roles = ["approver"]

[[people]]
id = "chenjing"
name = "陈静"
roles = ["approver"]

[[people]]
id = "zhaolei"
name = "赵磊"
roles = ["approver"]

[[routes]]
name = "公章-一般"
seal = ["official", "contract"]
max_fen = 1000000
mode = "chain"
approvers = ["zhangwei", "chenjing"]

[[routes]]
name = "公章-大额"
seal = ["official", "contract"]
min_fen = 1000000
mode = "n_of_m"
n = 2
approvers = ["zhangwei", "chenjing", "zhaolei"]

[[routes]]
name = "财务章与法人章"
seal = ["finance", "legal_rep"]
mode = "n_of_m"
n = 2
approvers = ["zhangwei", "chenjing", "zhaolei"]
"""


def contract_spec(now: datetime, seed: int | None = None) -> pages.PageSpec:
    """The demo's contract page dated ``now``, its layout drawn from ``seed`` (the clock's seconds when None,
    so each demo's page differs; ``benchmarks/bench_impression.py`` draws many)."""
    return pages.random_spec(
        int(now.timestamp()) if seed is None else seed, title="村道修缮工程合同", party_a="青莲村股份经济合作社",
        amount_fen=250000, date=now.date(), number=f"QL-{now.strftime('%Y%m%d%H%M%S')}",
    )  # fmt: skip


def write_contract_page(path: Path, now: datetime | None = None) -> Path:
    """A printed contract page (PNG), as a scan of an original would be filed and then stamped."""
    private_dir(path.parent)
    ok, png = cv2.imencode(".png", pages.render_page(contract_spec(now or datetime.now(UTC))).image)
    if not ok:
        raise RuntimeError("could not encode the demo document")
    with open_private(path) as f:
        f.write(bytes(png))
    return path


def demo_release(data: Path, source: Path = FIRMWARE_DIR) -> Release:
    """A signed source release of ``source`` in DATA/release, under the demo's own release key (made on the
    first run); built again only when the firmware changed, so the allow-list grows by one per change."""
    folder = data / RELEASE_DIR
    key = folder / RELEASE_KEY
    if not key.exists():
        folder.mkdir(parents=True, exist_ok=True)
        releasekey.generate(key)
    private = releasekey.load_private(key)
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=folder))
    try:
        built = release.build(staging / "out", private, DEMO_SECURITY_VERSION, target="source", source=source)
        final = folder / built.firmware_hash[:16]
        if not final.exists():
            built.folder.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return release.load(final, private.public_key())


def board_firmware(board: SimBoard) -> str:
    """The firmware hash of the code in the simulated board's flash, read as a technician with the board in
    hand would (the board reports the same value at boot)."""
    code = [p for p in sim_flash.prepare(board.state).iterdir() if p.suffix in CODE_SUFFIXES]
    return firmware_hash({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in code})


async def bring_up(agent: EdgeAgent, board: SimBoard, built: Release) -> bool:
    """Enrol the board, allow the demo's release, and flash it through the technician's path (a maintenance
    window) when the board runs other code, e.g. after the checkout's firmware changed. True when it flashed."""
    await enrol_board(agent, board)
    if agent.config.firmware.enforced:
        await agent.allow_release(built.manifest)
    if board_firmware(board) == built.firmware_hash:
        return False
    await flash.flash(board.serial_url, built, agent, agent.config.device(DEVICE_NAME), progress=Progress(6))
    return True


def camera_for_board(config: EdgeConfig, url: str, face_url: str | None = None) -> CameraSettings:
    """The config's [camera] pointed at a simulated board's virtual cameras, the desk's and the face camera's
    (their ports change every run)."""
    if config.camera is not None:
        return replace(config.camera, source=url, person_source=face_url)
    return CameraSettings(source=url, monitored_area=seal_zone(), person_source=face_url)


def board_config(data: Path, board: SimBoard) -> EdgeConfig:
    """The demo config (written on the first run) pointed at this run of the simulated board, and at
    its virtual desk camera when it has one (both ports change every run)."""
    config_path = data / "edge.toml"
    if not config_path.exists():
        with open_private(config_path, "w") as f:
            f.write(demo_config(board.identity().device_id, board.serial_url))
    config = load_config(config_path, SECTIONS).with_device_url(DEVICE_NAME, board.serial_url)
    if board.camera_url is not None:
        config = replace(config, camera=camera_for_board(config, board.camera_url, board.face_camera_url))  # photos on
        # the sleeve holds the device's seal, this village's of the configured kind: what the photo check expects
        board.control.camera("fit", **pages.village_seal(config.village, SEAL_NAMES[config.device(DEVICE_NAME).seal]))
    return config


async def enrol_board(agent: EdgeAgent, board: SimBoard) -> None:
    """Enrol the simulated board, unless this very board (id and key) already is."""
    ident = board.identity()
    enrolled = await agent.db.device_by_name(DEVICE_NAME)
    if enrolled is None or enrolled.device_id != ident.device_id or enrolled.fingerprint != key_fingerprint(ident.key):
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE_NAME)


async def run_demo(data: Path, presses: int = DEFAULT_PRESSES, firmware: Path = FIRMWARE_DIR) -> dict[str, Any]:
    started = time.monotonic()
    private_dir(data)
    built = await asyncio.to_thread(demo_release, data, firmware)
    board = await asyncio.to_thread(SimBoard(data / "board", camera=True).start)
    try:
        ident = board.identity()
        config = board_config(data, board)
        board_before = (await asyncio.to_thread(board.control.state))["presses_total"] or 0

        agent = await EdgeAgent.open(config)
        try:
            flashed = await bring_up(agent, board, built)
            await agent.start()
            await agent.wait_online(DEVICE_NAME, _STEP_TIMEOUT_S)

            now = datetime.now(UTC)
            document = write_contract_page(data / "inbox" / f"demo-{now.strftime('%Y%m%dT%H%M%S%fZ')}.png", now)
            request = await agent.file_request(
                APPLICANT, "村道修缮工程款拨付证明盖章", "official", presses, document, amount_fen=250000
            )
            await agent.wait_request(request.id, {PENDING}, _STEP_TIMEOUT_S)  # the original is read first
            t_approve = time.monotonic()
            for approver in APPROVERS:
                await agent.approve(request.id, approver)
            await agent.wait_request(request.id, {IN_USE, *FINAL_STATES}, _STEP_TIMEOUT_S)
            unlock_s = time.monotonic() - t_approve
            # the custodian lays the approved page under the desk camera, then stamps it
            await asyncio.to_thread(board.control.camera, "place", file=str(document))
            for _ in range(presses):
                await asyncio.to_thread(board.control.press)
            final = await agent.wait_request(request.id, FINAL_STATES, _STEP_TIMEOUT_S)
            recorded = [
                e for e in await agent.ledger.entries_of_kind(seal_kind("press")) if e.body.get("request_id") == request.id
            ]
            if agent.evidence is not None:
                await agent.evidence.idle(_STEP_TIMEOUT_S + 20 * presses)
            photos = await photo_summary(agent.ledger, request.id)
            if agent.person is not None:
                await agent.person.idle(_STEP_TIMEOUT_S)
            person = [e for e in await agent.ledger.entries_of_kind(PERSON_PHOTO) if e.body.get("request_id") == request.id]
        finally:
            await agent.close()

        report = await asyncio.to_thread(verify_ledger, config.data_dir)
        state = await asyncio.to_thread(board.control.state)
    finally:
        await asyncio.to_thread(board.stop)

    board_after = state["presses_total"] or 0
    result: dict[str, Any] = {
        "presses_approved": final.presses,
        "presses_recorded": len(recorded),
        "presses_used": final.presses_used,
        "lock_final": state["lock"],
        "ledger_entries": report.entries,
        "ledger_checkpoints": report.checkpoints,
        "ledger_verified": report.ok,
        "ledger_report": report.reason,
        "data_dir": str(data),
        "request_id": final.id,
        "request_status": final.status,
        "close_reason": final.reason,
        "device_id": ident.device_id,
        "board_presses_total": board_after,
        "board_presses_this_run": board_after - board_before,
        "approve_to_unlock_s": round(unlock_s, 3),
        "firmware_hash": built.firmware_hash,
        "firmware_flashed": flashed,
        **photos,
        "person_photos": len(person),  # the face camera's: at the unlock and at the last press
        "person_photos_no_face": sum(1 for e in person if e.body.get("anomaly") == "no_person"),
        "seconds": round(time.monotonic() - started, 2),
    }
    result["ok"] = (
        final.status == CLOSED
        and result["presses_recorded"] == result["presses_approved"] == final.presses_used == result["board_presses_this_run"]
        and result["lock_final"] == "locked"
        and report.ok
        and photos["photos"] == photos["photos_matched"] == len(recorded)  # a photo per press, each matching
    )
    return result


def register(subparsers: argparse._SubParsersAction, serve: Callable[[argparse.Namespace], int]) -> None:  # type: ignore[type-arg]
    """``qinglian demo``; ``serve`` runs it with the web console (``--serve``), which this module does not import."""
    demo = subparsers.add_parser(
        "demo",
        help="演示 run the whole seal loop on the simulated board",
        description="Simulated board → request → two approvals → grant → presses → relock → ledger verified.",
    )
    demo.add_argument("--data", type=Path, help="数据目录 keep data here (a second run continues it); default: a new temp dir")
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.add_argument("--presses", type=int, default=DEFAULT_PRESSES, help="presses to approve and make (1..100)")
    demo.add_argument("--serve", action="store_true", help="网页控制台 run board + agent + web console until Ctrl-C (edge/web/demo.py)")
    demo.add_argument("--listen", default="127.0.0.1:8080", help="with --serve: the console's host:port")
    demo.set_defaults(func=lambda args: serve(args) if args.serve else _demo(args))


def _demo(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data = args.data if args.data is not None else Path(tempfile.mkdtemp(prefix="qinglian-demo-"))
    try:
        result = asyncio.run(run_demo(data.resolve(), args.presses))
    except (EdgeError, TimeoutError, RuntimeError, OSError) as exc:
        message = exc.message if isinstance(exc, EdgeError) else f"{type(exc).__name__}: {exc}"
        if args.json:
            print(json.dumps({"ok": False, "error": message, "data_dir": str(data)}, ensure_ascii=False))
        print(f"演示失败 demo failed: {message} (data in {data})", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        mark = "✓" if result["ok"] else "✗"
        print(
            f"{mark} 清廉演示 Qinglian demo — 申请 request {result['request_id']} ({result['request_status']})\n"
            f"  批准用印 approved presses: {result['presses_approved']}; 台账记录 recorded: {result['presses_recorded']}; "
            f"设备计数 board counter +{result['board_presses_this_run']} (total {result['board_presses_total']})\n"
            f"  锁状态 lock: {result['lock_final']}; 批准→开锁 approve→unlock {result['approve_to_unlock_s']} s\n"
            f"  台账 ledger: {result['ledger_entries']} 条 entries, "
            f"{'核验通过 verified' if result['ledger_verified'] else '核验失败 NOT verified'} — {result['ledger_report']}\n"
            f"  照片 photos: {result['photos']}, 与原件一致 matching the original: {result['photos_matched']}"
            f"{'; 标记 flags: ' + ', '.join(result['photo_flags']) if result['photo_flags'] else ''}\n"
            f"  数据目录 data: {result['data_dir']}  ({result['seconds']} s)\n"
            f"  核验 verify again: qinglian ledger verify --data {result['data_dir']}"
        )
    return 0 if result["ok"] else 1
