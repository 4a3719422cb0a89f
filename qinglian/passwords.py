"""Password hashes and the password policy for every account, the edge console's and the central store's alike:
scrypt (hashlib, OpenSSL's implementation), never plain or fast hashes.

A leaf both sides import (tests/test_layers.py keeps it one): it imports nothing of the project. Stored as
``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>``, so the cost can be raised later without breaking existing
accounts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path

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


COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
_MIN_NAME_CHARS = 2  # a shorter name occurs in too many good passwords by chance


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of passwords every guesser tries first (lower-case)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_new_password(password: str, names: Iterable[str | None] = ()) -> str | None:
    """A Chinese message if the password is not acceptable, else None.

    ``names``: the username, the person's roster id and name — a password made of them is the first
    thing anyone who knows the person tries.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        return f"密码至少 {MIN_PASSWORD_CHARS} 个字符"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"密码最多 {MAX_PASSWORD_CHARS} 个字符"
    if password.strip() != password:
        return "密码首尾不能有空格"
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        return "密码太常见，很容易被猜到，请换一个（例如几个不相关的词加数字）"
    for name in names:
        if name and len(name) >= _MIN_NAME_CHARS and name.lower() in lowered:
            return "密码不能包含用户名或姓名"
    return None
