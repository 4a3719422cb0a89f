"""MicroPython's REPL on the simulated board's UART: friendly, raw and raw-paste modes.

Enough of the protocol for the unmodified ``mpremote`` client: Ctrl-A enters
raw mode, Ctrl-B leaves it, Ctrl-C abandons input, Ctrl-D runs the code typed
so far or, on an empty line, soft-resets the board (the supervisor starts a
new board process, which runs boot.py again), and Ctrl-E A Ctrl-A negotiates
raw-paste with flow control. Code runs in one namespace per power-on with the
device's ``os`` and ``open`` (see ``vfs``); its output goes straight to the
UART, like MicroPython's.
"""

from __future__ import annotations

import errno
import os
import struct
import sys
import traceback
from typing import Any, NoReturn

from hostsim.vfs import UNAME, DeviceOS, repl_builtins

CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E = 1, 2, 3, 4, 5
RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"
BANNER = f"MicroPython {UNAME.version}; {UNAME.machine}\r\nType \"help()\" for more information.\r\n".encode()
PASTE_WINDOW = 128

# Exit codes that ask the supervisor for a soft reset into the given REPL mode.
EXIT_SOFT_FRIENDLY = 77
EXIT_SOFT_RAW = 78


class Repl:
    def __init__(self, uart_in: int, uart_out: Any, device_os: DeviceOS, raw: bool) -> None:
        self._in = uart_in
        self._out = uart_out
        self._raw = raw
        self._namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": repl_builtins(device_os)}
        self._line = bytearray()
        self._pending = bytearray()  # bytes read but not yet handled

    def _write(self, data: bytes) -> None:
        self._out.write(data)

    def _byte(self) -> int:
        while not self._pending:
            chunk = os.read(self._in, 4096)
            if not chunk:
                os._exit(0)  # the UART is gone: the supervisor is shutting down
            self._pending += chunk
        return self._pending.pop(0)

    def run(self) -> NoReturn:
        self._write(RAW_PROMPT if self._raw else BANNER + b">>> ")
        while True:
            c = self._byte()
            if self._raw:
                self._raw_char(c)
            else:
                self._friendly_char(c)

    # -- raw mode -----------------------------------------------------------------

    def _raw_char(self, c: int) -> None:
        if c == CTRL_A:
            self._line.clear()
            self._write(b"\r\n" + RAW_PROMPT)
        elif c == CTRL_B:
            self._line.clear()
            self._raw = False
            self._write(b"\r\n" + BANNER + b">>> ")
        elif c == CTRL_C:
            self._line.clear()
        elif c == CTRL_D:
            if not self._line:
                self._soft_reset()
            self._write(b"OK")
            self._execute(bytes(self._line), "exec")
            self._line.clear()
            self._write(b">")
        elif c == CTRL_E and not self._line:
            self._raw_paste()
        else:
            self._line.append(c)

    def _raw_paste(self) -> None:
        if self._byte() != ord("A") or self._byte() != CTRL_A:
            self._write(b"R\x00")  # not a raw-paste request we understand
            return
        self._write(b"R\x01" + struct.pack("<H", PASTE_WINDOW))
        code = bytearray()
        received = 0
        while (c := self._byte()) != CTRL_D:
            code.append(c)
            received += 1
            if received % PASTE_WINDOW == 0:
                self._write(b"\x01")  # room for another window
        self._write(b"\x04")  # end of data acknowledged
        self._execute(bytes(code), "exec")
        self._write(b">")

    # -- friendly mode --------------------------------------------------------------

    def _friendly_char(self, c: int) -> None:
        if c == CTRL_A:
            self._line.clear()
            self._raw = True
            self._write(b"\r\n" + RAW_PROMPT)
        elif c == CTRL_B:
            self._line.clear()
            self._write(b"\r\n" + BANNER + b">>> ")
        elif c == CTRL_C:
            self._line.clear()
            self._write(b"\r\n>>> ")
        elif c == CTRL_D:
            if not self._line:
                self._soft_reset()
        elif c in (8, 127):
            if self._line:
                self._line.pop()
                self._write(b"\x08 \x08")
        elif c == 13:
            self._write(b"\r\n")
            if self._line.strip():
                self._friendly_line(bytes(self._line))
            self._line.clear()
            self._write(b">>> ")
        elif c >= 32 or c == 9:
            self._line.append(c)
            self._write(bytes([c]))

    def _friendly_line(self, line: bytes) -> None:
        try:
            code = compile(line, "<stdin>", "eval")
        except SyntaxError:
            self._run(line, "exec")
            return
        try:
            value = eval(code, self._namespace)
        except BaseException as exc:  # noqa: BLE001 - the REPL reports whatever the code raised
            self._write(self._traceback(exc))
            return
        if value is not None:
            self._write(repr(value).encode() + b"\r\n")

    # -- running code -------------------------------------------------------------------

    def _run(self, source: bytes, mode: str) -> None:
        try:
            exec(compile(source, "<stdin>", mode), self._namespace)
        except BaseException as exc:  # noqa: BLE001
            self._write(self._traceback(exc))

    def _execute(self, source: bytes, mode: str) -> None:
        """Raw mode's framing: output, Ctrl-D, error text, Ctrl-D."""
        try:
            exec(compile(source, "<stdin>", mode), self._namespace)
            error = b""
        except BaseException as exc:  # noqa: BLE001
            error = self._traceback(exc)
        sys.stdout.flush()
        self._write(b"\x04" + error + b"\x04")

    @staticmethod
    def _traceback(exc: BaseException) -> bytes:
        """MicroPython's rendering, which mpremote parses (``OSError: [Errno 2] ENOENT``)."""
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<stdin>"]
        lines = ["Traceback (most recent call last):"]
        lines += [f'  File "<stdin>", line {f.lineno}, in {f.name}' for f in frames]
        if isinstance(exc, OSError) and exc.errno is not None:
            lines.append(f"OSError: [Errno {exc.errno}] {errno.errorcode.get(exc.errno, exc.errno)}")
        else:
            message = str(exc)
            lines.append(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)
        return ("\r\n".join(lines) + "\r\n").encode()

    def _soft_reset(self) -> NoReturn:
        os._exit(EXIT_SOFT_RAW if self._raw else EXIT_SOFT_FRIENDLY)
