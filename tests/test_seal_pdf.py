"""PDF originals are read and compared: pdfium renders their pages, the OCR reads them at filing, and the photo of
a stamped page is checked against the page of the PDF it shows (edge/ocr/preprocess.py, edge/seal/evidence.py)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from edge_support import DEVICE, SMALL, running_agent
from PIL import Image
from test_ocr_edge import TIMEOUT, approved, bodies, camboard, desk_camera, page_file  # noqa: F401 (fixture)

from edge.kernel.websettings import WebSettings
from edge.ocr.pipeline import read_document
from edge.ocr.preprocess import ImageError, render_pdf
from edge.seal.evidence import DOCUMENT_OCR, PHOTO_CHECK
from edge.seal.web.service import SealConsole
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim import pages
from hostsim.control import SimBoard


def pdf_of(pngs: list[Path], path: Path) -> Path:
    """A PDF of scanned pages, as a scanner or a phone app saves one (Pillow's PDF writer)."""
    images = [Image.open(p).convert("RGB") for p in pngs]
    images[0].save(path, "PDF", resolution=300, save_all=True, append_images=images[1:])
    return path


def test_a_pdf_is_rendered_page_by_page_and_read(tmp_path: Path) -> None:
    folder = tmp_path
    first, second = page_file(folder, 41, amount_fen=2_850_000), page_file(folder, 42, amount_fen=SMALL)
    readings = read_document(str(pdf_of([first, second], folder / "contract.pdf")))
    assert [r.fields.title for r in readings] == [pages.random_spec(41).title, pages.random_spec(42).title]
    assert [r.fields.amount_fen for r in readings] == [2_850_000, SMALL]


def test_a_hostile_pdf_is_refused_before_rendering() -> None:
    with pytest.raises(ImageError):
        render_pdf(b"%PDF-1.4\n garbage, no objects at all")
    huge = b"%PDF-1.4\n1 0 obj << /Type /Page /MediaBox [0 0 500000 500000] >> endobj\n%%EOF"
    with pytest.raises(ImageError, match="过大"):
        render_pdf(huge)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 1100), "white").save(buffer, "PDF", resolution=100)  # 8 x 11 inches
    (page,) = render_pdf(buffer.getvalue())
    assert page.shape == (2200, 1600, 3)  # at 200 dpi
    with pytest.raises(ImageError, match="过大"):
        render_pdf(buffer.getvalue(), max_pixels=1_000_000)


async def test_a_pdf_original_is_read_at_filing_and_its_stamped_page_compared(tmp_path: Path, camboard: SimBoard) -> None:
    docs = tmp_path / "docs"
    cover, stamped = page_file(docs, 43), page_file(docs, 44, amount_fen=SMALL)
    original = pdf_of([cover, stamped], docs / "contract.pdf")
    agent = await running_agent(tmp_path, camboard, desk_camera(camboard))
    try:
        request_id = await approved(agent, original, 2)
        request = await agent.get_request(request_id)
        assert request.original_read is not None and request.original_read["state"] == "read"
        (doc,) = await bodies(agent, DOCUMENT_OCR, request_id)
        assert "error" not in doc and len(doc["reading"]["pages"]) == 2
        # the demo's "press" lays the PDF's last page under the simulated camera, not the previous request's page
        store = await WebStore.open(agent.config.data_dir)
        try:
            shown = await SealConsole(Console(agent, store, WebSettings(enabled=True))).original_in_use(DEVICE)
        finally:
            await store.close()
        assert shown is not None and read_document(str(shown))[0].fields.title == pages.random_spec(44).title
        assert agent.evidence is not None
        shots = agent.evidence.shots
        await asyncio.to_thread(camboard.control.camera, "place", file=str(stamped))  # page 2 of the PDF, printed
        await asyncio.to_thread(camboard.control.press)
        assert await agent.evidence.photographed(shots + 1, TIMEOUT)
        await asyncio.to_thread(camboard.control.camera, "place", file=str(page_file(docs, 45)))  # not in the PDF
        await asyncio.to_thread(camboard.control.press)
        await agent.wait_request(request_id, {"closed"}, TIMEOUT)
        await agent.evidence.idle(120)
        checks = {c["press_no"]: c for c in await bodies(agent, PHOTO_CHECK, request_id)}
        assert checks[1]["match"] is True and checks[1]["flags"] == []  # compared, not 无原件可比
        assert checks[2]["match"] is False and "no_original" not in checks[2]["flags"]
        assert {"title", "text"} <= set(checks[2]["flags"])
    finally:
        await agent.close()
