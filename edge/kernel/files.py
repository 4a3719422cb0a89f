"""Files in the data folder that are not databases: written whole or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edge.ledger.private import open_private


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that a power cut leaves either the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    with open_private(tmp, "w") as f:
        json.dump(data, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
