"""The host end of the seal's serial protocol (the device end is firmware/link.py and firmware/grant.py).

One frame per line: ``#`` BODY ``*`` MAC ``\\n``, where BODY is a JSON object
and MAC the first 16 bytes, in hex, of HMAC-SHA256 under the link subkey over a
direction byte (``E`` edge to device, ``D`` device to edge) and BODY. Grants
carry their own HMAC under the grant subkey. The two ends are written twice
on purpose, once for MicroPython's hashlib and once for the host's
``cryptography``; tests/test_protocol.py checks they agree byte for byte.

A valid MAC says who sent a frame, not that its content is sane: whoever holds
the device key (a board whose flash was read out) can sign anything. So every
field the edge reads from a device is checked here, against the values the
firmware itself sends: numbers are ints (not bools or floats) within SQLite's
64 bits or their real range, text is short valid Unicode. ``frame_problem`` is
for what the link reads (the hello and status replies, an event frame's
envelope), ``event_problem`` for an event's own fields.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac

MAC_BYTES = 16
LINK_LABEL = b"qinglian/link/v1"
GRANT_LABEL = b"qinglian/grant/v1"
TICKS_PERIOD = 1 << 30  # the device's ticks_ms wraps here
INT64_MAX = (1 << 63) - 1  # SQLite's INTEGER: every number from a device ends up in a column or a ledger entry
MAX_TEXT = 64  # the longest text a device sends (a firmware hash: 64 hex digits)

# Why the device refuses a grant (the "reason" of a grant_refused event).
REFUSAL_REASONS = frozenset(
    {
        "malformed", "bad_mac", "other_device", "stale_session", "replayed",
        "out_of_range", "from_future", "expired", "busy", "tamper", "store_full",
    }
)  # fmt: skip


class FrameError(ValueError):
    """A line that is not a valid frame from the device."""


def hmac_sha256(key: bytes, *parts: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SHA256())
    for part in parts:
        mac.update(part)
    return mac.finalize()


def subkey(device_key: bytes, label: bytes) -> bytes:
    return hmac_sha256(device_key, label)


@dataclass(frozen=True)
class Keys:
    """The two purpose-bound subkeys of one device key."""

    link: bytes
    grant: bytes

    @classmethod
    def from_device_key(cls, device_key: bytes) -> Keys:
        if len(device_key) != 32:
            raise ValueError("a device key is 32 bytes")
        return cls(subkey(device_key, LINK_LABEL), subkey(device_key, GRANT_LABEL))


def encode_frame(link_key: bytes, direction: bytes, body: dict[str, Any]) -> bytes:
    raw = json.dumps(body, separators=(",", ":")).encode()
    mac = hmac_sha256(link_key, direction, raw)[:MAC_BYTES]
    return b"#" + raw + b"*" + mac.hex().encode() + b"\n"


def decode_frame(link_key: bytes, direction: bytes, line: bytes) -> dict[str, Any]:
    """Check and parse one line (without its newline); raise FrameError if it is not a frame."""
    line = line.rstrip(b"\r")
    if len(line) < 3 + 2 * MAC_BYTES or line[:1] != b"#" or line[-2 * MAC_BYTES - 1 : -2 * MAC_BYTES] != b"*":
        raise FrameError("not a frame")
    body = line[1 : -2 * MAC_BYTES - 1]
    expected = hmac_sha256(link_key, direction, body)[:MAC_BYTES].hex().encode()
    if not secrets.compare_digest(expected, line[-2 * MAC_BYTES :]):
        raise FrameError("bad MAC")
    try:
        frame = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting a few thousand deep fits in a line
        raise FrameError("bad JSON") from exc
    if not isinstance(frame, dict) or not isinstance(frame.get("t"), str):
        raise FrameError("not a frame object")
    return frame


@dataclass(frozen=True)
class Grant:
    """An unlock instruction for one device, session and request."""

    dev: str
    sid: str
    no: int
    req: str
    presses: int
    valid_s: int
    at: int  # the device's ticks_ms when the grant was minted

    def message(self) -> bytes:
        return f"QLG1|{self.dev}|{self.sid}|{self.no}|{self.req}|{self.presses}|{self.valid_s}|{self.at}".encode()

    def signed(self, grant_key: bytes) -> dict[str, Any]:
        """The grant as sent: its fields and their MAC."""
        return {
            "dev": self.dev, "sid": self.sid, "no": self.no, "req": self.req,
            "presses": self.presses, "valid_s": self.valid_s, "at": self.at,
            "mac": hmac_sha256(grant_key, self.message()).hex(),
        }  # fmt: skip


@dataclass(frozen=True)
class MaintenanceGrant:
    """Opens the device's REPL for ``secs`` seconds; shares the grant number sequence."""

    dev: str
    sid: str
    no: int
    secs: int
    at: int

    def message(self) -> bytes:
        return f"QLM1|{self.dev}|{self.sid}|{self.no}|{self.secs}|{self.at}".encode()

    def signed(self, grant_key: bytes) -> dict[str, Any]:
        return {
            "dev": self.dev, "sid": self.sid, "no": self.no, "secs": self.secs, "at": self.at,
            "mac": hmac_sha256(grant_key, self.message()).hex(),
        }  # fmt: skip


