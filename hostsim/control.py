"""Driving a simulated board from tests, the demo and benchmarks.

``SimBoard`` starts ``qinglian sim device`` as a subprocess on free ports and
talks to its control port; the UART is at ``serial_url`` for pyserial.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from hostsim import flash

_START_TIMEOUT_S = 30.0


class BoardControl:
    """A JSON-lines client for the control port: one request, one answer."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._file = self._sock.makefile("rwb", buffering=0)

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        self._file.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        line = self._file.readline()
        if not line:
            raise ConnectionError("the simulated board closed its control port")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"hostsim: {answer['error']}")
        return answer

    def state(self) -> dict[str, Any]:
        return self.request("state")

    def press(self, hold_ms: int = 60) -> None:
        self.request("press", hold_ms=hold_ms)

    def tamper(self, active: bool | None = None) -> None:
        if active is None:
            self.request("tamper")
        else:
            self.request("tamper", active=active)

    def power_cycle(self) -> None:
        self.request("power_cycle")

    def set_link(self, up: bool) -> None:
        self.request("link", up=up)

    def hang(self) -> None:
        self.request("hang")

    def advance(self, ms: int) -> None:
        """Move the board's tick clock on by ``ms`` at once."""
        self.request("advance", ms=ms)

    def camera(self, action: str, **fields: Any) -> dict[str, Any]:
        """Drive the virtual desk camera: ``place`` (spec= / seed= / file=), ``stamp`` (at=), ``fit`` (org=, label=:
        the seal in the sleeve), ``clear``, ``state``."""
        return self.request("camera", action=action, **fields)

    def face_camera(self, action: str, **fields: Any) -> dict[str, Any]:
        """Drive the virtual face camera beside the desk: ``person`` (present=True | False), ``state``."""
        return self.request("face_camera", action=action, **fields)

    def close(self) -> None:
        self._file.close()
        self._sock.close()


class SimBoard:
    """A ``qinglian sim device`` subprocess; use as a context manager."""

    def __init__(self, state: Path, factory: bool = False, camera: bool = False) -> None:
        self.state = state
        self._factory = factory
        self._camera = camera
        self.camera_url: str | None = None  # the virtual desk camera's MJPEG stream, with camera=True
        self.face_camera_url: str | None = None  # and the face camera's beside it
        self.proc: subprocess.Popen[bytes] | None = None
        self.serial_url = ""
        self.device_id: str | None = None
        self.control: BoardControl

    def start(self) -> SimBoard:
        cmd = [sys.executable, "-m", "qinglian.cli", "sim", "device", "--state", str(self.state)]
        if self._factory:
            cmd.append("--factory")
        if self._camera:
            cmd += ["--camera", "tcp:127.0.0.1:0"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, start_new_session=True)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        line = self.proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError("qinglian sim device did not start")
        ready = json.loads(line)
        self.serial_url = ready["serial"]
        self.device_id = ready["device_id"]
        self.camera_url = ready.get("camera")
        self.face_camera_url = ready.get("face_camera")
        host, _, port = ready["control"].removeprefix("tcp:").rpartition(":")
        self.control = BoardControl(host, int(port))
        return self

    def identity(self) -> flash.Identity:
        ident = flash.read_identity(self.state)
        if ident is None:
            raise RuntimeError("this board has no identity yet")
        return ident

    def stop(self) -> None:
        if self.proc is None:
            return
        if hasattr(self, "control"):
            self.control.close()
        if self.proc.poll() is None:
            # The supervisor powers its board off itself; a SIGTERM to the whole
            # group would reach the board first and look like a crash to restart.
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> SimBoard:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
