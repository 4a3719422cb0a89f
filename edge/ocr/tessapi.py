"""Tesseract loaded once per process, through ``tesserocr`` (a maintained Cython wrapper of libtesseract's API).

The ``tesseract`` command (what pytesseract runs) loads the language model on every call: about 0.2 s of CPU for
``chi_sim``, a fifth of reading a whole A5 page, plus a PNG written to a temporary file and read back. The edge keeps
one engine per process instead: the same library reading the same pixels, and its TSV is the command's TSV
(``tesseract IMAGE - tsv`` without the header row). ``make setup`` builds tesserocr against Debian's libtesseract
(``pip install --no-binary tesserocr``): its wheel bundles a Tesseract of its own, whose readings are not the ones
the OCR here was measured with.
"""

from __future__ import annotations

import threading

import numpy as np

from edge.ocr.types import OcrUnavailable

_INSTALL = "apt-get install tesseract-ocr tesseract-ocr-chi-sim libtesseract-dev libleptonica-dev (make setup does this)"


class TessApi:
    """One Tesseract engine with its language model loaded; :class:`OcrUnavailable` when it cannot be."""

    def __init__(self, lang: str) -> None:
        try:
            import tesserocr
        except ImportError as exc:
            raise OcrUnavailable(f"未安装 tesserocr (libtesseract 的 Python 接口) not installed: {_INSTALL}") from exc
        try:
            self._api = tesserocr.PyTessBaseAPI(lang=lang)
        except RuntimeError:
            raise OcrUnavailable(
                f"Tesseract 缺少语言数据 missing language data for {lang}: "
                "apt-get install tesseract-ocr-chi-sim tesseract-ocr-eng"
            ) from None
        self._lock = threading.Lock()  # one engine reads one image at a time

    def tsv(self, grey: np.ndarray, psm: int) -> str:
        """Tesseract's TSV for an 8-bit grey image read in page segmentation mode ``psm``."""
        grey = np.ascontiguousarray(grey, dtype=np.uint8)
        height, width = grey.shape
        with self._lock:
            self._api.SetPageSegMode(psm)
            self._api.SetImageBytes(grey.tobytes(), width, height, 1, width)
            return self._api.GetTSVText(0) or ""
