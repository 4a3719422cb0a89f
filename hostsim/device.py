"""One simulated seal board: its UART and control ports, and the board process behind them.

The supervisor outlives the board: a power cycle SIGKILLs the board process
(whatever it was writing stays half-written in flash) and starts a new one,
while the serial client and control port stay connected, much as the USB
serial bridge on a real sleeve stays enumerated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import tty
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hostsim import flash
from hostsim.mpy import machine
from hostsim.repl import EXIT_SOFT_FRIENDLY, EXIT_SOFT_RAW

if TYPE_CHECKING:
    from hostsim.camera import CameraServer

log = logging.getLogger("hostsim")

# How a board process ended -> (reset cause for the next one, start in the raw REPL).
_EXIT_CAUSES = {
    machine.EXIT_WDT: (machine.WDT_RESET, False),
    machine.EXIT_RESET: (machine.HARD_RESET, False),
    EXIT_SOFT_FRIENDLY: (machine.SOFT_RESET, False),
    EXIT_SOFT_RAW: (machine.SOFT_RESET, True),
}
_BOOT_TIMEOUT_S = 15.0
_CRASH_BACKOFF_S = 0.5


class _BoardProcess:
    def __init__(self, proc: asyncio.subprocess.Process, uart: socket.socket, control: socket.socket) -> None:
        self.proc = proc
        self.uart_reader: asyncio.StreamReader
        self.uart_writer: asyncio.StreamWriter
        self.ctl_reader: asyncio.StreamReader
        self.ctl_writer: asyncio.StreamWriter
        self._uart = uart
        self._control = control
        self.killed = False

    async def open_streams(self) -> None:
        self.uart_reader, self.uart_writer = await asyncio.open_connection(sock=self._uart)
        self.ctl_reader, self.ctl_writer = await asyncio.open_connection(sock=self._control)

    def close(self) -> None:
        self.uart_writer.close()
        self.ctl_writer.close()


class _Pty:
    """The UART as a pseudo-terminal: pyserial, picocom or mpremote open ``path`` like a USB serial port."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes pass untouched: no echo, no CR/LF translation
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)

    def write(self, data: bytes) -> None:
        # Nobody reading: the bytes are lost, as on a UART with nothing attached.
        with contextlib.suppress(BlockingIOError):
            os.write(self.master, data)

    def read(self) -> bytes:
        try:
            return os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return b""

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


