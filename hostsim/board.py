"""The board process: one run of the simulated ESP32 from reset, running the firmware from its flash.

Started by ``hostsim.device`` with the UART on fds 0/1 and a control socket on
the fd named by ``--control-fd``. It installs the MicroPython shims, makes the
flash folder the current directory and ``sys.path[0]`` (the device's ``/``),
and then does what MicroPython does after a reset: run ``boot.py``, then, in
the friendly REPL mode, ``main.py``, then serve the REPL on the UART. The
control thread moves switches (with contact bounce) and reads the pins and
the firmware's status for the supervisor. A receive thread stands for the
UART's interrupt: it turns the interrupt character into KeyboardInterrupt.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import json
import os
import runpy
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from hostsim import mpy
from hostsim.mpy import machine, micropython, ticks
from hostsim.pins import PinBus
from hostsim.repl import Repl
from hostsim.vfs import DeviceOS

BOUNCE = (0, 1, 0, 1, 0)  # the contact chatters for a few milliseconds on each change
BOUNCE_STEP_S = 0.0005
REST_S = 0.05  # a hand needs longer than this between two presses; debouncing relies on it


class _UartRx:
    """The UART's receive interrupt, as MicroPython's ESP32 port handles each byte.

    A byte equal to the interrupt character (what ``micropython.kbd_intr`` last
    set; -1 for none) is dropped and raises KeyboardInterrupt in the running
    code (``mp_sched_keyboard_interrupt``); every other byte goes on to the
    buffer that ``sys.stdin`` and the REPL read: a pipe, so ``select.poll`` on
    it tells the truth.
    """

    def __init__(self, uart_fd: int) -> None:
        self._uart = uart_fd
        self.fd, self._buffer = os.pipe()
        signal.signal(signal.SIGINT, self._interrupt)
        threading.Thread(target=self._receive, name="uart-rx", daemon=True).start()

    @staticmethod
    def _interrupt(signum: int, frame: object) -> None:
        # Runs in the main thread a moment after _receive asked for it. If Ctrl-C was
        # turned off in between (a script ending, the REPL starting) the request lapses:
        # raised then, it would escape every handler and kill the board process.
        if micropython.kbd_intr_char != -1:
            raise KeyboardInterrupt

    def _receive(self) -> None:
        with contextlib.suppress(OSError):  # the supervisor closed the UART
            while chunk := os.read(self._uart, 4096):
                kept = bytearray()
                for c in chunk:
                    if c == micropython.kbd_intr_char:
                        _thread.interrupt_main()
                    else:
                        kept.append(c)
                if kept:
                    os.write(self._buffer, kept)
        os.close(self._buffer)  # the UART is gone: readers see the end of input


class _UartIn:
    """``sys.stdin`` as the firmware sees it: unbuffered, so ``select.poll`` never lies."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.buffer = self

    def fileno(self) -> int:
        return self._fd

    def read(self, n: int = 1) -> bytes:
        return os.read(self._fd, n)


class _UartOut:
    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.buffer = self

    def fileno(self) -> int:
        return self._fd

    def write(self, data: bytes | str) -> int:
        raw = data.encode() if isinstance(data, str) else bytes(data)
        view = memoryview(raw)
        while view:
            view = view[os.write(self._fd, view) :]
        return len(raw)

    def flush(self) -> None:
        """Writes go straight to the fd."""


