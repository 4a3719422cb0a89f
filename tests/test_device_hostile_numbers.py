"""Hostile numbers from a device that holds its key: recorded as anomalies, never a stalled stream.

A valid MAC only says the key signed a frame. Whoever read ``identity.json`` out of the board's flash
can put a box on the USB cable that signs whatever it likes: events whose grant number, press count or
lifetime counter is past 64 bits, negative, a float, a bool, text or an object, replies with a tick or
a next event id no firmware sends. Such an event used to raise while it was interpreted or recorded, so
it was never acknowledged, the device sent it again and again, and every event after it (the next
approved use included) waited behind it for good. Now each one is recorded once as a
``device.malformed_event`` anomaly and acknowledged, a malformed reply is dropped like line noise, and
the seal goes on working, across a restart and a replay of the ledger into an empty database.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from edge_support import DEVICE, TIMEOUT, config_for, document, wait_until

from edge.agent import EdgeAgent
from edge.kernel.config import EdgeConfig
from edge.kernel.recorder import Recorder
from edge.ledger import Ledger, verify_ledger
from edge.modules import PARTS
from edge.seal import projection as P
from edge.seal.db import EdgeDB
from edge.seal.devices import MALFORMED
from edge.seal.keystore import DeviceIdentity
from edge.seal.protocol import (
    INT64_MAX,
    MAC_BYTES,
    TICKS_PERIOD,
    FrameError,
    Keys,
    decode_frame,
    encode_frame,
    event_problem,
    frame_problem,
    hmac_sha256,
)
from edge.web.ledgerview import summary
from hostsim.control import SimBoard


# Each takes the place of one press on the locked seal; the field the edge must name as the problem.
HOSTILE: list[tuple[dict[str, Any], str]] = [
    ({"k": "press", "no": 2**64, "n": 1, "total": 1}, "no"),  # a grant number past 64 bits
    ({"k": "press", "no": 1, "n": -1, "total": 1}, "n"),  # a negative press count
    ({"k": "boot", "boots": 1e20, "cause": "power", "presses": 0}, "boots"),  # a float lifetime counter
    ({"k": "locked_press", "attempts": True}, "attempts"),  # a bool where a count belongs
    ({"k": "grant_ok", "no": "12", "req": "SR-000001", "presses": 1, "valid_s": 60}, "no"),  # a number as text
    ({"k": "tamper", "active": {"a": [1, {"b": 2**70}]}}, "active"),  # a nested object
    ({"k": "press", "no": 1, "n": 1, "total": 2**63}, "total"),  # one past SQLite's INTEGER
    ({"k": "relocked", "no": 1, "reason": "\ud800"}, "reason"),  # text no ledger entry can hold
    ({"k": "grant_refused", "no": None, "reason": "x" * 300}, "reason"),  # overlong text
    ({"k": ["press"]}, "k"),  # a kind that is no kind
]


class CableTap:
    """A box on the USB cable between the sleeve and the edge, with the key read out of the board's flash.

    It passes every byte on both ways, except that it signs its own version of some frames from the
    device: the next presses on the locked seal become the hostile events it was given (their resends
    too, as if the journal in flash held them), and a one-shot set of fields replaces those of the next
    frame of a type (a hello or status reply, an event frame).
    """

    def __init__(self, board: SimBoard) -> None:
        identity = json.loads((board.state / "flash" / "identity.json").read_text())
        self._key = Keys.from_device_key(bytes.fromhex(identity["key"])).link
        host, _, port = board.serial_url.removeprefix("socket://").rpartition(":")
        self._board = (host, int(port))
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._lock = threading.Lock()
        self._hostile: list[dict[str, Any]] = []
        self._one_shots: list[tuple[str, dict[str, Any]]] = []
        self.swapped: dict[int, dict[str, Any]] = {}  # the device's event id -> the event signed in its place
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="cable tap", daemon=True).start()

    def swap_locked_presses(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            self._hostile += events

    def corrupt_next(self, frame_type: str, **fields: Any) -> None:
        with self._lock:
            self._one_shots.append((frame_type, fields))

    def left(self) -> int:
        """Hostile events and corrupted frames not sent yet."""
        with self._lock:
            return len(self._hostile) + len(self._one_shots)

    def close(self) -> None:
        self._server.close()
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                edge, _ = self._server.accept()
            except OSError:
                return  # closed
            device = socket.create_connection(self._board)
            for sock in (edge, device):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [edge, device]
            threading.Thread(target=self._pump, args=(edge, device, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(device, edge, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_device: bool) -> None:
        buf = b""
        try:
            while data := source.recv(4096):
                if not from_device:
                    sink.sendall(data)
                    continue
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    sink.sendall(self._rewrite(line))
        except OSError:
            pass
        finally:  # one side hung up: so does the other, as a pulled cable would
            source.close()
            sink.close()

    def _rewrite(self, line: bytes) -> bytes:
        try:
            frame = decode_frame(self._key, b"D", line)
        except FrameError:
            return line + b"\n"  # boot chatter
        with self._lock:
            changed = self._swap_event(frame) or self._one_shot(frame)
        return encode_frame(self._key, b"D", frame) if changed else line + b"\n"

    def _swap_event(self, frame: dict[str, Any]) -> bool:
        event = frame.get("e")
        if frame["t"] != "ev" or not isinstance(event, dict):
            return False
        eid = event["id"]
        if eid not in self.swapped and event.get("k") == "locked_press" and self._hostile:
            self.swapped[eid] = {"id": eid, **self._hostile.pop(0)}
        if eid not in self.swapped:
            return False
        frame["e"] = self.swapped[eid]
        return True

    def _one_shot(self, frame: dict[str, Any]) -> bool:
        for i, (frame_type, fields) in enumerate(self._one_shots):
            if frame_type == frame["t"]:
                frame.update(fields)
                del self._one_shots[i]
                return True
        return False


async def started(config: EdgeConfig, identity: DeviceIdentity | None = None) -> EdgeAgent:
    """An agent (enrolling the device first, if given) with the device online."""
    agent = await EdgeAgent.open(config)
    try:
        if identity is not None:
            await agent.enrol(identity, DEVICE)
        await agent.start()
        await agent.wait_online(DEVICE, TIMEOUT)
    except BaseException:
        await agent.close()
        raise
    return agent


async def bodies(agent: EdgeAgent, kind: str) -> list[dict[str, Any]]:
    return [e.body for e in await agent.ledger.entries_of_kind(kind)]


async def one_use(agent: EdgeAgent, board: SimBoard, tmp_path: Path) -> None:
    """An approved use of one press, all the way to its close: the device's stream goes on."""
    request = await agent.file_request("liming", "村务证明", "official", 1, document(tmp_path))
    await agent.approve(request.id, "zhangwei")
    await agent.approve(request.id, "chenjing")
    await agent.wait_request(request.id, {"in_use"}, TIMEOUT)
    await asyncio.to_thread(board.control.press)
    closed = await agent.wait_request(request.id, {"closed"}, TIMEOUT)
    assert (closed.presses_used, closed.reason) == (1, "presses_used")
    (press,) = [b for b in await bodies(agent, P.seal_kind("press")) if b.get("request_id") == request.id]
    assert press["event"]["n"] == 1 and "anomaly" not in press


