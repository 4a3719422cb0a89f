"""The sign-in sheet's tokens: one per household and meeting, signed with a key of the edge's own.

A token is an HMAC-SHA256 tag over the meeting and the household, keyed by a key derived (HKDF) from the edge's
master key under a label of this module's, so no new secret file is kept and the derived key opens nothing
else. A token printed for another meeting, or for another household, does not verify; a token that verifies
but whose household has signed in already is refused by the desk (one sign-in per household).
"""

from __future__ import annotations

import base64
import hmac as std_hmac
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_LABEL = b"qinglian/household_assembly/sign-in/v1"
_TAG_BYTES = 16  # 128 bits: no one guesses a tag, and the QR code stays small enough to scan from paper


def token_key(host: Any) -> bytes:
    """The sign-in key of the edge ``host`` (the agent): derived from its master key file."""
    _ = host.master  # creates the master key when the edge is new, and checks the file's mode and size
    return HKDF(hashes.SHA256(), 32, salt=None, info=_LABEL).derive(host.config.key_file.read_bytes())


def sign(key: bytes, meeting_id: str, household_id: str) -> str:
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(f"{meeting_id}\x00{household_id}".encode())
    return base64.urlsafe_b64encode(mac.finalize()[:_TAG_BYTES]).decode().rstrip("=")


def verify(key: bytes, meeting_id: str, household_id: str, token: str) -> bool:
    return std_hmac.compare_digest(sign(key, meeting_id, household_id).encode(), token.encode("utf-8", "replace"))