class Board:
    def __init__(self, flash: Path, control: socket.socket, reset_cause: int, unique_id: bytes) -> None:
        self.flash = flash
        self.control = control
        self.bus = PinBus()
        mpy.install(self.bus, reset_cause, unique_id)
        sys.dont_write_bytecode = True  # keep the device's flash free of host caches
        sys.path.insert(0, str(flash))
        os.chdir(flash)
        import board as pinmap  # the firmware's own pin map, read from flash

        self.pins = pinmap
        self.bus.drive(pinmap.TAMPER_PIN, 0)  # the case is shut: its switch pulls the line low
        self.repl_active = False

    def firmware_status(self) -> dict[str, Any] | None:
        startup = sys.modules.get("startup")
        seal = getattr(startup, "seal", None) if startup else None
        return seal.status() if seal is not None and not self.repl_active else None

    def state(self) -> dict[str, Any]:
        status = self.firmware_status()
        return {
            "board": "on",
            "running": status is not None,
            "repl": self.repl_active,
            "lock": "unlocked" if self.bus.output(self.pins.LOCK_PIN) else "locked",
            "presses_total": status["presses"] if status else None,
            "grant": status["grant"] if status else None,
            "camera_pulses": self.bus.rising_edges.get(self.pins.CAMERA_PIN, 0),
            "firmware": status,
        }

    def _switch(self, pin: int, active: int, hold_s: float) -> None:
        self._chatter(pin, active)
        time.sleep(hold_s)
        self._chatter(pin, 1 - active)
        time.sleep(REST_S)

    def _chatter(self, pin: int, to: int) -> None:
        """The line bounces on its way to ``to``: every edge within the same board millisecond."""
        with ticks.still():
            for level in BOUNCE:
                self.bus.drive(pin, to if level == 0 else 1 - to)
                time.sleep(BOUNCE_STEP_S)

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "state":
            return self.state()
        if op == "press":
            # The press switch pulls its line low while the seal is pushed down.
            self._switch(self.pins.PRESS_PIN, 0, float(request.get("hold_ms", 60)) / 1000)
            return {"ok": True}
        if op == "tamper":
            # Opening the case lets the tamper line float high; "active": true leaves it open.
            if request.get("active") is None:
                self._switch(self.pins.TAMPER_PIN, 1, float(request.get("hold_ms", 60)) / 1000)
            else:
                self.bus.drive(self.pins.TAMPER_PIN, 1 if request["active"] else 0)
            return {"ok": True}
        if op == "hang":
            ticks.hang()
            return {"ok": True}
        if op == "advance":
            ticks.advance(int(request["ms"]))
            return {"ok": True}
        return {"error": f"unknown op {op!r}"}

    def serve_control(self) -> None:
        stream = self.control.makefile("rwb", buffering=0)
        for raw in stream:
            try:
                answer = self.handle(json.loads(raw))
            except (ValueError, TypeError, KeyError) as exc:
                answer = {"error": f"bad control request: {exc}"}
            stream.write(json.dumps(answer).encode() + b"\n")

    def _run_script(self, name: str, uart: _UartOut) -> None:
        if not (self.flash / name).exists():
            return
        try:
            micropython.kbd_intr(3)  # as pyexec does: Ctrl-C interrupts a script unless the script turns it off
            runpy.run_path(name, run_name="__main__")
        except (Exception, KeyboardInterrupt):  # noqa: BLE001 - MicroPython prints the traceback and goes on to the REPL
            micropython.kbd_intr(-1)  # first, as pyexec does: no second Ctrl-C while the traceback prints
            uart.write(traceback.format_exc().replace("\n", "\r\n"))
        finally:
            micropython.kbd_intr(-1)  # the REPL reads Ctrl-C as a character

    def run(self, raw_repl: bool) -> None:
        threading.Thread(target=self.serve_control, name="control", daemon=True).start()
        uart = _UartOut(1)
        rx = _UartRx(0)
        sys.stdin = _UartIn(rx.fd)  # type: ignore[assignment]
        sys.stdout = uart  # type: ignore[assignment]
        if machine.reset_cause() == machine.SOFT_RESET:
            uart.write(b"MPY: soft reboot\r\n")
        self._run_script("boot.py", uart)
        if not raw_repl:
            self._run_script("main.py", uart)
        self.repl_active = True
        Repl(rx.fd, uart, DeviceOS(self.flash), raw=raw_repl).run()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m hostsim.board")
    parser.add_argument("--flash", type=Path, required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--reset-cause", type=int, required=True)
    parser.add_argument("--unique-id", required=True, help="hex of machine.unique_id()")
    parser.add_argument("--raw-repl", action="store_true", help="soft reset from the raw REPL: skip main.py")
    args = parser.parse_args()
    control = socket.socket(fileno=args.control_fd)
    Board(args.flash.resolve(), control, args.reset_cause, bytes.fromhex(args.unique_id)).run(args.raw_repl)


if __name__ == "__main__":
    main()