# -- what a device may send ------------------------------------------------------------

Check = Callable[[object], bool]


def _int(low: int, high: int = INT64_MAX) -> Check:
    # type() and not isinstance(): True and False are ints to Python, never numbers on the wire.
    return lambda value: type(value) is int and low <= value <= high


def _text(value: object) -> bool:
    if type(value) is not str or len(value) > MAX_TEXT:
        return False
    try:
        value.encode("utf-8")  # JSON can spell lone surrogates, which no ledger entry can hold
    except UnicodeEncodeError:
        return False
    return True


def _flag(value: object) -> bool:
    return type(value) is bool


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _object(checks: Mapping[str, Check]) -> Check:
    return lambda value: isinstance(value, dict) and _problem(value, checks) is None


_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")  # an event kind is part of a ledger kind: seal.<kind>
_COUNT = _int(0)
_SERIAL = _int(1)  # event ids and frame sequence numbers start at 1
_TICKS = _int(0, TICKS_PERIOD - 1)
_INT64 = _int(-INT64_MAX - 1)


def _scalar(value: object) -> bool:
    """Any other field a newer firmware may add: a value a ledger entry and an SQLite column can hold."""
    return value is None or _flag(value) or _INT64(value) or _text(value)


# The fields of device events (firmware/app.py's _emit, with the journal's id and k).
_EVENT_FIELDS: dict[str, Check] = {
    "id": _SERIAL, "k": lambda value: type(value) is str and _KIND.fullmatch(value) is not None,
    "no": _optional(_COUNT), "req": _optional(_text), "reason": _text, "cause": _text, "fw": _text, "ver": _text,
    "n": _COUNT, "total": _COUNT, "attempts": _COUNT, "boots": _COUNT, "presses": _COUNT, "used": _COUNT,
    "left": _COUNT, "secs": _COUNT, "valid_s": _COUNT, "dropped": _COUNT, "active": _flag,
}  # fmt: skip
# The grant in force, in a status reply; ms_left goes below zero once its window has passed.
_GRANT_FIELDS: dict[str, Check] = {
    "no": _COUNT, "req": _text, "presses": _COUNT, "used": _COUNT, "ms_left": _int(-TICKS_PERIOD, TICKS_PERIOD),
}  # fmt: skip
# The hello and status replies (firmware/app.py's status()).
_REPLY_FIELDS: dict[str, Check] = {
    "t": _text, "s": _SERIAL, "sid": _text, "n": _text, "dev": _text, "ver": _text, "fw": _text, "lock": _text,
    "presses": _COUNT, "attempts": _COUNT, "last_grant": _COUNT, "pending": _COUNT, "first": _SERIAL,
    "dropped": _COUNT, "bad": _COUNT, "boots": _COUNT, "writes": _COUNT, "ms": _TICKS, "tamper": _flag,
    "grant": _optional(_object(_GRANT_FIELDS)),
}  # fmt: skip
_ENVELOPE_FIELDS: dict[str, Check] = {"t": _text, "s": _SERIAL, "sid": _text}
_EVENT_FRAME_FIELDS: dict[str, Check] = {
    **_ENVELOPE_FIELDS, "f": _SERIAL, "e": lambda value: isinstance(value, dict) and _SERIAL(value.get("id")),
}  # fmt: skip
# Per frame type, its fields and those the link reads without a further look; any other type: the envelope.
_FRAMES: dict[str, tuple[dict[str, Check], tuple[str, ...]]] = {
    "hello": (_REPLY_FIELDS, ("sid", "s", "ms", "first")),
    "status": (_REPLY_FIELDS, ("s", "sid", "ms")),
    "ev": (_EVENT_FRAME_FIELDS, ("s", "sid", "f", "e")),
}


def quoted(value: object, limit: int) -> str:
    """Any parsed JSON as printable ASCII of at most ``limit`` characters: safe in a log, a page and a ledger entry."""
    return json.dumps(value, ensure_ascii=True)[:limit]


def _problem(fields: Mapping[str, Any], checks: Mapping[str, Check], required: Collection[str] = ()) -> str | None:
    for name in required:
        if name not in fields:
            return f"缺少字段 {quoted(name, 40)}"
    for name, value in fields.items():
        if not checks.get(name, _scalar)(value):
            return f"字段 {quoted(name, 40)} 的类型或取值范围不对"
    return None


def frame_problem(frame: dict[str, Any]) -> str | None:
    """What is wrong with a frame from a device (in Chinese; an event's own fields aside), or None."""
    checks, required = _FRAMES.get(frame["t"], (_ENVELOPE_FIELDS, ()))
    return _problem(frame, checks, required)


def event_problem(event: dict[str, Any]) -> str | None:
    """What is wrong with a device event's fields (in Chinese), or None if the edge can record it as it is."""
    return _problem(event, _EVENT_FIELDS, ("id", "k"))
