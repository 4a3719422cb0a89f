"""A client for one seal device over its serial line (pyserial ``serial_for_url``).

``DeviceLink`` opens the port (``/dev/ttyUSB0`` on the Pi, ``socket://HOST:PORT``
with hostsim), says hello, and keeps the session alive: it re-opens the port
and says hello again after a disconnect or a device reboot. Events from the
device are handed to ``on_event`` strictly in id order, each exactly once per
link (resends and ids at or below ``last_event_id`` are skipped), and
acknowledged only after ``on_event`` returned, so an event the edge did not
record is resent. Grants are minted here against the device's current session
and clock.

Every authenticated frame is checked before the link reads it
(``protocol.frame_problem``): a hello or status reply, or an event frame's
envelope, with a field of the wrong type or range is dropped like noise, so a
device holding its key cannot poison the session (the clock grants are minted
on, the next event id) or kill the reader thread. An event's own fields are
checked by whoever records it (edge/devices.py): a malformed event still has
its place in the stream, is recorded as one and acknowledged.
"""

from __future__ import annotations

import logging
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from edge.seal.protocol import (
    TICKS_PERIOD,
    FrameError,
    Grant,
    Keys,
    MaintenanceGrant,
    decode_frame,
    encode_frame,
    frame_problem,
)

log = logging.getLogger("edge.devicelink")

EventHandler = Callable[[dict[str, Any]], None]
_READ_TIMEOUT_S = 0.05
_MAX_LINE = 4096


class DeviceUnavailable(ConnectionError):
    """The device is not connected or did not answer in time."""


