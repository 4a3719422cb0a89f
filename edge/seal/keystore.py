"""Device keys at rest: AES-256-GCM under a master key that lives in its own file.

The edge database holds each device key only sealed (nonce + ciphertext, the
device id as associated data, so a sealed key copied onto another device's row
does not open). The master key is a separate 0600 file named in the config —
on the Pi outside the data folder — so a copy of the database alone reveals no
key. Enrolment reads the board's identity file the technician brought from the
flash; a key is never taken off the serial line.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edge.kernel.errors import ConfigError, InputError
from edge.ledger.private import open_private, private_dir

MASTER_KEY_BYTES = 32
DEVICE_KEY_BYTES = 32
_NONCE_BYTES = 12
_FINGERPRINT_LABEL = b"qinglian/key-fingerprint/v1"


@dataclass(frozen=True)
class SealedKey:
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class DeviceIdentity:
    """What provisioning wrote into the board's flash: its id and its 32-byte key."""

    device_id: str
    key: bytes

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.key)


def key_fingerprint(key: bytes) -> str:
    """A short public name for a key (for the ledger and the screen); reveals nothing of the key."""
    return hashlib.sha256(_FINGERPRINT_LABEL + key).hexdigest()[:16]


def read_identity_file(path: Path) -> DeviceIdentity:
    """Read ``identity.json`` ({"device_id", "key": 64 hex digits}) as copied from the board's flash."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"找不到设备身份文件 identity file not found: {path}", "missing_file") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"无法读取设备身份文件 cannot read identity file {path}: {exc}", "bad_identity") from None
    if not isinstance(data, dict):
        raise InputError(f"设备身份文件格式错误 {path}: expected a JSON object", "bad_identity")
    device_id = data.get("device_id")
    key_hex = data.get("key")
    if not isinstance(device_id, str) or not device_id or not isinstance(key_hex, str):
        raise InputError(f"设备身份文件缺少 device_id 或 key {path}: needs device_id and key", "bad_identity")
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        raise InputError(f"设备密钥不是十六进制 {path}: key is not hex", "bad_identity") from None
    if len(key) != DEVICE_KEY_BYTES:
        raise InputError(f"设备密钥应为 32 字节 {path}: key must be 32 bytes, got {len(key)}", "bad_identity")
    return DeviceIdentity(device_id, key)


class MasterKey:
    """The AES-GCM key that seals device keys; created on first use, mode 0600."""

    def __init__(self, key: bytes) -> None:
        if len(key) != MASTER_KEY_BYTES:
            raise ConfigError("主密钥应为 32 字节 the master key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def load(cls, path: Path, create: bool = True) -> MasterKey:
        try:
            return cls._load(Path(path), create)
        except OSError as exc:
            raise ConfigError(f"无法读取或创建主密钥 cannot read or create the master key {path}: {exc}") from None

    @classmethod
    def _load(cls, path: Path, create: bool) -> MasterKey:
        if not path.exists():
            if not create:
                raise ConfigError(f"找不到主密钥 master key file missing: {path}")
            private_dir(path.parent)
            try:
                # exclusive, and the mode at creation: never overwrite a key, never readable by others.
                f = open_private(path, exclusive=True)
            except FileExistsError:
                pass  # another process created it a moment ago: use theirs
            else:
                with f:
                    f.write(os.urandom(MASTER_KEY_BYTES))
                    f.flush()
                    os.fsync(f.fileno())
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"主密钥文件权限过宽 master key {path} has mode {mode:o}; run `chmod 600 {path}`"
            )
        data = path.read_bytes()
        if len(data) != MASTER_KEY_BYTES:
            raise ConfigError(f"主密钥文件损坏 master key {path} is {len(data)} bytes, expected {MASTER_KEY_BYTES}")
        return cls(data)

    def seal(self, device_id: str, key: bytes) -> SealedKey:
        if len(key) != DEVICE_KEY_BYTES:
            raise InputError("设备密钥应为 32 字节 a device key is 32 bytes", "bad_identity")
        nonce = os.urandom(_NONCE_BYTES)
        return SealedKey(nonce, self._aead.encrypt(nonce, key, device_id.encode()))

    def open(self, device_id: str, sealed: SealedKey) -> bytes:
        try:
            return self._aead.decrypt(sealed.nonce, sealed.ciphertext, device_id.encode())
        except InvalidTag:
            raise ConfigError(
                f"无法解开设备 {device_id} 的密钥 cannot unseal the key of {device_id}: "
                "wrong master key file, or the stored key was altered; re-enrol the device"
            ) from None
