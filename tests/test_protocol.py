"""Both ends of the serial protocol agree, and the device's frame parser cannot be fooled.

The device end (firmware/link.py, firmware/grant.py) runs here in-process on
hostsim's shims, fed through a byte-queue port; the host end is edge/protocol.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.seal.protocol import FrameError, Grant, Keys, decode_frame, encode_frame

KEY = bytes(range(32))
KEYS = Keys.from_device_key(KEY)


class BytePort:
    """A port for firmware/link.py: bytes in from a buffer, bytes out to a list."""

    def __init__(self, data: bytes = b"") -> None:
        self.inbox = bytearray(data)
        self.sent = bytearray()

    def read_byte(self) -> int:
        if not self.inbox:
            return -1
        return self.inbox.pop(0)

    def write(self, data: bytes) -> None:
        self.sent += data


def new_link(firmware: Path, data: bytes = b"") -> Any:
    import link

    return link.Link(BytePort(data), KEY)


def drain(device_link: Any) -> list[dict[str, Any]]:
    frames = []
    while (frame := device_link.receive()) is not None or device_link._port.inbox:
        if frame is not None:
            frames.append(frame)
    return frames


def hello(nonce: str = "n1") -> bytes:
    return encode_frame(KEYS.link, b"E", {"t": "hello", "n": nonce})


def in_session(device_link: Any, seq: int, body: dict[str, Any]) -> bytes:
    return encode_frame(KEYS.link, b"E", {**body, "s": seq, "sid": device_link.sid})


def test_host_frames_reach_the_device(firmware: Path) -> None:
    dl = new_link(firmware, hello())
    assert drain(dl) == [{"t": "hello", "n": "n1"}]
    dl.start_session()
    dl._port.inbox += in_session(dl, 1, {"t": "status"}) + in_session(dl, 2, {"t": "ack", "a": 4})
    assert [f["t"] for f in drain(dl)] == ["status", "ack"]
    assert dl.bad == 0


def test_device_frames_reach_the_host(firmware: Path) -> None:
    dl = new_link(firmware)
    dl.start_session()
    dl.send({"t": "status", "lock": "locked"})
    dl.send_event('{"id": 3, "k": "press", "total": 7}', 3)
    lines = bytes(dl._port.sent).splitlines()
    status = decode_frame(KEYS.link, b"D", lines[0])
    event = decode_frame(KEYS.link, b"D", lines[1])
    assert status["lock"] == "locked" and status["sid"] == dl.sid and status["s"] == 1
    assert event["e"] == {"id": 3, "k": "press", "total": 7} and event["f"] == 3 and event["s"] == 2
    with pytest.raises(FrameError):
        decode_frame(KEYS.link, b"E", lines[0])  # a device frame reflected back is not an edge frame


def test_replayed_and_stale_frames_are_dropped(firmware: Path) -> None:
    dl = new_link(firmware)
    dl.start_session()
    first = in_session(dl, 1, {"t": "status"})
    dl._port.inbox += first + first  # the same frame twice
    assert len(drain(dl)) == 1 and dl.bad == 1
    old_session = first
    dl.start_session()
    dl._port.inbox += old_session
    assert drain(dl) == [] and dl.bad == 2
    dl._port.inbox += in_session(dl, 5, {"t": "status"}) + in_session(dl, 4, {"t": "status"})
    assert len(drain(dl)) == 1 and dl.bad == 3  # sequence numbers only go up


def test_host_grant_passes_the_device_check(firmware: Path) -> None:
    import grant
    import hmac256

    grant_key = hmac256.Hmac(hmac256.subkey(KEY, b"qinglian/grant/v1"))
    g = Grant("QL-1", "abcd", 7, "REQ-7", 3, 60, 1000).signed(KEYS.grant)
    assert grant.check(g, grant_key, "QL-1", "abcd", 6, 1500) is None
    assert grant.check(g, grant_key, "QL-2", "abcd", 6, 1500) == "other_device"
    assert grant.check(g, grant_key, "QL-1", "ffff", 6, 1500) == "stale_session"
    assert grant.check(g, grant_key, "QL-1", "abcd", 7, 1500) == "replayed"
    assert grant.check(g, grant_key, "QL-1", "abcd", 6, 1000 + 60_000) == "expired"
    assert grant.check(g, grant_key, "QL-1", "abcd", 6, 1000 - 6_000) == "from_future"
    for field, value in [("presses", 4), ("no", 8), ("req", "REQ-8"), ("valid_s", 600), ("at", 1001), ("dev", "QL-2")]:
        assert grant.check({**g, field: value}, grant_key, "QL-1", "abcd", 6, 1500) in ("bad_mac",), field
    assert grant.check({**g, "presses": "3"}, grant_key, "QL-1", "abcd", 6, 1500) == "malformed"
    assert grant.check({**g, "req": "a|b"}, grant_key, "QL-1", "abcd", 6, 1500) == "malformed"


def test_grant_window_survives_tick_wraparound(firmware: Path) -> None:
    import grant
    import hmac256

    grant_key = hmac256.Hmac(hmac256.subkey(KEY, b"qinglian/grant/v1"))
    at = (1 << 30) - 500  # minted half a second before the ticks wrap
    g = Grant("QL-1", "s", 1, "R", 1, 2, at).signed(KEYS.grant)
    assert grant.check(g, grant_key, "QL-1", "s", 0, 1000) is None  # 1.5 s later, after the wrap
    assert grant.check(g, grant_key, "QL-1", "s", 0, 1600) == "expired"


# -- the parser under hostile input ------------------------------------------------

valid_frame = st.builds(lambda seq: (seq, {"t": "status"}), st.integers(min_value=1, max_value=10**6))


@settings(max_examples=300, deadline=None)
@given(noise=st.binary(max_size=2000))
def test_random_bytes_never_make_a_frame(firmware: Path, noise: bytes) -> None:
    dl = new_link(firmware, noise)
    dl.start_session()
    assert drain(dl) == []


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_change_to_a_frame_is_refused(firmware: Path, data: st.DataObject) -> None:
    dl = new_link(firmware)
    dl.start_session()
    frame = bytearray(in_session(dl, 1, {"t": "grant", "g": {"no": 1}}))
    pos = data.draw(st.integers(min_value=0, max_value=len(frame) - 2))  # keep the newline
    new = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != frame[pos] and b != 10))
    frame[pos] = new
    dl._port.inbox += frame
    assert drain(dl) == []


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=2, max_value=80), noise=st.binary(max_size=300))
def test_truncated_and_interleaved_frames(firmware: Path, cut: int, noise: bytes) -> None:
    """A cut-off frame, noise, then a whole frame: only the whole one gets through."""
    dl = new_link(firmware)
    dl.start_session()
    good = in_session(dl, 2, {"t": "status"})
    truncated = in_session(dl, 1, {"t": "close", "no": 1})[:-cut]
    dl._port.inbox += truncated + noise + b"\n" + good
    frames = drain(dl)
    assert frames == [{"t": "status", "s": 2, "sid": dl.sid}]


@settings(max_examples=50, deadline=None)
@given(size=st.integers(min_value=600, max_value=5000))
def test_oversized_lines_are_dropped_and_counted(firmware: Path, size: int) -> None:
    dl = new_link(firmware)
    dl.start_session()
    body = {"t": "status", "pad": "x" * size}
    dl._port.inbox += in_session(dl, 1, body) + in_session(dl, 2, {"t": "status"})
    assert [f["s"] for f in drain(dl)] == [2]
    assert dl.bad == 1


@settings(max_examples=100, deadline=None)
@given(chunks=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=40))
def test_frames_split_anywhere_still_parse(firmware: Path, chunks: list[int]) -> None:
    """Bytes arrive in arbitrary pieces between polls of the main loop."""
    dl = new_link(firmware)
    dl.start_session()
    stream = b"".join(in_session(dl, i, {"t": "ack", "a": i}) for i in range(1, 6))
    got = []
    pos = 0
    for size in chunks * (len(stream) // len(chunks) + 1):
        dl._port.inbox += stream[pos : pos + size]
        pos += size
        while (frame := dl.receive()) is not None:
            got.append(frame["a"])
        if pos >= len(stream):
            break
    assert got == [1, 2, 3, 4, 5]


def test_host_decoder_rejects_noise() -> None:
    for line in [b"", b"#", b"#{}*", os.urandom(64), b"#" + json.dumps({"t": "x"}).encode() + b"*" + b"0" * 32]:
        with pytest.raises(FrameError):
            decode_frame(KEYS.link, b"D", line)
