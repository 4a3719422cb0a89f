"""Photos of stamped pages, stored by their SHA-256 under ``data_dir/photos``.

The same layout as the original documents (:mod:`edge.documents`):
``photos/ab/abcdef...`` (the first two hex digits name the folder, the file
is the full digest, so ``find -name HASH`` finds it). A photo is written to a
temporary name, fsynced, renamed into place (and the folder fsynced), so
after a crash it is either complete under its hash or absent; the ledger's
``photo`` entry names the hash, and anyone can re-hash the file.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from edge.ledger.private import READ_ONLY_MODE, open_private, private_dir

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class PhotoMissing(LookupError):
    pass


class PhotoCorrupt(ValueError):
    pass


class PhotoStore:
    def __init__(self, data_dir: Path | str) -> None:
        self.root = Path(data_dir) / "photos"

    def path(self, sha256: str) -> Path:
        if not _SHA_RE.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data``; return its hex SHA-256. Storing the same bytes twice is harmless."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if final.exists():
            return sha
        private_dir(final.parent)
        tmp = final.parent / f".incoming-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            with open_private(tmp, exclusive=True) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            tmp.chmod(READ_ONLY_MODE)
            os.replace(tmp, final)
            fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            if tmp.exists():
                tmp.unlink()
        return sha

    def get(self, sha256: str, verify: bool = True) -> bytes:
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise PhotoMissing(f"照片不在库中 photo {sha256} is not in the store") from None
        if verify and hashlib.sha256(data).hexdigest() != sha256:
            raise PhotoCorrupt(f"照片内容与哈希不符 stored photo {sha256} does not match its hash")
        return data

    def __contains__(self, sha256: str) -> bool:
        return _SHA_RE.match(sha256) is not None and self.path(sha256).exists()

    def hashes(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.glob("??/*") if _SHA_RE.match(p.name))