def unacknowledged(board: SimBoard) -> int:
    return int(board.control.state()["firmware"]["pending"])


async def all_acknowledged(board: SimBoard) -> None:
    """Wait until the device holds no unacknowledged event: everything it sent is in the ledger."""
    await asyncio.to_thread(
        wait_until, "no unacknowledged event on the device", lambda: unacknowledged(board) == 0, TIMEOUT
    )


async def test_hostile_numbers_from_a_keyed_device_are_anomalies_and_the_stream_goes_on(
    board: SimBoard, tmp_path: Path
) -> None:
    tap = CableTap(board)
    ident = board.identity()
    config = config_for(tmp_path, tap.url, ident.device_id)
    try:
        agent = await started(config, DeviceIdentity(ident.device_id, ident.key))
        try:
            tap.swap_locked_presses([event for event, _ in HOSTILE])
            for _ in HOSTILE:
                await asyncio.to_thread(board.control.press)

            # The next approved use goes through: nothing waits behind the hostile events (it did, for good).
            await one_use(agent, board, tmp_path)
            await all_acknowledged(board)

            # Each hostile event is in the ledger exactly once, in its own place, as an anomaly naming the field.
            malformed = await bodies(agent, P.DEVICE_MALFORMED_EVENT)
            assert [m["event_id"] for m in malformed] == sorted(tap.swapped)
            for entry, (sent, field) in zip(malformed, HOSTILE, strict=True):
                assert entry["anomaly"] == MALFORMED and entry["device_id"] == ident.device_id
                assert f'"{field}"' in entry["problem"], entry
                assert entry["raw"].isascii() and len(entry["raw"]) <= 600
                assert entry["raw"].startswith(json.dumps({"id": entry["event_id"], **sent})[:40])
            entries = await agent.ledger.entries()
            device_events = [e.body["event_id"] for e in entries if e.kind.startswith(P.SEAL_PREFIX)]
            assert not set(device_events) & set(tap.swapped)
            view = await agent.db.device(ident.device_id)
            assert view is not None and view.last_event_id == max(device_events)
            assert await agent.db.projection_anomalies() == []

            # The supervisors' ledger view names the kind and says what happened.
            first = (await agent.ledger.entries_of_kind(P.DEVICE_MALFORMED_EVENT))[0]
            text = summary(first, agent.config, {ident.device_id: DEVICE}, agent.db.parts)
            assert agent.db.parts.kind_name(P.DEVICE_MALFORMED_EVENT) == "设备事件格式错误"
            assert f"格式错误的事件 #{first.body['event_id']}" in text and '"no"' in text
        finally:
            await agent.close()

        # A restart: replies with a hostile next event id, tick or grant number, and an event frame whose
        # id is text, are dropped like noise; the device comes online, the next use goes through, and
        # nothing is recorded twice.
        tap.corrupt_next("hello", first="1")
        tap.corrupt_next("hello", first=2**64)
        tap.corrupt_next("hello", ms=True)
        tap.corrupt_next("status", ms="12")
        tap.corrupt_next("status", ms=1e20)
        tap.corrupt_next("status", ms=-1)
        tap.corrupt_next("status", last_grant=2**64)
        tap.corrupt_next("ev", e={"id": "12", "k": "grant_ok"})
        agent = await started(config)
        try:
            await one_use(agent, board, tmp_path)
            await all_acknowledged(board)
            link = agent.devices.link(ident.device_id) if agent.devices is not None else None
            assert link is not None
            # The status replies come with the heartbeat; a reply asked for after the last corrupted one was
            # passed on comes after it on the line, so it has been dropped by then.
            await asyncio.to_thread(wait_until, "every corrupted frame passed on", lambda: tap.left() == 0, TIMEOUT)
            status = await asyncio.to_thread(link.status)
            assert status["last_grant"] == 2 and link.online and link.noise_lines >= 8
            assert len(await bodies(agent, P.DEVICE_MALFORMED_EVENT)) == len(HOSTILE)
            live = await agent.db.device(ident.device_id)
        finally:
            await agent.close()
    finally:
        tap.close()

    # The whole ledger replays into an empty working database with nothing left out and the same device.
    assert verify_ledger(config.data_dir).ok
    ledger = await Ledger.open_reader(config.data_dir)
    db = await EdgeDB.open(tmp_path / "replay", PARTS)
    try:
        await Recorder(ledger, db).catch_up()
        assert await db.projection_anomalies() == []
        replayed = await db.device(ident.device_id)
    finally:
        await db.close()
        await ledger.close()
    assert live is not None and replayed is not None
    assert (replayed.last_event_id, replayed.anomalies) == (live.last_event_id, live.anomalies)


