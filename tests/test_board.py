"""The seal board end to end: the real firmware in a hostsim process, driven over TCP serial.

Nothing here is mocked: the grant goes over the socket, the firmware checks
it, the lock is a pin level, presses are bouncing switch edges.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.seal.devicelink import DeviceLink
from edge.seal.protocol import FrameError, Grant, Keys, decode_frame, encode_frame
from hostsim.control import SimBoard
from hostsim.flash import read_identity


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not reached")


def test_grant_unlocks_for_exactly_its_presses(board: SimBoard, link: DeviceLink) -> None:
    link.send_grant(1, "REQ-1", 3, 60)
    assert link.wait_event("grant_ok")["no"] == 1
    link.wait_event("unlocked")
    assert board.control.state()["lock"] == "unlocked"
    for n in (1, 2, 3):
        board.control.press()
        event = link.wait_event("press")
        assert (event["n"], event["total"]) == (n, n)
    relock = link.wait_event("relocked")
    assert relock["reason"] == "presses_used" and relock["left"] == 0
    state = board.control.state()
    assert state["lock"] == "locked" and state["presses_total"] == 3 and state["grant"] is None
    assert state["camera_pulses"] == 3  # one photo trigger per press
    board.control.press()  # a fourth press finds the lock shut
    assert link.wait_event("locked_press")["attempts"] == 1
    assert board.control.state()["presses_total"] == 3


def test_expiry_relocks_with_presses_left(board: SimBoard, link: DeviceLink) -> None:
    link.send_grant(1, "REQ-1", 5, 60)
    link.wait_event("unlocked")
    board.control.press()
    assert link.wait_event("press")["n"] == 1
    board.control.advance(60_000)  # the board's clock, not the test's patience, ends the window
    relock = link.wait_event("relocked")
    assert (relock["reason"], relock["used"], relock["left"]) == ("expired", 1, 4)
    assert board.control.state()["lock"] == "locked"


def test_close_from_the_edge_relocks(board: SimBoard, link: DeviceLink) -> None:
    link.send_grant(1, "REQ-1", 5, 60)
    link.wait_event("unlocked")
    link.close_grant(1)
    assert link.wait_event("relocked")["reason"] == "closed"
    assert board.control.state()["lock"] == "locked"


def refused(link: DeviceLink, board: SimBoard, grant: dict) -> str:  # type: ignore[type-arg]
    link.send_signed_grant(grant)
    reason: str = link.wait_event("grant_refused")["reason"]
    assert board.control.state()["lock"] == "locked"
    return reason


def test_forged_replayed_foreign_and_expired_grants_never_unlock(board: SimBoard, link: DeviceLink) -> None:
    ident = board.identity()
    good = link.send_grant(5, "REQ-5", 1, 60)
    link.wait_event("unlocked")
    link.close_grant(5)
    link.wait_event("relocked")
    sid, now = link.sid, link.device_ticks()
    assert sid is not None
    assert refused(link, board, good) == "replayed"
    wrong_key = Keys.from_device_key(os.urandom(32))
    assert refused(link, board, Grant(ident.device_id, sid, 6, "R", 1, 60, now).signed(wrong_key.grant)) == "bad_mac"
    assert refused(link, board, {**Grant(ident.device_id, sid, 6, "R", 1, 60, now).signed(Keys.from_device_key(ident.key).grant), "presses": 50}) == "bad_mac"
    keys = Keys.from_device_key(ident.key)
    assert refused(link, board, Grant("QL-OTHER", sid, 6, "R", 1, 60, now).signed(keys.grant)) == "other_device"
    assert refused(link, board, Grant(ident.device_id, sid, 6, "R", 1, 2, (now - 5000) % (1 << 30)).signed(keys.grant)) == "expired"
    assert refused(link, board, Grant(ident.device_id, "0" * 16, 6, "R", 1, 60, now).signed(keys.grant)) == "stale_session"
    assert refused(link, board, Grant(ident.device_id, sid, 3, "R", 1, 60, now).signed(keys.grant)) == "replayed"
    assert board.control.state()["presses_total"] == 0


def test_lower_grant_number_after_reboot_is_refused(board: SimBoard, link: DeviceLink) -> None:
    link.send_grant(10, "REQ-10", 1, 60)
    link.wait_event("unlocked")
    board.control.press()
    link.wait_event("relocked")
    board.control.power_cycle()
    assert link.wait_event("boot", timeout=15)["cause"] == "power"
    link.wait_online()
    assert link.hello_info is not None and link.hello_info["last_grant"] == 10
    link.send_grant(9, "REQ-9", 1, 60)
    assert link.wait_event("grant_refused")["reason"] == "replayed"
    link.send_grant(11, "REQ-11", 1, 60)
    assert link.wait_event("grant_ok")["no"] == 11


def test_a_grant_held_back_in_transit_expires(board: SimBoard, link: DeviceLink) -> None:
    """Minted now, delivered after its window: the device's own clock says no."""
    ident = board.identity()
    keys = Keys.from_device_key(ident.key)
    assert link.sid is not None
    late = Grant(ident.device_id, link.sid, 1, "REQ-1", 1, 1, link.device_ticks()).signed(keys.grant)
    board.control.advance(2_000)
    assert refused(link, board, late) == "expired"


