"""Personal numbers at rest (ID and bank account numbers): AES-256-GCM under a data key of this module.

The data key is made once, sealed under the edge's master key (the 0600 file that already seals device
keys; ``host.master``) and recorded in the ledger sealed, so a replay from the ledger rebuilds the pool and
the numbers still open on this edge, while a copy of the ledger or the database (or the central store,
which receives the ledger) reveals none. Each number is sealed with the worker's id and the field as
associated data, so a sealed number copied onto another worker's row does not open. A keyed digest of the
ID number (HMAC-SHA256 under a key derived from the data key) finds a person registered twice without
storing the number in clear.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edge.kernel.errors import ConfigError

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_LABEL = "work_order/personal-numbers"  # the associated data of the data key sealed under the master key


@dataclass(frozen=True)
class WrappedKey:
    """The data key as the master key sealed it (what the master key's ``open`` reads)."""

    nonce: bytes
    ciphertext: bytes


def new_wrapped_key(master: Any) -> WrappedKey:
    """A fresh data key, sealed under the edge's master key (``edge.seal.keystore.MasterKey``, passed in)."""
    sealed = master.seal(KEY_LABEL, os.urandom(KEY_BYTES))
    return WrappedKey(sealed.nonce, sealed.ciphertext)


class Sealer:
    """Seals and opens one worker's personal numbers under the module's data key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._digest_key = HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=b"qinglian/work_order/id-digest/v1").derive(key)

    @classmethod
    def open_with(cls, master: Any, wrapped: WrappedKey) -> Sealer:
        return cls(master.open(KEY_LABEL, wrapped))

    def seal(self, worker: str, field: str, value: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return (nonce + self._aead.encrypt(nonce, value.encode(), f"{worker}/{field}".encode())).hex()

    def open(self, worker: str, field: str, sealed: str) -> str:
        blob = bytes.fromhex(sealed)
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], f"{worker}/{field}".encode()).decode()
        except InvalidTag:
            raise ConfigError(f"无法解开 {worker} 的{field}：主密钥不符或数据被改动") from None

    def digest(self, id_number: str) -> str:
        mac = hmac.HMAC(self._digest_key, hashes.SHA256())
        mac.update(id_number.encode())
        return mac.finalize().hex()


def masked(value: str, keep: int = 4) -> str:
    """A number as staff see it on a page: only its last ``keep`` characters."""
    return "*" * max(len(value) - keep, 0) + value[-keep:]
