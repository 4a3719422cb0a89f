"""The REPL on the board's UART: open on a factory-fresh board, shut on a provisioned one
except inside a maintenance window, and good enough for the unmodified mpremote client."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from edge_support import wait_until

from edge.seal.devicelink import DeviceLink
from hostsim.control import SimBoard


def mpremote(board: SimBoard, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mpremote", "connect", board.serial_url, *args],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def factory_board(tmp_path: Path):  # type: ignore[no-untyped-def]
    with SimBoard(tmp_path / "fresh", factory=True) as board:
        yield board


def test_mpremote_on_a_factory_board(factory_board: SimBoard, tmp_path: Path) -> None:
    listing = mpremote(factory_board, "fs", "ls")
    assert listing.returncode == 0, listing.stderr
    assert "app.py" in listing.stdout and "boot.py" in listing.stdout
    src = tmp_path / "note.txt"
    src.write_text("村级印章\n")
    copy = mpremote(factory_board, "fs", "cp", str(src), ":note.txt", "+", "fs", "sha256sum", ":note.txt", "+", "fs", "cat", ":note.txt")
    assert copy.returncode == 0, copy.stderr
    assert hashlib.sha256(src.read_bytes()).hexdigest() in copy.stdout
    assert (factory_board.state / "flash" / "note.txt").read_text() == "村级印章\n"
    script = tmp_path / "job.py"
    script.write_text("import machine\nprint('uid', len(machine.unique_id()))\n")
    ran = mpremote(factory_board, "run", str(script))
    assert ran.returncode == 0 and "uid 6" in ran.stdout
    missing = mpremote(factory_board, "fs", "cat", ":nope.txt")
    assert missing.returncode != 0 and "No such file" in missing.stdout + missing.stderr


def test_repl_cannot_reach_outside_the_flash(factory_board: SimBoard) -> None:
    escaped = mpremote(factory_board, "exec", "print(open('/../../../../etc/hostname').read())")
    assert escaped.returncode != 0 and "ENOENT" in escaped.stdout


def test_a_provisioned_board_gives_no_repl(board: SimBoard) -> None:
    denied = mpremote(board, "fs", "ls", timeout=60)
    assert denied.returncode != 0
    state = board.control.state()
    assert state["running"] and not state["repl"] and state["lock"] == "locked"


def repl_open(board: SimBoard) -> dict[str, Any]:
    """The board's state once the seal has handed the UART to the REPL."""
    return wait_until("the REPL to take the UART", lambda: (state := board.control.state())["repl"] and state)


def test_maintenance_window_opens_the_repl_until_its_timer_resets(board: SimBoard, link: DeviceLink) -> None:
    # Ten minutes on the board's clock: mpremote's cold start never races the window, and the
    # test ends the window itself by moving the board's clock past it.
    link.send_maintenance(1, 600)
    assert link.wait_event("maintenance_open")["secs"] == 600
    assert repl_open(board)["lock"] == "locked"
    # resume: no soft reset, which would end the window
    listing = mpremote(board, "resume", "fs", "ls")
    assert listing.returncode == 0, listing.stderr
    assert "identity.json" in listing.stdout
    # The window's timer resets the board into the seal again, which says so.
    board.control.advance(600_000)
    closed = link.wait_event("maintenance_closed", timeout=20)
    assert closed["no"] == 1
    assert link.wait_event("boot")["cause"] == "hard"
    assert board.control.state()["running"]


def test_a_reset_closes_the_maintenance_window(board: SimBoard, link: DeviceLink) -> None:
    link.send_maintenance(1, 600)
    link.wait_event("maintenance_open")
    repl_open(board)
    soft_reset = mpremote(board, "fs", "ls")  # mpremote soft-resets first: the window closes
    assert soft_reset.returncode != 0
    assert link.wait_event("maintenance_closed", timeout=20)["no"] == 1
    assert link.wait_event("boot")["cause"] == "soft"
    assert board.control.state()["running"]


def test_no_maintenance_while_a_grant_is_in_force(board: SimBoard, link: DeviceLink) -> None:
    link.send_grant(1, "REQ-1", 2, 60)
    link.wait_event("unlocked")
    link.send_maintenance(2, 60)
    assert link.wait_event("maintenance_refused")["reason"] == "busy"
    assert board.control.state()["lock"] == "unlocked" and not board.control.state()["repl"]
    link.close_grant(1)
    link.wait_event("relocked")
    link.send_maintenance(2, 60)  # the refused number was never used up
    link.wait_event("maintenance_open")
