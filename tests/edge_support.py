"""Shared pieces of the edge tests: a config around a real simulated board, and waiting helpers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from edge.kernel.config import EdgeConfig, load_config

DEVICE = "official-1"

# Routes of the test village (amounts in fen):
#   official  <  1,000,000: chain zhangwei → chenjing
#   official  [1,000,000, 5,000,000): 2 of {zhangwei, chenjing, zhaolei}
#   official  ≥ 5,000,000: 2 of {zhangwei, chenjing, zhaolei, wangfang}  (wangfang is the custodian)
SMALL, LARGE, HUGE = 250_000, 1_200_000, 6_000_000

# How long a test waits for something before it calls it a hang. An upper bound, never a speed
# claim: a wait returns as soon as the thing happens, and on a shared 2-core CI machine reading
# a filed original with Tesseract alone can take several seconds (15 s timed out there).
TIMEOUT = 60.0

PEOPLE = """
[[people]]
id = "liming"
name = "李明"
roles = ["applicant"]

[[people]]
id = "wangfang"
name = "王芳"
roles = ["custodian", "applicant", "approver"]

[[people]]
id = "zhangwei"
name = "张伟"
roles = ["approver"]

[[people]]
id = "chenjing"
name = "陈静"
roles = ["approver", "applicant"]

[[people]]
id = "zhaolei"
name = "赵磊"
roles = ["approver"]

[[routes]]
name = "small"
seal = ["official"]
max_fen = 1000000
mode = "chain"
approvers = ["zhangwei", "chenjing"]

[[routes]]
name = "large"
seal = ["official"]
min_fen = 1000000
max_fen = 5000000
mode = "n_of_m"
n = 2
approvers = ["zhangwei", "chenjing", "zhaolei"]

[[routes]]
name = "huge"
seal = ["official"]
min_fen = 5000000
mode = "n_of_m"
n = 2
approvers = ["zhangwei", "chenjing", "zhaolei", "wangfang"]
"""


def write_config(
    folder: Path,
    url: str,
    device_id: str | None = None,
    approval_ttl_s: int = 300,
    use_window_s: int = 60,
    heartbeat_s: float = 0.3,
    poll_s: float = 0.1,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pin = f'device_id = "{device_id}"' if device_id else ""
    text = f"""
village = "测试村"
data_dir = "edge"
key_file = "secrets/master.key"

[timing]
approval_ttl_s = {approval_ttl_s}
use_window_s = {use_window_s}
heartbeat_s = {heartbeat_s}
poll_s = {poll_s}
grant_retry_s = 0.2

[[devices]]
name = "{DEVICE}"
seal = "official"
url = "{url}"
custodian = "wangfang"
{pin}
{PEOPLE}
"""
    path = folder / "edge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_for(folder: Path, url: str, device_id: str | None = None, **timing: Any) -> EdgeConfig:
    return load_config(write_config(folder, url, device_id, **timing))


def document(folder: Path, text: str = "青莲村证明\n金额 ¥2,500.00\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"doc-{time.monotonic_ns()}.txt"
    path.write_text(text, encoding="utf-8")
    return path


def qinglian(*args: str, timeout: float = 60, check: bool = False, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console script in a subprocess, as a user would (typing ``stdin``, if given)."""
    result = subprocess.run(
        [sys.executable, "-m", "qinglian.cli", *args], input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"qinglian {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def qinglian_json(*args: str, timeout: float = 60) -> Any:
    return json.loads(qinglian(*args, "--json", timeout=timeout, check=True).stdout)


def start_edge(config_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """``qinglian edge run`` as its own process (its own session, so kill -9 hits only it)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "qinglian.cli", "edge", "run", "--config", str(config_path)],
            stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip


# `qinglian demo --serve` seeds every part's sample data, on both halves, before its banner: minutes on a loaded machine.
DEMO_START = 300.0


def serve_demo(data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``qinglian demo --serve`` on ``data`` (its output in ``log``) on a free port; the process and its banner."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qinglian.cli", "demo", "--serve", "--data", str(data), "--listen", "127.0.0.1:0"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        text = wait_until("the demo's banner", lambda: (t := log.read_text(errors="replace")) and "Ctrl-C" in t and t, DEMO_START)
    except BaseException:
        proc.kill()
        raise
    return proc, text


def stop_demo(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Ctrl-C, as a user stops it: it must end cleanly (exit 0) within 30 s."""
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert code == 0, log.read_text(errors="replace")[-3000:]


def wait_until(what: str, check: Callable[[], Any], timeout: float = TIMEOUT, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def read_db(data_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    """Read the edge database the way another process would (read-only)."""
    conn = sqlite3.connect(f"{(data_dir / 'edge.sqlite3').resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def ledger_rows(data_dir: Path, kind: str | None = None) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"{(data_dir / 'ledger.sqlite3').resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        sql = "SELECT idx, kind, body FROM entries" + (" WHERE kind = ?" if kind else "") + " ORDER BY idx"
        rows = conn.execute(sql, (kind,) if kind else ()).fetchall()
    finally:
        conn.close()
    return [{"index": i, "kind": k, "body": json.loads(b)} for i, k, b in rows]


def request_status(data_dir: Path, request_id: str) -> str | None:
    try:
        rows = read_db(data_dir, "SELECT status FROM requests WHERE id = ?", (request_id,))
    except sqlite3.OperationalError:
        return None
    return rows[0]["status"] if rows else None


def kill9(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, 9)
    proc.wait(timeout=10)


# -- fixtures (imported by name into the test modules that use them) ------------------------

import pytest  # noqa: E402

from edge.agent import EdgeAgent  # noqa: E402
from edge.seal.keystore import DeviceIdentity  # noqa: E402
from edge.ocr.settings import CameraSettings  # noqa: E402
from edge.seal.desk import Clock, utc_clock  # noqa: E402
from hostsim import flash  # noqa: E402
from hostsim.control import SimBoard  # noqa: E402


def board_identity(folder: Path) -> flash.Identity:
    """A board identity made the way hostsim provisions one (in ``folder/board``), for an agent that runs no board."""
    flash.prepare(folder / "board")
    ident = flash.read_identity(folder / "board")
    assert ident is not None
    return ident


async def enrolled_writer(config: EdgeConfig, ident: flash.Identity, clock: Clock = utc_clock) -> EdgeAgent:
    """An agent that is the writer, with the board ``ident`` enrolled as :data:`DEVICE`, but running no devices."""
    agent = await EdgeAgent.open(config, clock=clock)
    try:
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
    except BaseException:
        await agent.close()
        raise
    return agent


@pytest.fixture
async def writer(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An agent that is the writer but runs no devices: for the approval rules, which need none."""
    ident = board_identity(tmp_path)
    agent = await enrolled_writer(config_for(tmp_path, "socket://127.0.0.1:9", ident.device_id), ident)
    yield agent
    await agent.close()


async def running_agent(
    tmp_path: Path, board: SimBoard, camera: CameraSettings | None = None, clock: Clock = utc_clock, **timing: Any
) -> EdgeAgent:
    """A started agent with the board enrolled and online (photographing each press with ``camera``)."""
    ident = board.identity()
    config = replace(config_for(tmp_path, board.serial_url, ident.device_id, **timing), camera=camera)
    agent = await EdgeAgent.open(config, clock=clock)
    try:
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
        await agent.start()
        await agent.wait_online(DEVICE, 15)
    except BaseException:
        await agent.close()
        raise
    return agent


@pytest.fixture
async def agent(tmp_path: Path, board: SimBoard):  # type: ignore[no-untyped-def]
    edge = await running_agent(tmp_path, board)
    yield edge
    await edge.close()
