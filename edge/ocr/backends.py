"""OCR engines behind one small interface, chosen by name.

``tesseract`` (the default, :mod:`edge.ocr.tesseract`) runs Debian's Tesseract
with ``chi_sim``, loaded once per process. ``rapidocr`` runs RapidOCR's ONNX
models (``pip install 'qinglian[rapidocr]'``; the models ship inside the
wheel, nothing is fetched). Each is imported only when asked for.

A backend reads a prepared grey page and returns lines of text, each with its
box and, where the engine knows them, a box per character (the reader of
amounts in capitals uses those to look at single glyphs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edge.ocr.types import OcrBackend, OcrLine, OcrUnavailable, finish_line, split_word

# -- RapidOCR --------------------------------------------------------------------------


class RapidOcrBackend:
    """RapidOCR (PaddleOCR models in ONNX) from the optional ``rapidocr-onnxruntime`` package."""

    name = "rapidocr"

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise OcrUnavailable(
                "未安装 RapidOCR: pip install 'qinglian[rapidocr]' (rapidocr-onnxruntime 1.4.4, models included)"
            ) from None
        self._engine: Any = RapidOCR()

    def read(self, grey: np.ndarray) -> list[OcrLine]:
        import cv2

        image = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR) if grey.ndim == 2 else grey
        result, _ = self._engine(image)
        lines = []
        for quad, text, score in result or []:
            pts = np.asarray(quad, np.float32)
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
            text = str(text).replace(" ", "") if _mostly_cjk(str(text)) else str(text)
            line = OcrLine(text, box, split_word(text, box, float(score) * 100) if text else [], float(score) * 100)
            lines.append(line)
        return _merge_rows(lines)


def _mostly_cjk(text: str) -> bool:
    return sum(ord(ch) > 0x2E80 for ch in text) * 2 >= len(text.strip())


def _merge_rows(lines: list[OcrLine]) -> list[OcrLine]:
    """RapidOCR may cut one printed line into pieces: put pieces on the same row back together."""
    lines.sort(key=lambda ln: ln.box[1] + ln.box[3] / 2)
    rows: list[list[OcrLine]] = []
    for line in lines:
        cy = line.box[1] + line.box[3] / 2
        if rows:
            last = rows[-1][0]
            if abs(cy - (last.box[1] + last.box[3] / 2)) < 0.5 * min(last.box[3], line.box[3]):
                rows[-1].append(line)
                continue
        rows.append([line])
    out = []
    for row in rows:
        row.sort(key=lambda ln: ln.box[0])
        merged = OcrLine("", row[0].box, [g for ln in row for g in ln.glyphs])
        if merged.glyphs:
            finish_line(merged)
            merged.text = "".join(ln.text for ln in row)
            out.append(merged)
    return out


# -- choosing ----------------------------------------------------------------------------


def _tesseract() -> OcrBackend:
    from edge.ocr.tesseract import TesseractBackend  # loads Tesseract's library: only when asked for

    return TesseractBackend()


BACKENDS: dict[str, Callable[[], OcrBackend]] = {
    "tesseract": _tesseract,
    "rapidocr": RapidOcrBackend,
}
DEFAULT_BACKEND = "tesseract"
_cache: dict[str, OcrBackend] = {}


def get_backend(name: str = DEFAULT_BACKEND) -> OcrBackend:
    """The named backend, created once per process; :class:`OcrUnavailable` if it cannot run here."""
    if name not in BACKENDS:
        raise ValueError(f"未知的 OCR 引擎 unknown OCR backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name not in _cache:
        _cache[name] = BACKENDS[name]()
    return _cache[name]
