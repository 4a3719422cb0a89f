"""Uploaded originals: PDF, JPEG or PNG, checked by their first bytes, not only their names.

An upload is streamed to a temporary file (counted against the size limit as
it arrives), its magic bytes and its extension must both say PDF, JPEG or PNG
and agree, a page must not decode to more pixels than allowed (read from its
header: a small file can hold a huge image), and only then is it copied into
the content-addressed document store. Anything else gets a clear Chinese
message and leaves nothing behind. The disk is guarded too: a daily quota per
account and a floor of free space under the data folder (see
:func:`disk_short`, :func:`quota_exceeded`).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from edge.kernel.errors import InputError
from edge.ledger.private import open_private, private_dir
from edge.ocr.pixels import MAX_PAGE_PIXELS, TooManyPixels, UnreadableImage, check_image, check_pdf

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
    mib = 1024 * 1024
    return f"{n / mib:.0f} MB" if n >= mib else f"{max(1, round(n / 1024))} KB"


def disk_short(data_dir: Path, floor: int, extra: int = 0) -> str | None:
    """Why uploads stop (Chinese, for the admin), when ``extra`` more bytes would leave less than ``floor``
    free on the disk holding ``data_dir``; None while there is room."""
    free = shutil.disk_usage(data_dir).free
    if free - extra >= floor:
        return None
    return (
        f"存储空间不足：数据目录所在磁盘仅剩 {_mb(free)}，低于保留下限 {_mb(floor)}，原件上传已暂停。"
        "请清理磁盘或扩容（盖章记录与台账不受影响）。"
    )


DISK_FULL = "本机存储空间不足，原件上传已暂停，管理员已收到提醒。请稍后再试或联系管理员。"


def quota_exceeded(used: int, size: int, quota: int) -> str | None:
    """Why an upload of ``size`` bytes is over the account's daily ``quota`` (``used`` already today), or None."""
    if used + size <= quota:
        return None
    return (
        f"超出每日上传限额：每个账号每天最多上传 {_mb(quota)} 原件，您今天已上传 {_mb(used)}，"
        f"此文件 {_mb(size)}。请明天再上传，或联系管理员。"
    )


def check_name(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    kind = EXTENSIONS.get(ext)
    if kind is None:
        shown = f"“{ext}”文件" if ext else "没有扩展名的文件"
        raise InputError(f"只接受 PDF、JPG、PNG 格式的原件，不接受{shown}。请上传扫描件、照片或 PDF。", "bad_type")
    return kind


def check_pixels(path: Path, name: str, kind: str, max_pixels: int) -> None:
    """Refuse a page that would decode to more than ``max_pixels``, measured from its header (nothing decoded)."""
    try:
        if kind == "pdf":
            check_pdf(path.read_bytes(), max_pixels)
        else:
            check_image(path, max_pixels)
    except TooManyPixels as exc:
        raise InputError(f"原件“{name}”过大：{exc}", "image_too_large") from None
    except UnreadableImage:
        raise InputError(f"文件“{name}”不是完整的 {KIND_NAMES[kind]}，无法读取。请重新扫描或导出后再上传。", "bad_type") from None


async def receive(upload: object, tmp_dir: Path, max_bytes: int, max_pixels: int = MAX_PAGE_PIXELS) -> Received:
    """Stream a Starlette ``UploadFile`` to a temp file and check it (type, size, pixels); ``InputError``
    (nothing kept) otherwise."""
    filename = getattr(upload, "filename", None)
    read = getattr(upload, "read", None)
    if not filename or read is None:
        raise InputError("请选择原件文件（PDF、JPG 或 PNG）。", "missing_file")
    name = safe_filename(str(filename))
    kind_by_name = check_name(name)
    private_dir(tmp_dir)
    tmp = tmp_dir / f".upload-{os.getpid()}-{os.urandom(6).hex()}"
    size = 0
    head = b""
    try:
        with open_private(tmp, exclusive=True) as out:
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
        await asyncio.to_thread(check_pixels, tmp, name, kind, max_pixels)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Received(tmp, name, kind, size)
