"""Uploaded originals: PDF, JPEG or PNG, checked by their first bytes, not only their names.

An upload is streamed to a temporary file (counted against the size limit as
it arrives), its magic bytes and its extension must both say PDF, JPEG or PNG
and agree, and only then is it copied into the content-addressed document
store. Anything else gets a clear Chinese message and leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from edge.errors import InputError

KINDS = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
KIND_NAMES = {"pdf": "PDF", "jpeg": "JPG 图片", "png": "PNG 图片"}
EXTENSIONS = {".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
_CHUNK = 1 << 16

# Recognised for the error message only ("this looks like ...").
_OTHER_MAGIC = (
    (b"MZ", "Windows 程序(EXE)"),
    (b"\x7fELF", "Linux 程序"),
    (b"PK\x03\x04", "ZIP 压缩包或 Office 文档"),
    (b"Rar!", "RAR 压缩包"),
    (b"\xd0\xcf\x11\xe0", "旧版 Office 文档"),
    (b"GIF8", "GIF 图片"),
    (b"RIFF", "RIFF 媒体文件(如 WEBP)"),
    (b"#!", "脚本"),
    (b"<", "网页或 XML"),
)


def sniff(head: bytes) -> str | None:
    """``pdf``, ``jpeg``, ``png`` or None, from the first bytes of a file."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def looks_like(head: bytes) -> str:
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return name
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "未知格式"
    return "文本文件"


def content_type_of(path: Path) -> str | None:
    """The MIME type to serve a stored original under: by its bytes, never by its recorded name."""
    with path.open("rb") as f:
        head = f.read(4096)
    kind = sniff(head)
    if kind is not None:
        return KINDS[kind]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain; charset=utf-8"  # originals filed from the CLI may be text


def safe_filename(name: str | None) -> str:
    """The name as people see it: no folders, no control characters, at most 120 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = re.sub(r"\s+", " ", base).strip(" .")
    if len(base) > 120:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 110] + dot + ext[:9]) if dot else base[:120]
    return base or "原件"


@dataclass(frozen=True)
class Received:
    path: Path  # a temporary file; the caller stores it, then removes it
    name: str
    kind: str
    size: int


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def check_name(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    kind = EXTENSIONS.get(ext)
    if kind is None:
        shown = f"“{ext}”文件" if ext else "没有扩展名的文件"
        raise InputError(f"只接受 PDF、JPG、PNG 格式的原件，不接受{shown}。请上传扫描件、照片或 PDF。", "bad_type")
    return kind


async def receive(upload: object, tmp_dir: Path, max_bytes: int) -> Received:
    """Stream a Starlette ``UploadFile`` to a temp file and check it; ``InputError`` (nothing kept) otherwise."""
    filename = getattr(upload, "filename", None)
    read = getattr(upload, "read", None)
    if not filename or read is None:
        raise InputError("请选择原件文件（PDF、JPG 或 PNG）。", "missing_file")
    name = safe_filename(str(filename))
    kind_by_name = check_name(name)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f".upload-{os.getpid()}-{os.urandom(6).hex()}"
    size = 0
    head = b""
    try:
        with tmp.open("wb") as out:
            while chunk := await read(_CHUNK):
                if len(head) < 16:
                    head = (head + chunk)[:16]
                size += len(chunk)
                if size > max_bytes:
                    raise InputError(f"原件过大：最多 {_mb(max_bytes)}。请压缩或分页扫描后再上传。", "file_too_large")
                out.write(chunk)
        if size == 0:
            raise InputError("原件文件是空的，请重新选择。", "empty_file")
        kind = sniff(head)
        if kind is None:
            raise InputError(
                f"文件“{name}”的内容不是 {KIND_NAMES[kind_by_name]}（看起来是{looks_like(head)}）。"
                "只接受真正的 PDF、JPG、PNG 文件，改扩展名无效。",
                "bad_type",
            )
        if kind != kind_by_name:
            raise InputError(
                f"文件“{name}”的扩展名与内容不符：内容是 {KIND_NAMES[kind]}。请改正扩展名后再上传。", "type_mismatch"
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Received(tmp, name, kind, size)