# -- the checks themselves, at their bounds ------------------------------------------------------


def test_an_event_takes_each_bound_and_refuses_one_past_it() -> None:
    event = {"id": 1, "k": "press", "no": INT64_MAX, "n": 0, "total": INT64_MAX}
    assert event_problem(event) is None
    for field, bad in [
        ("no", INT64_MAX + 1), ("n", -1), ("total", 1.0), ("id", 0), ("id", True), ("k", "Press"), ("k", "x" * 33),
        ("reason", "x" * 65), ("req", 12),
    ]:  # fmt: skip
        assert f'"{field}"' in (event_problem({**event, field: bad}) or ""), (field, bad)
    assert event_problem({"k": "press"}) == '缺少字段 "id"'
    # A field a newer firmware may add passes if a ledger entry and a column can hold it.
    assert event_problem({"id": 1, "k": "new_kind", "extra": -5, "label": "文字", "flag": False, "none": None}) is None
    assert event_problem({"id": 1, "k": "new_kind", "extra": [1]}) == '字段 "extra" 的类型或取值范围不对'


def test_a_reply_takes_each_bound_and_refuses_one_past_it() -> None:
    grant = {"no": 3, "req": "SR-000001", "presses": 2, "used": 0, "ms_left": -TICKS_PERIOD}
    hello = {"t": "hello", "s": 1, "sid": "ab12", "n": "nonce", "ms": TICKS_PERIOD - 1, "first": 1, "grant": grant}
    assert frame_problem(hello) is None
    for field, bad in [
        ("ms", TICKS_PERIOD), ("first", 0), ("s", INT64_MAX + 1), ("tamper", 0), ("grant", {**grant, "used": 0.5}),
    ]:  # fmt: skip
        assert f'"{field}"' in (frame_problem({**hello, field: bad}) or ""), (field, bad)
    assert frame_problem({"t": "status", "s": 2, "sid": "ab12"}) == '缺少字段 "ms"'
    envelope = {"t": "ev", "s": 2, "sid": "ab12", "f": 1}
    assert frame_problem({**envelope, "e": {"id": "12"}}) == '字段 "e" 的类型或取值范围不对'  # no place in the stream
    assert frame_problem({**envelope, "e": {"id": 3, "k": 1.5}}) is None  # it has one: recorded as malformed


def test_json_nested_past_the_parser_is_a_bad_frame() -> None:
    """It raised RecursionError, which nothing around the reader thread catches."""
    key = Keys.from_device_key(bytes(32)).link
    body = b'{"t":"status","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    mac = hmac_sha256(key, b"D", body)[:MAC_BYTES].hex().encode()
    with pytest.raises(FrameError):
        decode_frame(key, b"D", b"#" + body + b"*" + mac)
