"""Checkpoints: Ed25519-signed tree heads (tree size, root hash, time).

The signed message is a small versioned text, so a signature made for a
checkpoint can never be mistaken for a signature over anything else and a
future format cannot be confused with this one::

    qinglian-ledger-checkpoint/v1
    <tree_size in decimal>
    <root hash in lowercase hex>
    <timestamp, UTC ISO-8601 with Z>
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .entry import utc_now
from .merkle import HASH_SIZE

SIGNATURE_DOMAIN = "qinglian-ledger-checkpoint/v1"
SIGNATURE_SIZE = 64


def signed_message(tree_size: int, root_hash: bytes, timestamp: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return f"{SIGNATURE_DOMAIN}\n{tree_size}\n{root_hash.hex()}\n{timestamp}\n".encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement "the ledger had ``tree_size`` entries with Merkle root ``root_hash``"."""

    tree_size: int
    root_hash: bytes
    timestamp: str
    signature: bytes

    def __post_init__(self) -> None:
        # Reject what would make the signed text ambiguous or meaningless,
        # whoever builds the object (from_dict, a database row, a test).
        if type(self.tree_size) is not int or self.tree_size < 0:
            raise ValueError(f"tree_size: 必须是非负整数 must be a non-negative integer, got {self.tree_size!r}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise ValueError(f"root_hash: 必须是 {HASH_SIZE} 字节 must be {HASH_SIZE} bytes")
        if not isinstance(self.timestamp, str) or not self.timestamp or "\n" in self.timestamp:
            raise ValueError(f"timestamp: 无效 invalid timestamp {self.timestamp!r}")
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_SIZE:
            raise ValueError(f"signature: 必须是 {SIGNATURE_SIZE} 字节 must be {SIGNATURE_SIZE} bytes")

    @classmethod
    def sign(cls, key: Ed25519PrivateKey, tree_size: int, root_hash: bytes, timestamp: str | None = None) -> Checkpoint:
        """Sign a tree head, stamped now unless ``timestamp`` is given."""
        ts = utc_now() if timestamp is None else timestamp
        return cls(tree_size, root_hash, ts, key.sign(signed_message(tree_size, root_hash, ts)))

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        """Whether the signature is ``public_key``'s over exactly this tree size, root and time."""
        try:
            public_key.verify(self.signature, signed_message(self.tree_size, self.root_hash, self.timestamp))
        except InvalidSignature:
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        """Inverse of :meth:`to_dict`; ``ValueError`` on anything malformed (e.g. from the network)."""
        try:
            root_hash = bytes.fromhex(data["root_hash"])
            signature = bytes.fromhex(data["signature"])
            return cls(data["tree_size"], root_hash, data["timestamp"], signature)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"检查点格式错误 malformed checkpoint: {exc!r}") from None
