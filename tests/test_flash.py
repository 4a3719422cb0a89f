"""``qinglian flash`` against a hostsim board: provision a factory-fresh board, re-flash a provisioned one
through a maintenance window, and the edge's allow-list keeping grants from unknown or downgraded firmware."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from edge_support import DEVICE, document, ledger_rows, qinglian, write_config
from test_micropython_wasm import run_suite

from edge.seal import firmware
from edge.agent import EdgeAgent
from edge.seal.db import CLOSED
from edge.seal.firmware import load_public_key
from edge.kernel.config import EdgeConfig, load_config
from edge.seal.keystore import DeviceIdentity
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


async def dispatch_pass(agent: EdgeAgent) -> None:
    """One pass of the agent's device work, run here: any grant due is sent (and in the ledger) when it returns.

    The proof that an approved request was considered, so "no grant" is read after the
    decision instead of after a sleep."""
    assert agent.devices is not None
    await agent.devices.tick()


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
            await dispatch_pass(agent)
            assert (await agent.get_request(request.id)).status == "approved"  # waits: no grant is sent
            assert request.id not in [r["body"]["request_id"] for r in ledger_rows(config.data_dir, "grant.issued")]
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
            await dispatch_pass(agent)
            status = (await agent.get_request(request.id)).status
            assert not ledger_rows(config.data_dir, "grant.issued")
            # The same seal once its firmware is allowed: the same pass sends the grant.
            await agent.allow_release(build(tmp_path, release_key, 1, "repo").manifest)
            await dispatch_pass(agent)
            assert [r["body"]["request_id"] for r in ledger_rows(config.data_dir, "grant.issued")] == [request.id]
            return status

    assert asyncio.run(run()) == "approved"
    online = ledger_rows(config.data_dir, "device.online")
    assert online[-1]["body"]["anomaly"] == firmware.UNKNOWN


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
    # As bytes: a key printed raw need not be valid UTF-8.
    result = subprocess.run([sys.executable, "-m", "qinglian.cli", "flash", "--port", factory_board.serial_url,
                             "--config", str(config.path), "--release", str(built.folder), "--json"],
                            capture_output=True, timeout=120)  # fmt: skip
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["provisioned"] and report["firmware_hash"] == built.firmware_hash
    assert "[1/7]" in stderr and "✓" in stderr  # the progress, step by step
    # The key was made on the technician's side and sealed at the edge: it is nowhere in
    # what the command printed nor, in clear, in anything the edge keeps (ledger, database).
    ident = read_identity(factory_board.state)
    assert ident is not None
    kept = {p: p.read_bytes() for p in config.data_dir.rglob("*") if p.is_file()}
    assert any(p.name == "ledger.sqlite3" for p in kept)
    for where, data in {"stdout": result.stdout, "stderr": result.stderr, **{str(p): d for p, d in kept.items()}}.items():
        for spelling in key_spellings(ident.key):
            assert spelling not in data, f"the device key ({spelling[:12]!r}...) is in {where}"
    missing = qinglian("flash", "--port", "socket://127.0.0.1:1", "--config", str(config.path), "--release", str(built.folder))
    assert missing.returncode == 1 and "no device" in missing.stderr


def key_spellings(key: bytes) -> list[bytes]:
    """Every way a 32-byte key is commonly written out."""
    b64 = base64.b64encode(key)
    url = base64.urlsafe_b64encode(key)
    return [key, key.hex().encode(), key.hex().upper().encode(), b64, b64.rstrip(b"="), url, url.rstrip(b"=")]


def test_the_compiled_release_boots_in_micropython(tmp_path: Path, release_key: Path) -> None:
    """The release as the board runs it: built for xtensawin (the default target, compiled with
    mpy-cross), loaded with its signature and file hashes checked as ``qinglian flash`` loads it,
    then booted in real MicroPython from exactly its files (boot.py and the .mpy modules, no
    source): the whole MicroPython suite runs on it, boot.py starting the seal included.

    No ESP32 is attached, so it boots in MicroPython's WebAssembly build. That runs these
    files because they hold bytecode only: the firmware has no @native or @viper code, so
    mpy-cross writes no architecture into the .mpy header, and MicroPython loads bytecode
    .mpy on any port. The header check below keeps that true: native code would make the
    files xtensawin-only, and this test fails rather than quietly booting something else.
    What only the chip can show (its timing, the real UART and pins) is for the bench.
    """
    built = release.build(tmp_path / "xtensawin", releasekey.load_private(release_key), 1)
    loaded = release.load(built.folder, load_public_key(releasekey.public_path(release_key)))
    assert loaded.manifest["target"] == "xtensawin"
    modules = sorted(p.stem for p in FIRMWARE_DIR.glob("*.py"))
    assert sorted(loaded.files) == sorted(f"{m}.py" if f"{m}.py" in release.SOURCE_ONLY else f"{m}.mpy" for m in modules)
    for name in loaded.files:
        header = (loaded.folder / name).read_bytes()[:4]
        if name.endswith(".mpy"):
            # 'M', format 6, no native architecture, 31-bit small ints (as on the ESP32)
            assert header == b"M\x06\x00\x1f", (name, header)
    report = run_suite(loaded.folder)
    assert "setup_error" not in report, report.get("setup_error")
    assert report["fwhash_expected"] == loaded.firmware_hash  # it ran the release's files, all of them
    failed = [f"{r['id']}:\n{r['error']}" for r in report["results"] if not r["ok"]]
    assert report["passed"] > 0 and not failed, "\n".join(failed)
