"""Password hashes for console accounts: scrypt (hashlib, OpenSSL's implementation), never plain or fast hashes.

Stored as ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>`` so the cost can be
raised later without breaking existing accounts (``needs_rehash``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

LOG2_N, R, P = 15, 8, 1  # 32 MiB, ~50-100 ms on a Raspberry Pi 4 class CPU
_SALT_BYTES, _HASH_BYTES = 16, 32
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20), dklen=_HASH_BYTES)


def hash_password(password: str) -> str:
    salt = os.urandom(_SALT_BYTES)
    digest = _scrypt(password, salt, LOG2_N, R, P)
    return f"scrypt${LOG2_N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored hash; False for anything malformed."""
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(log2_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_dummy: list[str] = []


def dummy_hash() -> str:
    """Checked when the account does not exist, so an unknown name costs as much time as a wrong password."""
    if not _dummy:
        _dummy.append(hash_password(os.urandom(16).hex()))
    return _dummy[0]


def check_new_password(password: str) -> str | None:
    """A Chinese message if the password is not acceptable, else None."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        return f"密码至少 {MIN_PASSWORD_CHARS} 个字符"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"密码最多 {MAX_PASSWORD_CHARS} 个字符"
    if password.strip() != password:
        return "密码首尾不能有空格"
    return None
