"""Hostile uploads and look-ups at the console: decompression bombs, a filled disk, a daily quota, photo hashes.

A bomb is a small file naming a huge image in its header (a 30000 x 30000 PNG of zeros is about 100 KB):
it is measured from the header and refused, never decoded, whether it comes through the form, the JSON API
or reaches the OCR pipeline. Uploads stop below a free-space floor (the admin is told) and past an
account's daily quota. The photo route serves only a press's own photo.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import shutil
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from edge_support import LARGE, agent, writer  # noqa: F401  (fixtures)
from web_support import Api, seed_account

from edge.agent import EdgeAgent
from edge.seal.evidence import PHOTO, PHOTO_OCR, ocr_document_job
from edge.kernel.config import load_config
from edge.kernel.errors import ConfigError
from edge.kernel.websettings import WebSettings
from edge.ocr import preprocess
from edge.ocr.pixels import MAX_PAGE_PIXELS
from edge.seal.photos import PhotoStore
from edge.seal.projection import seal_kind
from edge.web.app import create_app
from edge.web.demo import sample_pdf, sample_png
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim.control import SimBoard

BOMB = 30000  # pixels a side: 900 million pixels, 2.7 GB once decoded as colour


def bomb_png(width: int, height: int) -> bytes:
    """A 1-bit grey PNG of zeros, its rows streamed through zlib (nothing of width x height is ever held)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes((1, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def bomb_jpeg(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header is rewritten to claim ``width`` x ``height``."""
    ok, encoded = cv2.imencode(".jpg", np.full((16, 16, 3), 255, np.uint8))
    assert ok
    data = bytearray(encoded.tobytes())
    sof = data.index(b"\xff\xc0")  # baseline frame: length (2), precision (1), height (2), width (2)
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def huge_pdf(page: bool) -> bytes:
    """The demo's one-page PDF with a page box of 5 x 5 metres, or with a 30000 x 30000 image inside."""
    pdf = sample_pdf("t", ["x"])
    if page:
        return pdf.replace(b"/MediaBox [0 0 595 842]", b"/MediaBox [0 0 14173 14173]")
    image = b"6 0 obj\n<< /Type /XObject /Subtype /Image /Width 30000 /Height 30000 /ColorSpace /DeviceGray"
    image += b" /BitsPerComponent 8 /Filter /FlateDecode /Length 20 >>\nstream\n" + bytes(20) + b"\nendstream\nendobj\n"
    return pdf.replace(b"xref\n", image + b"xref\n", 1)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- measured before decoding ----------------------------------------------------------------------------


def test_a_page_is_measured_from_its_header_and_never_decoded_when_too_large(tmp_path: Path) -> None:
    small = bomb_png(2000, 1000)
    assert preprocess.decode(small, max_pixels=2_000_000).shape == (1000, 2000, 3)
    with pytest.raises(preprocess.ImageError, match="2000×1000"):
        preprocess.decode(small, max_pixels=1_999_999)

    png, jpeg = bomb_png(BOMB, BOMB), bomb_jpeg(BOMB, BOMB)
    assert len(png) < 1_000_000 and len(jpeg) < 1_000
    before = peak_rss_mb()
    for data in (png, jpeg):
        with pytest.raises(preprocess.ImageError, match=f"{BOMB}×{BOMB}"):
            preprocess.decode(data)
    path = tmp_path / "bomb.png"
    path.write_bytes(png)
    with pytest.raises(preprocess.ImageError):
        preprocess.load(str(path))
    # An original that reached the store some other way is not decoded by the OCR worker either.
    result = ocr_document_job(str(path), "tesseract", MAX_PAGE_PIXELS)
    assert "像素" in result["error"]
    assert peak_rss_mb() - before < 200  # decoding one would have taken 2.7 GB


def test_the_pixel_limit_is_a_config_setting(tmp_path: Path) -> None:
    from edge_support import write_config

    def web(text: str, folder: str) -> Any:
        path = write_config(tmp_path / folder, "socket://127.0.0.1:9")
        with path.open("a", encoding="utf-8") as f:
            f.write(text)
        return load_config(path).web

    settings = web("[web]\nmax_page_megapixels = 12\nupload_quota_mb_per_day = 5\nmin_free_mb = 0\n", "a")
    assert (settings.max_page_pixels, settings.upload_quota_bytes, settings.min_free_bytes) == (12_000_000, 5 << 20, 0)
    assert web("[web]\n", "b").max_page_pixels == MAX_PAGE_PIXELS == 40_000_000
    with pytest.raises(ConfigError, match="max_page_megapixels"):
        web("[web]\nmax_page_megapixels = 0\n", "c")


# -- the console ---------------------------------------------------------------------------------------------


@asynccontextmanager
async def console_for(agent: EdgeAgent, settings: WebSettings, *accounts: tuple[str, list[str], str | None]) -> AsyncIterator[list[Api]]:
    """The console in-process with ``settings``, one logged-in client per account (username, roles, person)."""
    store = await WebStore.open(agent.config.data_dir)
    ledger = LedgerReader(agent.config.data_dir)
    clients: list[Api] = []
    try:
        app = create_app(Console(agent, store, settings), ledger)
        for username, roles, person in accounts:
            await seed_account(store, agent, username, roles, person)
            api = Api(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test"))
            clients.append(api)
            assert (await api.login(username)).status_code == 200
        yield clients
    finally:
        for api in clients:
            await api.client.aclose()
        await ledger.close()
        await store.close()


LIMITS = WebSettings(enabled=True, max_upload_bytes=2_000_000)
APPLICANTS = (("liming", ["applicant"], "liming"), ("chenjing", ["applicant"], "chenjing"))


async def form_file(api: Api, name: str, data: bytes) -> httpx.Response:
    """File through the page's form, as a browser does (the CSRF token as a form field)."""
    return await api.client.post(
        "/requests/new",
        data={"matter": "表单上传", "seal": "official", "presses": "1", "amount": "2500", "csrf_token": api.csrf},
        files={"document": (name, data, "application/octet-stream")},
    )


def stored_documents(agent: EdgeAgent) -> list[Path]:
    return [p for p in (agent.config.data_dir / "documents").rglob("*") if p.is_file()]


async def test_a_decompression_bomb_is_refused_at_upload_with_nothing_decoded(writer: EdgeAgent) -> None:
    async with console_for(writer, LIMITS, APPLICANTS[0]) as (liming,):
        before, peak = await writer.ledger.size(), peak_rss_mb()
        for name, data, shown in [
            ("scan.png", bomb_png(BOMB, BOMB), f"{BOMB}×{BOMB}"), ("photo.jpg", bomb_jpeg(BOMB, BOMB), f"{BOMB}×{BOMB}"),
            ("big-page.pdf", huge_pdf(page=True), "第 1 页"), ("inside.pdf", huge_pdf(page=False), "内嵌图片"),
        ]:  # fmt: skip
            api = await liming.file("炸弹", name=name, data=data)
            assert api.status_code == 400, (name, api.text)
            error = api.json()["error"]
            assert error["code"] == "image_too_large" and shown in error["message"] and "超过上限 40 百万像素" in error["message"]
            form = await form_file(liming, name, data)
            assert form.status_code == 400 and shown in form.text and "请降低扫描分辨率" in form.text
        broken = await liming.file("断头图片", name="cut.png", data=bomb_png(100, 100)[:20])  # the header cut short
        assert broken.status_code == 400 and "不是完整的 PNG 图片" in broken.json()["error"]["message"]
        assert await writer.ledger.size() == before and not stored_documents(writer)
        assert not any((writer.config.data_dir / "incoming").iterdir())  # no temp file left either
        assert peak_rss_mb() - peak < 200
        ordinary = await liming.file("普通原件", name="scan.png", data=sample_png())
        assert ordinary.status_code == 201, ordinary.text


async def test_each_account_has_a_daily_upload_quota(writer: EdgeAgent) -> None:
    page = sample_png()
    settings = replace(LIMITS, upload_quota_bytes=2 * len(page) + len(page) // 2)
    async with console_for(writer, settings, *APPLICANTS) as (liming, chenjing):
        for n in range(2):
            assert (await liming.file(f"第 {n + 1} 份", name=f"p{n}.png", data=sample_png(120 + n))).status_code == 201
        over = await liming.file("第 3 份", name="p2.png", data=sample_png(122))
        assert over.status_code == 400 and over.json()["error"]["code"] == "upload_quota"
        message = over.json()["error"]["message"]
        assert "超出每日上传限额" in message and "请明天再上传" in message
        form = await form_file(liming, "p3.png", sample_png(123))
        assert form.status_code == 400 and "超出每日上传限额" in form.text
        assert len(stored_documents(writer)) == 2
        other = await chenjing.file("别人的", LARGE, name="c.png", data=sample_png(130))
        assert other.status_code == 201, other.text  # per account


async def test_below_the_free_space_floor_uploads_stop_and_the_admin_is_warned(
    writer: EdgeAgent, caplog: pytest.LogCaptureFixture
) -> None:
    floor = shutil.disk_usage(writer.config.data_dir).free + (1 << 40)  # a tebibyte more than this disk has free
    settings = replace(LIMITS, min_free_bytes=floor)
    async with console_for(writer, settings, APPLICANTS[0], ("admin", ["admin"], None)) as (liming, admin):
        with caplog.at_level(logging.WARNING, logger="edge.web"):
            refused = await liming.file("磁盘满", name="scan.png", data=sample_png())
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "disk_full"
        assert "存储空间不足" in refused.json()["error"]["message"]
        form = await form_file(liming, "scan.png", sample_png())
        assert form.status_code == 400 and "存储空间不足" in form.text and 'id="storage-warning"' not in form.text
        assert not stored_documents(writer)
        assert any("disk nearly full" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
        page = await admin.client.get("/requests")
        assert page.status_code == 200 and 'id="storage-warning"' in page.text and "低于保留下限" in page.text


# -- the photo route -------------------------------------------------------------------------------------------


async def test_the_photo_route_serves_a_press_photo_and_no_hash_written_elsewhere(agent: EdgeAgent, board: SimBoard) -> None:
    async with console_for(agent, LIMITS, *APPLICANTS) as (liming, chenjing):
        # chenjing's original, which liming may not see, is an image in the document store
        secret = (await chenjing.file("别人的原件", LARGE, name="secret.png", data=sample_png(150))).json()
        secret_sha = secret["document"]["sha256"]
        assert (await liming.client.get(f"/api/requests/{secret['id']}")).status_code == 404

        rid = (await liming.file("盖章", name="mine.png", data=sample_png())).json()["id"]
        await agent.approve(rid, "zhangwei")
        await agent.approve(rid, "chenjing")
        await agent.wait_request(rid, {"in_use"}, 20)
        await asyncio.to_thread(board.control.press)
        closed = await agent.wait_request(rid, {"closed"}, 20)
        press = next(e for e in await agent.ledger.entries_of_kind(seal_kind("press")) if e.body["request_id"] == rid)
        ok, jpeg = cv2.imencode(".jpg", np.full((60, 80, 3), 200, np.uint8))
        photo = PhotoStore(agent.config.data_dir).put(jpeg.tobytes())
        about = {"request_id": rid, "press_no": 1, "press_entry": press.index}
        reading = {"backend": "tesseract", "fields": {}, "seal": {"found": False}, "ink_ppm": 0, "ms": 1}
        async with agent.recorder.step():  # as the photo evidence records them; the page's text names the hash
            await agent.recorder.record_many([
                (PHOTO, {**about, "device_id": press.body["device_id"], "sha256": photo, "bytes": len(jpeg)}),
                (PHOTO_OCR, {**about, "photo": photo, **reading, "text": f"见 {secret_sha} 号文件"}),
            ])  # fmt: skip
        assert closed.status == "closed"

        shown = await liming.client.get(f"/requests/{rid}/photos/{photo}")
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg" and shown.content == jpeg.tobytes()
        leaked = await liming.client.get(f"/requests/{rid}/photos/{secret_sha}")
        assert leaked.status_code == 404 and leaked.content != sample_png(150)
        for other in ("0" * 64, "../" * 5 + "etc/passwd", rid):
            assert (await liming.client.get(f"/requests/{rid}/photos/{other}")).status_code == 404