class SimDevice:
    def __init__(
        self,
        state: Path,
        serial: tuple[str, int] | None,
        control: tuple[str, int],
        factory: bool = False,
        camera: tuple[str, int] | None = None,
    ) -> None:
        self.state = state
        self.flash = flash.prepare(state, factory=factory)
        self.unique_id = flash.unique_id(state)
        self._serial_addr = serial
        self._control_addr = control
        self._board: _BoardProcess | None = None
        self._client: asyncio.StreamWriter | None = None  # the TCP serial client, if any
        self._pty: _Pty | None = None
        self._link_up = True
        self._ctl_lock = asyncio.Lock()
        self._power_lock = asyncio.Lock()
        self.serial_port = 0
        self.serial_url = ""  # what pyserial's serial_for_url opens
        self.control_port = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections: set[asyncio.StreamWriter] = set()  # open control clients
        self._camera_addr = camera
        self.camera: CameraServer | None = None  # the desk camera over the stamping desk (--camera)
        self.face_camera: CameraServer | None = None  # and the face camera beside it, on a port of its own

    # -- the board process -------------------------------------------------

    async def _spawn(self, cause: int, raw_repl: bool = False) -> None:
        uart_parent, uart_child = socket.socketpair()
        ctl_parent, ctl_child = socket.socketpair()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hostsim.board",
            "--flash", str(self.flash), "--control-fd", str(ctl_child.fileno()),
            "--reset-cause", str(cause), "--unique-id", self.unique_id.hex(),
            *(["--raw-repl"] if raw_repl else []),
            stdin=uart_child.fileno(), stdout=uart_child.fileno(), pass_fds=(ctl_child.fileno(),),
        )  # fmt: skip
        uart_child.close()
        ctl_child.close()
        board = _BoardProcess(proc, uart_parent, ctl_parent)
        await board.open_streams()
        self._board = board
        self._spawn_task(self._pump_uart(board))
        self._spawn_task(self._watch(board))
        await self._wait_booted(board)

    async def _wait_booted(self, board: _BoardProcess) -> None:
        deadline = asyncio.get_running_loop().time() + _BOOT_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            if self._board is not board:
                return  # it died while booting; the watcher has started the next one
            state = await self._ask_board({"op": "state"})
            if state.get("running") or state.get("repl"):
                return
            await asyncio.sleep(0.02)
        log.warning("board did not finish booting within %.0f s", _BOOT_TIMEOUT_S)

    async def _watch(self, board: _BoardProcess) -> None:
        code = await board.proc.wait()
        board.close()
        if board.killed or self._board is not board:
            return
        self._board = None
        cause, raw_repl = _EXIT_CAUSES.get(code, (None, False))
        if cause is None:
            log.error("board process crashed with exit code %s; resetting", code)
            await asyncio.sleep(_CRASH_BACKOFF_S)
            cause = machine.HARD_RESET
        async with self._power_lock:
            if self._board is None:
                await self._spawn(cause, raw_repl)

    async def _kill(self) -> None:
        board = self._board
        if board is None:
            return
        self._board = None
        board.killed = True
        with contextlib.suppress(ProcessLookupError):
            board.proc.send_signal(signal.SIGKILL)
        await board.proc.wait()

    async def power_cycle(self, cause: int = machine.PWRON_RESET) -> None:
        async with self._power_lock:
            await self._kill()
            await self._spawn(cause)

    async def _ask_board(self, request: dict[str, Any]) -> dict[str, Any]:
        board = self._board
        if board is None:
            return {"error": "the board is off"}
        async with self._ctl_lock:
            try:
                board.ctl_writer.write(json.dumps(request).encode() + b"\n")
                await board.ctl_writer.drain()
                line = await board.ctl_reader.readline()
            except (ConnectionError, OSError):
                line = b""
        if not line:
            return {"error": "the board is off"}
        answer: dict[str, Any] = json.loads(line)
        return answer

    # -- the UART ----------------------------------------------------------

    async def _pump_uart(self, board: _BoardProcess) -> None:
        with contextlib.suppress(ConnectionError):  # the board lost power mid-write
            while data := await board.uart_reader.read(4096):
                if not self._link_up:
                    continue
                if self._client is not None:
                    self._client.write(data)
                elif self._pty is not None:
                    self._pty.write(data)

    async def _serve_serial(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._client is not None:
            self._client.close()  # one opener at a time, like a real serial port
        # A UART delivers each byte as it comes; without this, Nagle's algorithm
        # holds a second small frame back until the first is acknowledged.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = writer
        try:
            while data := await reader.read(4096):
                await self._to_board(data)
        except ConnectionError:
            pass
        finally:
            if self._client is writer:
                self._client = None
            writer.close()

    async def _to_board(self, data: bytes) -> None:
        board = self._board
        if board is not None and self._link_up:
            board.uart_writer.write(data)
            with contextlib.suppress(ConnectionError):
                await board.uart_writer.drain()

    def _on_pty_readable(self) -> None:
        assert self._pty is not None
        if data := self._pty.read():
            self._spawn_task(self._to_board(data))

    # -- the control port ----------------------------------------------------

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "power_cycle":
            await self.power_cycle()
            return {"ok": True}
        if op == "reset":
            await self.power_cycle(machine.HARD_RESET)
            return {"ok": True}
        if op == "link":
            self._link_up = bool(request.get("up", True))
            return {"ok": True, "link": "up" if self._link_up else "down"}
        if op == "camera":
            if self.camera is None:
                return {"error": "no camera: start with --camera tcp:HOST:PORT"}
            return await self.camera.control({**request, "op": request.get("action", "state")})
        if op == "face_camera":
            if self.face_camera is None:
                return {"error": "no camera: start with --camera tcp:HOST:PORT"}
            return await self.face_camera.control({**request, "op": request.get("action", "state")})
        if op == "press" and self.camera is not None:
            # The seal comes out of an unlocked sleeve only: then the page under the camera gets its impression.
            state = await self._ask_board({"op": "state"})
            if state.get("lock") == "unlocked":
                await self.camera.control({"op": "stamp"})
        if op == "state":
            state = await self._ask_board(request)
            if "error" in state:
                # Unpowered: the solenoid is released, so the sleeve is locked.
                return {"board": "off", "running": False, "lock": "locked", "presses_total": None, "grant": None}
            state["link"] = "up" if self._link_up else "down"
            state["device_id"] = flash.device_id_for(self.unique_id)
            return state
        return await self._ask_board(request)

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("a control request is a JSON object")
                    answer = await self.handle(request)
                except ValueError as exc:
                    answer = {"error": f"bad control request: {exc}"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._connections.discard(writer)
            writer.close()

    # -- running -------------------------------------------------------------

    def _spawn_task(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        control = await asyncio.start_server(self._serve_control, *self._control_addr)
        self.control_port = control.sockets[0].getsockname()[1]
        self._servers: tuple[asyncio.Server, ...] = (control,)
        if self._serial_addr is None:
            self._pty = _Pty()
            asyncio.get_running_loop().add_reader(self._pty.master, self._on_pty_readable)
            self.serial_url = self._pty.path
        else:
            serial = await asyncio.start_server(self._serve_serial, *self._serial_addr)
            self.serial_port = serial.sockets[0].getsockname()[1]
            self.serial_url = f"socket://{self._serial_addr[0]}:{self.serial_port}"
            self._servers += (serial,)
        if self._camera_addr is not None:
            from hostsim.camera import CameraServer, VirtualCamera
            from hostsim.facecam import FaceCamera

            seed = int.from_bytes(self.unique_id[-2:], "big")
            self.camera = CameraServer(VirtualCamera(seed=seed), *self._camera_addr)
            await self.camera.start()
            self.face_camera = CameraServer(FaceCamera(seed=seed), self._camera_addr[0], 0)
            await self.face_camera.start()
        async with self._power_lock:
            await self._spawn(machine.PWRON_RESET)

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        # Hang up on clients so their handlers end by themselves: cancelling a
        # stream handler at loop shutdown makes Python 3.11 log a bogus error.
        for writer in [*self._connections, *([self._client] if self._client else [])]:
            writer.transport.abort()
        for server in self._servers:
            await server.wait_closed()
        async with self._power_lock:
            await self._kill()
        if self.camera is not None:
            await self.camera.stop()
        if self.face_camera is not None:
            await self.face_camera.stop()
        if self._pty is not None:
            asyncio.get_running_loop().remove_reader(self._pty.master)
            self._pty.close()


async def run(
    state: Path, serial: tuple[str, int] | None, control: tuple[str, int], factory: bool, camera: tuple[str, int] | None = None
) -> None:
    device = SimDevice(state, serial, control, factory, camera)
    await device.start()
    ident = flash.read_identity(state)
    ready = {
        "serial": device.serial_url,
        "control": f"tcp:{control[0]}:{device.control_port}",
        "device_id": ident.device_id if ident else None,
        "state": str(state),
        "camera": device.camera.url if device.camera is not None else None,
        "face_camera": device.face_camera.url if device.face_camera is not None else None,
    }
    print(json.dumps(ready), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await device.stop()