class DeviceLink:
    def __init__(
        self,
        url: str,
        device_id: str,
        device_key: bytes,
        on_event: EventHandler | None = None,
        last_event_id: int = 0,
        on_online: Callable[[bool], None] | None = None,
        heartbeat_s: float = 2.0,
        acknowledge: bool = True,
    ) -> None:
        self.url = url
        self.device_id = device_id
        self._keys = Keys.from_device_key(device_key)
        self._on_event = on_event
        self._on_online = on_online
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()  # used when there is no on_event
        self.last_event_id = last_event_id
        self._heartbeat_s = heartbeat_s
        # False: only watch (the flash tool checking a boot); every event stays on the device for the agent.
        self._acknowledge = acknowledge
        self._port: serial.SerialBase | None = None
        self._write_lock = threading.Lock()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Session state, guarded by _cond.
        self.sid: str | None = None
        self._nonce = ""
        self._tx_seq = 0
        self._rx_seq = 0
        self._expected = 0  # next event id to deliver; 0 until the hello reply tells
        self.hello_info: dict[str, Any] | None = None
        self.last_status: dict[str, Any] | None = None
        self._status_count = 0
        self._clock: tuple[int, float] | None = None  # (device ms, host monotonic) at the last reply
        self.noise_lines = 0  # lines that were not valid frames (boot ROM chatter, line noise)

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"devicelink {self.device_id}", daemon=True)
        self._thread.start()

    def wait_online(self, timeout: float = 10.0) -> dict[str, Any]:
        """Block until a session is up; return the device's hello reply."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.sid is not None, timeout):
                raise DeviceUnavailable(f"device {self.device_id} at {self.url} did not say hello")
            assert self.hello_info is not None
            return self.hello_info

    @property
    def online(self) -> bool:
        return self.sid is not None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close_port()

    def __enter__(self) -> DeviceLink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------

    def _send(self, body: dict[str, Any], session: bool = True) -> None:
        with self._cond:
            if session:
                if self.sid is None:
                    raise DeviceUnavailable(f"device {self.device_id} is offline")
                self._tx_seq += 1
                body = {**body, "s": self._tx_seq, "sid": self.sid}
            frame = encode_frame(self._keys.link, b"E", body)
        port = self._port
        if port is None:
            raise DeviceUnavailable(f"device {self.device_id} is not connected")
        try:
            with self._write_lock:
                port.write(frame)
        except (serial.SerialException, OSError) as exc:
            raise DeviceUnavailable(str(exc)) from exc

    def status(self, timeout: float = 5.0) -> dict[str, Any]:
        with self._cond:
            count = self._status_count
        self._send({"t": "status"})
        with self._cond:
            if not self._cond.wait_for(lambda: self._status_count > count, timeout):
                raise DeviceUnavailable(f"device {self.device_id} did not report its status")
            assert self.last_status is not None
            return self.last_status

    def device_ticks(self) -> int:
        """Our estimate of the device's ticks_ms now, from its last reply."""
        with self._cond:
            if self._clock is None:
                raise DeviceUnavailable("no reply from the device yet")
            ms, at = self._clock
        return (ms + int((time.monotonic() - at) * 1000)) % TICKS_PERIOD

    def mint_grant(self, no: int, req: str, presses: int, valid_s: int) -> dict[str, Any]:
        """A signed grant for the current session and device clock (not sent: record it first)."""
        with self._cond:
            sid = self.sid
        if sid is None:
            raise DeviceUnavailable(f"device {self.device_id} is offline")
        return Grant(self.device_id, sid, no, req, presses, valid_s, self.device_ticks()).signed(self._keys.grant)

    def send_signed_grant(self, grant: dict[str, Any]) -> None:
        """Send a grant exactly as given (a minted one, or in tests a replayed or forged one)."""
        self._send({"t": "grant", "g": grant})

    def send_grant(self, no: int, req: str, presses: int, valid_s: int) -> dict[str, Any]:
        """Mint a grant and send it at once; return the signed grant."""
        grant = self.mint_grant(no, req, presses, valid_s)
        self.send_signed_grant(grant)
        return grant

    def mint_maintenance(self, no: int, secs: int) -> dict[str, Any]:
        """A signed maintenance grant (the REPL for ``secs`` seconds) for the current session."""
        with self._cond:
            sid = self.sid
        if sid is None:
            raise DeviceUnavailable(f"device {self.device_id} is offline")
        return MaintenanceGrant(self.device_id, sid, no, secs, self.device_ticks()).signed(self._keys.grant)

    def send_signed_maintenance(self, grant: dict[str, Any]) -> None:
        self._send({"t": "maint", "g": grant})

    def send_maintenance(self, no: int, secs: int) -> dict[str, Any]:
        """Mint a maintenance grant and send it at once; return it."""
        grant = self.mint_maintenance(no, secs)
        self.send_signed_maintenance(grant)
        return grant

    def close_grant(self, no: int) -> None:
        self._send({"t": "close", "no": no})

    def wait_event(self, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """Take events from ``events`` until one of ``kind`` with the given fields arrives."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} event {match or ''} within {timeout} s")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event["k"] == kind and all(event.get(k) == v for k, v in match.items()):
                return event

    # -- the reader thread ----------------------------------------------------------

    def _open_port(self) -> bool:
        try:
            self._port = serial.serial_for_url(self.url, baudrate=115200, timeout=_READ_TIMEOUT_S)
        except (serial.SerialException, OSError, ValueError) as exc:
            log.debug("cannot open %s: %s", self.url, exc)
            self._port = None
            return False
        sock = getattr(self._port, "_socket", None)  # socket:// (hostsim, a serial server)
        if sock is not None:
            # Small frames both ways: Nagle's algorithm would hold each one ~40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def _set_offline(self) -> None:
        with self._cond:
            was_online = self.sid is not None
            self.sid = None
        if was_online and self._on_online:
            self._on_online(False)

    def _say_hello(self) -> None:
        with self._cond:
            self._nonce = secrets.token_hex(8)
            nonce = self._nonce
        self._send({"t": "hello", "n": nonce}, session=False)

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            if self._port is None and not self._open_port():
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.1
            try:
                self._serve()
            except (serial.SerialException, OSError, DeviceUnavailable) as exc:
                log.info("link to %s lost: %s", self.device_id, exc)
            self._set_offline()
            self._close_port()

    def _serve(self) -> None:
        """Read frames until the port fails; keep the session alive with hellos and heartbeats."""
        port = self._port
        assert port is not None
        buf = bytearray()
        self._say_hello()
        last_heard = time.monotonic()
        last_ping = last_heard
        while not self._stop.is_set():
            data = port.read(max(1, port.in_waiting))
            now = time.monotonic()
            if data:
                buf += data
                while (nl := buf.find(b"\n")) >= 0:
                    line = bytes(buf[:nl])
                    del buf[: nl + 1]
                    if self._on_line(line):
                        last_heard = now
                if len(buf) > _MAX_LINE:
                    buf.clear()
                    self.noise_lines += 1
            if now - last_ping >= self._heartbeat_s:
                last_ping = now
                if self.sid is None or now - last_heard > 3 * self._heartbeat_s:
                    self._set_offline()
                    self._say_hello()
                else:
                    self._send({"t": "status"})

    def _on_line(self, line: bytes) -> bool:
        if not line.strip():
            return False
        try:
            frame = decode_frame(self._keys.link, b"D", line)
        except FrameError:
            self.noise_lines += 1
            return False
        problem = frame_problem(frame)
        if problem is not None:
            # Signed with the device key, yet not what the firmware sends: the key is in other hands.
            log.warning("authenticated frame from %s refused: %s", self.device_id, problem)
            self.noise_lines += 1
            return False
        kind = frame["t"]
        if kind == "announce":
            if frame.get("dev") == self.device_id:
                self._set_offline()  # it rebooted: the old session is gone
                self._say_hello()
            return True
        if kind == "hello":
            return self._on_hello(frame)
        with self._cond:
            seq = frame.get("s")
            if self.sid is None or frame.get("sid") != self.sid or type(seq) is not int or seq <= self._rx_seq:
                self.noise_lines += 1
                return False
            self._rx_seq = seq
        if kind == "status":
            self._on_status(frame)
        elif kind == "ev":
            self._on_event_frame(frame)
        return True

    def _on_hello(self, frame: dict[str, Any]) -> bool:
        with self._cond:
            if frame.get("n") != self._nonce or frame.get("dev") != self.device_id:
                self.noise_lines += 1
                return False  # not the answer to our hello: a replay or another device
            self.sid = frame["sid"]
            self._rx_seq = frame["s"]
            self._tx_seq = 0
            self.hello_info = frame
            self.last_status = frame
            self._clock = (frame["ms"], time.monotonic())
            self._expected = max(self.last_event_id + 1, frame["first"])
            self._cond.notify_all()
        if self._on_online:
            self._on_online(True)
        return True

    def _on_status(self, frame: dict[str, Any]) -> None:
        with self._cond:
            self.last_status = frame
            self._clock = (frame["ms"], time.monotonic())
            self._status_count += 1
            self._cond.notify_all()

    def _on_event_frame(self, frame: dict[str, Any]) -> None:
        if not self._acknowledge:
            return
        event = frame["e"]
        eid = event["id"]
        if eid <= self.last_event_id:
            self._send({"t": "ack", "a": eid})  # a resend of something we hold
            return
        if eid != self._expected:
            if frame["f"] > self._expected:
                # The device no longer has the ones we waited for: lost to overflow.
                self._expected = frame["f"]
            if eid != self._expected:
                return  # a gap from a lost frame: the device resends from its oldest
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                # Not recorded, so not acknowledged: the device sends it again.
                log.exception("recording event %s of %s failed", eid, self.device_id)
                return
        else:
            self.events.put(event)
        self.last_event_id = eid
        self._expected = eid + 1
        self._send({"t": "ack", "a": eid})
