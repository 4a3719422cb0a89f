"""Where the station head's private key lives: on the edge only wrapped by the head's passphrase (a file in the
data folder, 0600, one per key so clues sealed to an earlier head key stay readable to its holder), and in this
process's memory, unwrapped, for one console session at a time until it is locked or its minutes run out.
Nothing unwrapped is ever written anywhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import edge.modules.whistleblower.crypto as crypto
from edge.kernel.errors import InputError
from edge.ledger.private import open_private, private_dir
from edge.modules.whistleblower.kinds import NAME


def key_file(data_dir: Path, fingerprint: str) -> Path:
    return data_dir / NAME / f"head-key-{fingerprint}.pem"


def store_head_key(data_dir: Path, key: X25519PrivateKey, passphrase: str) -> Path:
    """Write the head's new private key, wrapped by ``passphrase``; never over an existing file."""
    private_dir(data_dir / NAME)
    path = key_file(data_dir, crypto.fingerprint(key.public_key()))
    with open_private(path, exclusive=True) as f:
        f.write(crypto.wrap_private(key, passphrase))
    return path


def load_head_key(data_dir: Path, head_public: str, passphrase: str) -> X25519PrivateKey:
    """The head's private key for the station's recorded public key, unwrapped; ``InputError`` if the passphrase
    is wrong or the file is missing."""
    path = key_file(data_dir, crypto.fingerprint(crypto.load_public(head_public)))
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise InputError("本机没有站长密钥文件，请由站长重新设置密钥", "no_head_key") from None
    return crypto.unwrap_private(pem, passphrase)


@dataclass
class Unlocked:
    """Head keys unlocked per console session (by the session's id), each until its expiry."""

    minutes: int = 30
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, tuple[X25519PrivateKey, float]] = field(default_factory=dict)

    def unlock(self, session: str, key: X25519PrivateKey) -> None:
        self._keys[session] = (key, self.clock() + self.minutes * 60)

    def key(self, session: str) -> X25519PrivateKey | None:
        held = self._keys.get(session)
        if held is None:
            return None
        if self.clock() >= held[1]:
            del self._keys[session]
            return None
        return held[0]

    def lock(self, session: str) -> None:
        self._keys.pop(session, None)
