"""The original of a new-request form that came back with an error, kept so the applicant need not choose it again.

A browser empties a file input whenever the page is sent back, so a typo in the amount used to cost the
applicant their photo of the contract. The upload, checked as any (type, size, pixels), is kept instead: one
per account at most (a newer one replaces it), under ``data_dir/drafts``, named by the account, never in the
document store (nothing is filed, so nothing is stored nor counted). The form names it, and sends back its
SHA-256: the next submission without a new file files that original, if it is still the account's draft.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from edge.ledger.private import open_private, private_dir
from edge.web.uploads import Received


@dataclass(frozen=True)
class Draft:
    name: str
    kind: str
    size: int
    sha256: str


class Drafts:
    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "drafts"

    def _paths(self, username: str) -> tuple[Path, Path]:
        # the account's name hashed: any username is a safe file name, and the folder lists no names
        slot = hashlib.sha256(username.encode()).hexdigest()[:32]
        return self.dir / f"{slot}.bin", self.dir / f"{slot}.json"

    def keep(self, username: str, received: Received) -> Draft:
        """Move the checked upload into ``username``'s slot (replacing what was there)."""
        private_dir(self.dir)
        data, meta = self._paths(username)
        digest = hashlib.sha256()
        with open(received.path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        draft = Draft(received.name, received.kind, received.size, digest.hexdigest())
        os.replace(received.path, data)  # same file system: data_dir/incoming and data_dir/drafts
        with open_private(meta, "w") as f:
            json.dump(draft.__dict__, f, ensure_ascii=False)
        return draft

    def current(self, username: str) -> Draft | None:
        data, meta = self._paths(username)
        if not data.exists() or not meta.exists():
            return None
        try:
            return Draft(**json.loads(meta.read_text("utf-8")))
        except (ValueError, TypeError):
            return None

    def take(self, username: str, sha256: str) -> Received | None:
        """The account's draft as an upload to file (the caller removes its file), if it is the one named."""
        draft = self.current(username)
        if draft is None or draft.sha256 != sha256:
            return None
        data, meta = self._paths(username)
        meta.unlink(missing_ok=True)
        return Received(data, draft.name, draft.kind, draft.size)

    def drop(self, username: str) -> None:
        for path in self._paths(username):
            path.unlink(missing_ok=True)
