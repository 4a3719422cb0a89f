"""``qinglian flash`` against a hostsim board: provision a factory-fresh board, re-flash a provisioned one
through a maintenance window, and the edge's allow-list keeping grants from unknown or downgraded firmware."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from edge_support import DEVICE, document, ledger_rows, qinglian, write_config

from edge import firmware
from edge.agent import EdgeAgent
from edge.config import EdgeConfig, load_config
from edge.db import CLOSED
from edge.keystore import DeviceIdentity
from hostsim.control import SimBoard
from hostsim.flash import FIRMWARE_DIR, read_identity
from tools import flash, release, releasekey
from tools.progress import Progress


@pytest.fixture(scope="module")
def release_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "release.pem"
    releasekey.generate(path)
    return path


def build(tmp: Path, key: Path, security_version: int, name: str, source: Path = FIRMWARE_DIR) -> release.Release:
    return release.build(tmp / name, releasekey.load_private(key), security_version, target="source", source=source)


def edge_config(tmp: Path, url: str, key: Path) -> EdgeConfig:
    path = write_config(tmp / "edge", url)
    with path.open("a", encoding="utf-8") as f:
        f.write(f'\n[firmware]\nrelease_pubkey = "{releasekey.public_path(key)}"\n')
    return load_config(path)


async def flash_with_agent(config: EdgeConfig, port: str, built: release.Release) -> flash.FlashReport:
    agent = await EdgeAgent.open(config)
    try:
        return await flash.flash(port, built, agent, config.device(DEVICE), progress=Progress(7))
    finally:
        await agent.close()


async def one_use(config: EdgeConfig, board: SimBoard, presses: int = 1) -> str:
    async with await EdgeAgent.open(config) as agent:
        await agent.start()
        await agent.wait_online(DEVICE)
        request = await agent.file_request("liming", "村务证明", "official", presses, document(config.data_dir.parent))
        await agent.approve(request.id, "zhangwei")
        await agent.approve(request.id, "chenjing")
        await agent.wait_request(request.id, ["in_use"])
        for _ in range(presses):
            await asyncio.to_thread(board.control.press)
        return (await agent.wait_request(request.id, [CLOSED])).status


@pytest.fixture
def factory_board(tmp_path: Path) -> Iterator[SimBoard]:
    with SimBoard(tmp_path / "board", factory=True) as board:
        yield board


def test_flash_provisions_a_factory_board(factory_board: SimBoard, tmp_path: Path, release_key: Path) -> None:
    built = build(tmp_path, release_key, 1, "v1")
    config = edge_config(tmp_path, factory_board.serial_url, release_key)
    report = asyncio.run(flash_with_agent(config, factory_board.serial_url, built))
    assert report.provisioned and report.firmware_hash == built.firmware_hash
    ident = read_identity(factory_board.state)
    assert ident is not None and ident.device_id == report.device_id
    flash_root = factory_board.state / "flash"
    assert {p.name for p in flash_root.glob("*.py")} == set(built.files)
    state = factory_board.control.state()
    assert state["running"] and state["firmware"]["fw"] == built.firmware_hash
    kinds = [r["kind"] for r in ledger_rows(config.data_dir)]
    assert "device.enrolled" in kinds and "firmware.release_allowed" in kinds and "firmware.flashed" in kinds
    # The key was made on the technician's side and sealed at the edge; it was never printed.
    assert asyncio.run(one_use(config, factory_board)) == CLOSED


def test_reflash_through_a_maintenance_window(factory_board: SimBoard, tmp_path: Path, release_key: Path) -> None:
    config = edge_config(tmp_path, factory_board.serial_url, release_key)
    asyncio.run(flash_with_agent(config, factory_board.serial_url, build(tmp_path, release_key, 1, "v1")))
    newer_source = tmp_path / "src2"
    newer_source.mkdir()
    for f in FIRMWARE_DIR.glob("*.py"):
        (newer_source / f.name).write_bytes(f.read_bytes())
    (newer_source / "version.py").write_text('VERSION = "0.2.0"\n')
    v2 = build(tmp_path, release_key, 2, "v2", source=newer_source)
    report = asyncio.run(flash_with_agent(config, factory_board.serial_url, v2))
    assert not report.provisioned and report.version == "0.2.0"
    assert factory_board.control.state()["firmware"]["fw"] == v2.firmware_hash
    rows = ledger_rows(config.data_dir)
    kinds = [r["kind"] for r in rows]
    assert "maintenance.issued" in kinds
    assert kinds.count("firmware.flashed") == 2
    # The window's own events reach the ledger once the agent runs again.
    assert asyncio.run(one_use(config, factory_board)) == CLOSED
    kinds = [r["kind"] for r in ledger_rows(config.data_dir)]
    assert "seal.maintenance_open" in kinds and "seal.maintenance_closed" in kinds

    # Back to the older release: it is on the allow-list, but below what this seal has run.
    asyncio.run(flash_with_agent(config, factory_board.serial_url, build(tmp_path, release_key, 1, "v1-again")))

    async def refused() -> list[str]:
        async with await EdgeAgent.open(config) as agent:
            await agent.start()
            await agent.wait_online(DEVICE)
            request = await agent.file_request("liming", "村务证明", "official", 1, document(tmp_path))
            await agent.approve(request.id, "zhangwei")
            await agent.approve(request.id, "chenjing")
            await asyncio.sleep(1.5)
            assert (await agent.get_request(request.id)).status == "approved"  # waits: no grant is sent
            return [r["body"].get("anomaly") for r in ledger_rows(config.data_dir, "device.online")]

    assert firmware.DOWNGRADE in asyncio.run(refused())


def test_unknown_firmware_gets_no_grant(board: SimBoard, tmp_path: Path, release_key: Path) -> None:
    """A board running firmware that no allowed release names (here: the repo's source, unsigned)."""
    config = edge_config(tmp_path, board.serial_url, release_key)
    ident = board.identity()

    async def run() -> str:
        async with await EdgeAgent.open(config) as agent:
            await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
            await agent.start()
            await agent.wait_online(DEVICE)
            request = await agent.file_request("liming", "村务证明", "official", 1, document(tmp_path))
            await agent.approve(request.id, "zhangwei")
            await agent.approve(request.id, "chenjing")
            await asyncio.sleep(1.5)
            return (await agent.get_request(request.id)).status

    assert asyncio.run(run()) == "approved"
    assert board.control.state()["lock"] == "locked"
    online = ledger_rows(config.data_dir, "device.online")
    assert online[-1]["body"]["anomaly"] == firmware.UNKNOWN
    assert not ledger_rows(config.data_dir, "grant.issued")


def test_a_corrupted_file_is_caught_on_the_device(factory_board: SimBoard, tmp_path: Path, release_key: Path) -> None:
    built = build(tmp_path, release_key, 1, "v1")
    (built.folder / "lock.py").write_text("# changed after the release was checked\n")
    config = edge_config(tmp_path, factory_board.serial_url, release_key)
    with pytest.raises(flash.FlashError, match="hash mismatch.*lock.py"):
        asyncio.run(flash_with_agent(config, factory_board.serial_url, built))
    rows = ledger_rows(config.data_dir)
    assert [r["kind"] for r in rows if r["kind"].startswith(("firmware.", "device.enrolled"))] == ["firmware.flash_failed"]
    assert read_identity(factory_board.state) is None  # nothing provisioned, nothing registered


def test_cli_flash(factory_board: SimBoard, tmp_path: Path, release_key: Path) -> None:
    built = build(tmp_path, release_key, 1, "v1")
    config = edge_config(tmp_path, factory_board.serial_url, release_key)
    result = qinglian("flash", "--port", factory_board.serial_url, "--config", str(config.path),
                      "--release", str(built.folder), "--json", timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["provisioned"] and report["firmware_hash"] == built.firmware_hash
    assert "[1/7]" in result.stderr and "✓" in result.stderr  # the progress, step by step
    assert "key" not in result.stdout.lower() or ident_key_not_shown(factory_board, result.stdout + result.stderr)
    missing = qinglian("flash", "--port", "socket://127.0.0.1:1", "--config", str(config.path), "--release", str(built.folder))
    assert missing.returncode == 1 and "no device" in missing.stderr


def ident_key_not_shown(board: SimBoard, output: str) -> bool:
    ident = read_identity(board.state)
    return ident is not None and ident.key.hex() not in output
