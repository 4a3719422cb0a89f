"""The firmware's HMAC-SHA256 on hashlib agrees with the host's ``cryptography`` HMAC."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac
from hypothesis import given, settings
from hypothesis import strategies as st


def host_hmac(key: bytes, msg: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(msg)
    return mac.finalize()


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(key=st.binary(min_size=1, max_size=200), msg=st.binary(max_size=600))
def test_hmac_matches_cryptography(firmware: Path, key: bytes, msg: bytes) -> None:
    import hmac256

    assert hmac256.hmac_sha256(key, msg) == host_hmac(key, msg)
    assert hmac256.Hmac(key).digest(msg[:7], msg[7:]) == host_hmac(key, msg)


def test_rfc4231_case_2(firmware: Path) -> None:
    import hmac256

    expected = bytes.fromhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert hmac256.hmac_sha256(b"Jefe", b"what do ya want for nothing?") == expected


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(a=st.binary(max_size=40), b=st.binary(max_size=40))
def test_constant_time_equal_is_equality(firmware: Path, a: bytes, b: bytes) -> None:
    import hmac256

    assert hmac256.equal(a, b) == (a == b)
    assert hmac256.equal(a, a)
