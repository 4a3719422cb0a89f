"""Which firmware a seal may run and still get grants: signed release manifests and the allow-list.

A release manifest (built by ``qinglian firmware build``, see tools/release.py)
names every file with its SHA-256 and the firmware hash the device reports at
boot, signed with the release key (Ed25519). The edge allows releases one by
one, each verified against the release public key in its config. A device
whose reported hash is not allowed, or whose release has a lower security
version than one it ran before, gets no grants, and the edge says so in the
ledger.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.kernel.config import EdgeConfig
from edge.kernel.errors import InputError
from edge.kernel.recorder import Recorder
from edge.seal import projection as P
from edge.seal.db import EdgeDB, Release

MANIFEST = "manifest.json"
FORMAT = "qinglian-release/1"
CODE_SUFFIXES = (".py", ".mpy")

UNKNOWN = "unknown_firmware"
DOWNGRADE = "firmware_downgrade"
REVOKED = "firmware_revoked"  # revoked by hash, or below the security floor the central store set


class ReleaseError(InputError):
    """A release that cannot be built, or one that does not verify."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "bad_release")


def firmware_hash(files: dict[str, str]) -> str:
    """The hash a device reports at boot for these code files (name -> hex SHA-256).

    The host side of firmware/fwhash.py: SHA-256 over, in name order, each
    name, a NUL and the file's own SHA-256.
    """
    total = hashlib.sha256()
    for name in sorted(n for n in files if n.endswith(CODE_SUFFIXES)):
        total.update(name.encode() + b"\x00" + bytes.fromhex(files[name]))
    return total.hexdigest()


def signed_bytes(manifest: dict[str, Any]) -> bytes:
    """What the release key signs: the manifest without its signature, canonical JSON."""
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify_manifest(manifest: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Check the signature and the internal consistency of a manifest; raise ReleaseError if bad."""
    try:
        if manifest.get("format") != FORMAT:
            raise ReleaseError(f"不是固件发布清单 not a {FORMAT} manifest")
        public_key.verify(bytes.fromhex(manifest["signature"]), signed_bytes(manifest))
        if manifest["firmware_hash"] != firmware_hash(manifest["files"]):
            raise ReleaseError("固件哈希与文件不符 the firmware hash does not match the file hashes")
        if type(manifest["security_version"]) is not int or manifest["security_version"] < 1:
            raise ReleaseError("安全版本无效 the security version must be a positive integer")
    except InvalidSignature as exc:
        raise ReleaseError("发布签名无效 the manifest's signature does not verify with the release key") from exc
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ReleaseError(f"清单格式错误 malformed manifest: {exc}") from exc


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The release public key (PEM) that every allowed manifest must verify under."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"无法读取发布公钥 cannot read the release public key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ReleaseError(f"{path} 不是 Ed25519 公钥 is not an Ed25519 public key")
    return key


async def allow(recorder: Recorder[EdgeDB], config: EdgeConfig, public_key: Ed25519PublicKey, manifest: dict[str, Any]) -> Release:
    """Put a verified release on the allow-list (a ledger entry); allowing it again changes nothing."""
    verify_manifest(manifest, public_key)
    async with recorder.step():
        if await recorder.db.release_revoked(manifest["firmware_hash"]):
            raise ReleaseError(f"固件 {manifest['firmware_hash'][:12]} 已被撤销 this release was revoked")
        floor = await recorder.db.security_floor()
        if manifest["security_version"] < floor:
            raise ReleaseError(
                f"固件安全版本 {manifest['security_version']} 低于下限 {floor} this release is below the minimum security version"
            )
        known = await recorder.db.release(manifest["firmware_hash"])
        if known is None:
            await recorder.record(
                P.FIRMWARE_ALLOWED,
                {
                    "firmware_hash": manifest["firmware_hash"], "version": manifest["version"],
                    "security_version": manifest["security_version"], "target": manifest["target"],
                    "key_id": manifest["key_id"],
                },
            )  # fmt: skip
            known = await recorder.db.release(manifest["firmware_hash"])
    assert known is not None
    return known


async def verdict(db: EdgeDB, config: EdgeConfig, device_id: str, fw: str | None) -> str | None:
    """None if a device running ``fw`` may have grants; else why not (an anomaly name)."""
    if not config.firmware.enforced:
        return None
    if fw and await db.release_revoked(fw):
        return REVOKED
    release = await db.release(fw) if fw else None
    if release is None:
        return UNKNOWN
    if release.security_version < await db.security_floor():
        return REVOKED
    if release.security_version < await db.device_security_version(device_id):
        return DOWNGRADE
    return None


async def revoke(recorder: Recorder[EdgeDB], revoked: list[str], min_security_version: int | None, source: str) -> list[str]:
    """Take the central store's revocations and security floor (ledger entries); return the hashes newly revoked.
    A revocation is final, and the floor only rises: an older configuration cannot bring a release back."""
    newly = []
    async with recorder.step():
        for fw in revoked:
            if not await recorder.db.release_revoked(fw):
                await recorder.record(P.FIRMWARE_REVOKED, {"firmware_hash": fw, "config": source})
                newly.append(fw)
        if min_security_version is not None and min_security_version > await recorder.db.security_floor():
            await recorder.record(P.SECURITY_FLOOR, {"min_security_version": min_security_version, "config": source})
    return newly
