"""Where this checkout keeps the firmware source: what releases are built from and the simulator flashes."""

from __future__ import annotations

from pathlib import Path

FIRMWARE_DIR = Path(__file__).resolve().parent.parent / "firmware"
