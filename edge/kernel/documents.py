"""The original documents of seal requests, stored by their SHA-256 under ``data_dir/documents``.

Content addressing makes the copy checkable against the hash in the ledger
(anyone can re-hash the file) and makes storing twice harmless. Files are
written to a temporary name, fsynced, renamed into place and left read-only.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.kernel.errors import InputError
from edge.ledger.private import READ_ONLY_MODE, open_private, private_dir

log = logging.getLogger("edge.kernel.documents")

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # a scan or a PDF, not a video
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredDocument:
    sha256: str
    name: str  # the file name it was filed under, for people
    size: int

    def to_body(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "name": self.name, "size": self.size}


def documents_dir(data_dir: Path) -> Path:
    return data_dir / "documents"


def document_path(data_dir: Path, sha256: str) -> Path:
    if not _SHA_RE.match(sha256):
        raise InputError(f"文件哈希 {sha256!r:.80} 无效：应为 64 位十六进制数字", "bad_document")
    return documents_dir(data_dir) / sha256[:2] / sha256


def _disk_problem(exc: OSError) -> str:
    """What went wrong, in Chinese (the message reaches an upload's page); the system's English to the log."""
    log.warning("original document: %s", exc)
    return {
        errno.ENOSPC: "磁盘空间不足", errno.EDQUOT: "磁盘空间不足",
        errno.EACCES: "没有读写权限", errno.EPERM: "没有读写权限",
        errno.EROFS: "磁盘为只读", errno.ENAMETOOLONG: "文件名过长",
    }.get(exc.errno or 0, "磁盘读写出错，详见运行日志")  # fmt: skip


def check_source(source: Path) -> int:
    """The size of a file that may be filed as an original; a clear error otherwise."""
    try:
        st = source.stat()
    except FileNotFoundError:
        raise InputError(f"找不到原件文件：{source}", "missing_file") from None
    except OSError as exc:
        raise InputError(f"无法读取原件 {source}：{_disk_problem(exc)}", "missing_file") from None
    if not source.is_file():
        raise InputError(f"原件不是普通文件：{source}", "missing_file")
    if st.st_size == 0:
        raise InputError(f"原件文件为空：{source}", "empty_file")
    if st.st_size > MAX_DOCUMENT_BYTES:
        raise InputError(
            f"原件过大：{st.st_size / 2**20:.1f} MB，超过 {MAX_DOCUMENT_BYTES >> 20} MB 的上限", "file_too_large"
        )
    return st.st_size


def store_document(data_dir: Path, source: Path) -> StoredDocument:
    """Copy ``source`` into the store; return its hash, name and size."""
    source = Path(source)
    check_source(source)
    folder = private_dir(documents_dir(data_dir))
    digest = hashlib.sha256()
    size = 0
    tmp = folder / f".incoming-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        with source.open("rb") as src, open_private(tmp, exclusive=True) as dst:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES:
                    raise InputError(f"原件过大，超过 {MAX_DOCUMENT_BYTES >> 20} MB 的上限", "file_too_large")
            dst.flush()
            os.fsync(dst.fileno())
        sha = digest.hexdigest()
        final = document_path(data_dir, sha)
        private_dir(final.parent)
        if final.exists():
            tmp.unlink()  # the same content is already there
        else:
            tmp.chmod(READ_ONLY_MODE)
            os.replace(tmp, final)
    except OSError as exc:
        raise InputError(f"无法保存原件 {source}：{_disk_problem(exc)}", "bad_document") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return StoredDocument(sha, source.name, size)


def verify_stored(data_dir: Path, sha256: str) -> int:
    """Re-hash a stored document; return its size, or raise if it is missing or altered."""
    path = document_path(data_dir, sha256)
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise InputError(f"原件未入库：{sha256}", "missing_file") from None
    if digest.hexdigest() != sha256:
        raise InputError(f"原件内容与哈希不符，文件已被改动或损坏：{sha256}", "bad_document")
    return size