def uart(board: SimBoard) -> socket.socket:
    """A second client on the board's UART, as a laptop on the cable: it takes the port over from any link."""
    host, port = board.serial_url.removeprefix("socket://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=15)  # bounds a failure; nothing waits for it


class Laptop:
    """Writes what it likes to the seal's UART and reads back every line, sorting frames from anything else."""

    def __init__(self, board: SimBoard) -> None:
        self.link_key = Keys.from_device_key(board.identity().key).link
        self.sock = uart(board)
        self.rest = b""  # bytes after the last full line
        self.other: list[bytes] = []  # lines that were not device frames: prompts, banners, tracebacks

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def until(self, match: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> dict[str, Any]:
        """Read lines until a device frame ``match`` accepts; return that frame."""
        deadline = time.monotonic() + timeout  # bounds a failure (a board that announces forever)
        while time.monotonic() < deadline:
            while b"\n" not in self.rest:
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise ConnectionError("the board closed the UART")
                self.rest += chunk
            line, self.rest = self.rest.split(b"\n", 1)
            try:
                frame = decode_frame(self.link_key, b"D", line)
            except FrameError:
                self.other.append(line)
                continue
            if match(frame):
                return frame
        raise TimeoutError(f"no such frame within {timeout} s; heard {self.other[-3:]!r}")

    def hello(self, nonce: str) -> dict[str, Any]:
        """Open a session; its reply also proves the seal has read every byte sent before."""
        self.send(b"\n" + encode_frame(self.link_key, b"E", {"t": "hello", "n": nonce}))
        return self.until(lambda f: f["t"] == "hello" and f.get("n") == nonce)


def test_hostile_bytes_never_unlock_or_crash(board: SimBoard) -> None:
    ident = board.identity()
    keys = Keys.from_device_key(ident.key)
    laptop = Laptop(board)
    with laptop.sock:
        before = laptop.hello("before")
        grant = Grant(ident.device_id, before["sid"], 1, "REQ-1", 1, 60, before["ms"]).signed(keys.grant)
        frame = encode_frame(keys.link, b"E", {"t": "grant", "g": grant, "s": 10_000, "sid": before["sid"]})
        laptop.send(os.urandom(20_000))
        laptop.send(b"\n" + frame[: len(frame) // 2] + b"\n")  # truncated
        laptop.send(b"#" + b"A" * 5000 + b"\n")  # oversized
        laptop.send(frame[:30] + os.urandom(40) + frame[30:])  # interleaved with noise
        laptop.send(frame.replace(b'"presses":1', b'"presses":9'))  # tampered
        # What mpremote sends to reach the REPL: Ctrl-C twice, raw REPL, soft reset. The
        # UART raises KeyboardInterrupt on Ctrl-C unless the firmware turned that off.
        laptop.send(b"\r\x03\x03\x01\x04")
        after = laptop.hello("after")
        # The same boot still runs: nothing interrupted, reset or unlocked it.
        assert (after["boots"], after["lock"], after["last_grant"]) == (before["boots"], "locked", 0)
        assert after["bad"] > before["bad"]
        board.control.press()  # and its loop goes on: the press is counted
        assert laptop.until(lambda f: f["t"] == "ev" and f["e"]["k"] == "locked_press")["e"]["attempts"] == 1
    # Only frames came back: no REPL prompt, no raw-REPL banner, no traceback.
    assert laptop.other == [] and b">" not in laptop.rest and b"REPL" not in laptop.rest, (laptop.other, laptop.rest)
    with DeviceLink(board.serial_url, ident.device_id, ident.key) as link:  # takes the port back: all still works
        link.wait_online(timeout=15)
        link.send_grant(1, "REQ-1", 1, 60)
        link.wait_event("unlocked", timeout=15)


def test_power_cut_mid_grant_keeps_counters_and_events(board: SimBoard, link: DeviceLink) -> None:
    link.send_grant(1, "REQ-1", 5, 60)
    link.wait_event("unlocked")
    board.control.press()
    link.wait_event("press")
    board.control.set_link(False)  # the cable is out: these presses stay in flash
    board.control.press()
    board.control.press()
    wait_for(lambda: board.control.state()["presses_total"] == 3)
    board.control.power_cycle()
    state = board.control.state()
    assert state["lock"] == "locked" and state["presses_total"] == 3 and state["grant"] is None
    board.control.set_link(True)
    presses = [link.wait_event("press", timeout=15) for _ in range(2)]
    assert [(e["n"], e["total"]) for e in presses] == [(2, 2), (3, 3)]
    assert link.wait_event("relocked")["reason"] == "reboot"
    boot = link.wait_event("boot")
    assert (boot["cause"], boot["presses"]) == ("power", 3)


def test_watchdog_resets_a_hung_loop_into_the_locked_state(board: SimBoard, link: DeviceLink) -> None:
    link.send_grant(1, "REQ-1", 5, 60)
    link.wait_event("unlocked")
    board.control.hang()
    # The reboot records that the open grant ended, then announces itself.
    assert link.wait_event("relocked", timeout=20)["reason"] == "reboot"
    assert link.wait_event("boot")["cause"] == "watchdog"
    state = board.control.state()
    assert state["lock"] == "locked" and state["grant"] is None


def test_tamper_relocks_and_blocks_grants(board: SimBoard, link: DeviceLink) -> None:
    link.send_grant(1, "REQ-1", 5, 60)
    link.wait_event("unlocked")
    board.control.tamper(active=True)
    assert link.wait_event("tamper")["active"] is True
    assert link.wait_event("relocked")["reason"] == "tamper"
    link.send_grant(2, "REQ-2", 1, 60)
    assert link.wait_event("grant_refused")["reason"] == "tamper"
    board.control.tamper(active=False)
    assert link.wait_event("tamper")["active"] is False
    link.send_grant(3, "REQ-3", 1, 60)
    link.wait_event("unlocked")


def test_events_are_resent_until_acknowledged(board: SimBoard) -> None:
    """A link that records nothing (on_event raises) gets the same event again; a new one gets it once."""
    ident = board.identity()
    calls: list[int] = []

    def failing(event: dict) -> None:  # type: ignore[type-arg]
        calls.append(event["id"])
        raise RuntimeError("disk full")

    with DeviceLink(board.serial_url, ident.device_id, ident.key, on_event=failing) as flaky:
        flaky.wait_online()
        wait_for(lambda: calls.count(1) >= 2, timeout=10)

    recorded: list[dict] = []  # type: ignore[type-arg]
    first_in, go_on = threading.Event(), threading.Event()

    def recording(event: dict) -> None:  # type: ignore[type-arg]
        recorded.append(event)
        first_in.set()
        go_on.wait(15)  # not acknowledged until the device has sent it once more

    with DeviceLink(board.serial_url, ident.device_id, ident.key, on_event=recording) as good:
        assert first_in.wait(15)
        # Far past the resend silence (firmware/board.py RESEND_MS) the device sends event 1
        # again; the press after it takes loops to debounce, so its event follows the resend.
        board.control.advance(60_000)
        board.control.press()
        go_on.set()
        wait_for(lambda: len(recorded) >= 2)
        assert [(e["id"], e["k"]) for e in recorded] == [(1, "boot"), (2, "locked_press")]
        wait_for(lambda: good.status()["pending"] == 0)


def test_factory_fresh_board_has_no_identity(tmp_path: Path) -> None:
    with SimBoard(tmp_path / "fresh", factory=True) as fresh:
        assert fresh.device_id is None
        state = fresh.control.state()
        assert state["board"] == "on" and not state["running"] and state["lock"] == "locked"
        with uart(fresh) as laptop:  # open for provisioning: the REPL answers Ctrl-C
            laptop.sendall(b"\r\x03")
            heard = b""
            while b">>> " not in heard:
                chunk = laptop.recv(4096)
                assert chunk, heard
                heard += chunk


def test_the_uart_as_a_pty(tmp_path: Path) -> None:
    """pyserial opens the pty path exactly as it would open /dev/ttyUSB0."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qinglian.cli", "sim", "device", "--serial", "pty", "--state", str(tmp_path / "b")],
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["serial"].startswith("/dev/")
        ident = read_identity(tmp_path / "b")
        assert ident is not None
        with DeviceLink(ready["serial"], ident.device_id, ident.key) as tty_link:
            tty_link.wait_online()
            assert tty_link.wait_event("boot")["cause"] == "power"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
