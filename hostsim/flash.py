"""The simulated board's persistent parts: its chip id and its flash filesystem.

A state folder holds ``chip.json`` (the eFuse unique id, fixed for the life of
the board) and ``flash/`` (the device's ``/``). A new flash is seeded with the
firmware files and, standing in for factory provisioning, a device identity.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tools.source import FIRMWARE_DIR

IDENTITY_FILE = "identity.json"


@dataclass(frozen=True)
class Identity:
    device_id: str
    key: bytes


def unique_id(state: Path) -> bytes:
    chip = state / "chip.json"
    if not chip.exists():
        _write_private(chip, json.dumps({"unique_id": os.urandom(6).hex()}))
    return bytes.fromhex(json.loads(chip.read_text())["unique_id"])


def device_id_for(uid: bytes) -> str:
    return "QL-" + uid.hex().upper()


def prepare(state: Path, firmware: Path = FIRMWARE_DIR, factory: bool = False) -> Path:
    """Create the state folder on first use and return the flash folder."""
    state.mkdir(parents=True, exist_ok=True)
    uid = unique_id(state)
    flash = state / "flash"
    if not flash.exists():
        seeding = state / "flash.seeding"
        shutil.rmtree(seeding, ignore_errors=True)
        seeding.mkdir()
        for source in sorted(firmware.glob("*.py")):
            shutil.copyfile(source, seeding / source.name)
        if not factory:
            key = os.urandom(32)
            _write_private(seeding / IDENTITY_FILE, json.dumps({"device_id": device_id_for(uid), "key": key.hex()}))
        seeding.rename(flash)  # a half-seeded flash never looks like a board
    return flash


def read_identity(state: Path) -> Identity | None:
    """The identity in the board's flash, read the way a technician with the board in hand would."""
    path = state / "flash" / IDENTITY_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Identity(data["device_id"], bytes.fromhex(data["key"]))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
