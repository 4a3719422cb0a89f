"""Files and folders of the edge's data: the service's own user reads them, nobody else, whatever the umask.

The data folder holds the ledger, password hashes, keys, photos of stamped
pages and the originals people filed: nothing for other accounts on the host.
Every file is created 0600 and every folder 0700 here, with the mode given at
creation (never created open and tightened afterwards), so the systemd unit's
``UMask=0077`` is a second fence rather than the only one. SQLite names the
files it adds beside a database (``-wal``, ``-shm``, journals) with the
database's own mode, so creating the database file here is enough.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700
READ_ONLY_MODE = 0o400  # content-addressed files, never rewritten


def private_dir(path: Path) -> Path:
    """``path`` with each missing folder on the way created 0700 (folders already there are left as they are)."""
    missing = []
    folder = Path(path)
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(DIR_MODE)
        except FileExistsError:
            pass  # another process made it a moment ago
    return Path(path)


def open_private(path: Path, mode: str = "wb", exclusive: bool = False) -> IO[Any]:
    """Open ``path`` for writing, created 0600 (``exclusive``: never an existing file; else truncated).
    ``mode`` is ``"wb"`` or ``"w"`` (UTF-8 text)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    return os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8")


def create_private(path: Path) -> Path:
    """Create ``path`` empty, 0600, unless it exists: before a database opens it (SQLite would make it 0644)."""
    private_dir(Path(path).parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    return Path(path)
