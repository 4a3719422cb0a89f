"""The host end of the seal's serial protocol (the device end is firmware/link.py and firmware/grant.py).

One frame per line: ``#`` BODY ``*`` MAC ``\\n``, where BODY is a JSON object
and MAC the first 16 bytes, in hex, of HMAC-SHA256 under the link subkey over a
direction byte (``E`` edge to device, ``D`` device to edge) and BODY. Grants
carry their own HMAC under the grant subkey. The two ends are written twice
on purpose, once for MicroPython's hashlib and once for the host's
``cryptography``; tests/test_protocol.py checks they agree byte for byte.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac

MAC_BYTES = 16
LINK_LABEL = b"qinglian/link/v1"
GRANT_LABEL = b"qinglian/grant/v1"
TICKS_PERIOD = 1 << 30  # the device's ticks_ms wraps here

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
    except ValueError as exc:
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
