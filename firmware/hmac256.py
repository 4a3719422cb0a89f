# HMAC-SHA256 (RFC 2104) on MicroPython's hashlib, and a constant-time compare.
#
# MicroPython ships neither `hmac` nor `hmac.compare_digest`; this is the
# standard construction, checked against the host's `cryptography` HMAC in
# tests/test_firmware_crypto.py.
import hashlib

_BLOCK = 64


class Hmac:
    """An HMAC-SHA256 keyed once; pads are precomputed so each MAC costs two hashes."""

    def __init__(self, key):
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key + bytes(_BLOCK - len(key))
        self._ipad = bytes([b ^ 0x36 for b in key])
        self._opad = bytes([b ^ 0x5C for b in key])

    def digest(self, *parts):
        inner = hashlib.sha256(self._ipad)
        for part in parts:
            inner.update(part)
        outer = hashlib.sha256(self._opad)
        outer.update(inner.digest())
        return outer.digest()


def hmac_sha256(key, msg):
    return Hmac(key).digest(msg)


def equal(a, b):
    """Compare two byte strings in time independent of where they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def subkey(key, label):
    """Derive a purpose-bound key so a link MAC can never pass as a grant MAC."""
    return hmac_sha256(key, label)
