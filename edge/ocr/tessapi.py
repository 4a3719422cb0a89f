"""Tesseract loaded once per process, through libtesseract's C API.

The ``tesseract`` command (what pytesseract runs) loads the language model on
every call: about 0.2 s of CPU for ``chi_sim``, a fifth of reading a whole A5
page, plus a PNG written to a temporary file and read back. Debian's
``tesseract-ocr`` package brings ``libtesseract.so.5`` with it, so the edge keeps
one engine per process instead: the same library reading the same pixels, and
its TSV is the command's TSV (``tesseract IMAGE - tsv`` without the header row).
Only the handful of C functions used here are declared.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import weakref

import numpy as np

from edge.ocr.types import OcrUnavailable

_INSTALL = "apt-get install tesseract-ocr tesseract-ocr-chi-sim (make setup does this)"


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("tesseract")
    if name is None:
        raise OcrUnavailable(f"未安装 Tesseract (libtesseract not found): {_INSTALL}")
    lib = ctypes.CDLL(name)
    handle, text = ctypes.c_void_p, ctypes.c_char_p
    lib.TessBaseAPICreate.restype = handle
    lib.TessBaseAPICreate.argtypes = []
    lib.TessBaseAPIInit3.restype = ctypes.c_int
    lib.TessBaseAPIInit3.argtypes = [handle, text, text]
    lib.TessBaseAPISetPageSegMode.restype = None
    lib.TessBaseAPISetPageSegMode.argtypes = [handle, ctypes.c_int]
    lib.TessBaseAPISetImage.restype = None
    lib.TessBaseAPISetImage.argtypes = [handle, handle, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    # a char* the caller frees with TessDeleteText: kept as a bare pointer, not converted by ctypes
    lib.TessBaseAPIGetTsvText.restype = handle
    lib.TessBaseAPIGetTsvText.argtypes = [handle, ctypes.c_int]
    lib.TessDeleteText.restype = None
    lib.TessDeleteText.argtypes = [handle]
    lib.TessBaseAPIDelete.restype = None
    lib.TessBaseAPIDelete.argtypes = [handle]
    return lib


class TessApi:
    """One Tesseract engine with its language model loaded; :class:`OcrUnavailable` when it cannot be."""

    def __init__(self, lang: str) -> None:
        self._lib = _library()
        self._handle = self._lib.TessBaseAPICreate()
        # deleting the engine before the library unloads keeps Tesseract's leak warnings off stderr at exit
        weakref.finalize(self, self._lib.TessBaseAPIDelete, self._handle)
        if self._lib.TessBaseAPIInit3(self._handle, None, lang.encode()) != 0:
            raise OcrUnavailable(
                f"Tesseract 缺少语言数据 missing language data for {lang}: "
                "apt-get install tesseract-ocr-chi-sim tesseract-ocr-eng"
            )
        self._lock = threading.Lock()  # one engine reads one image at a time

    def tsv(self, grey: np.ndarray, psm: int) -> str:
        """Tesseract's TSV for an 8-bit grey image read in page segmentation mode ``psm``."""
        grey = np.ascontiguousarray(grey, dtype=np.uint8)
        height, width = grey.shape
        with self._lock:
            self._lib.TessBaseAPISetPageSegMode(self._handle, psm)
            # Tesseract copies the pixels; ``grey`` stays alive until then anyway
            self._lib.TessBaseAPISetImage(self._handle, grey.ctypes.data, width, height, 1, width)
            result = self._lib.TessBaseAPIGetTsvText(self._handle, 0)
            if not result:
                return ""
            try:
                return ctypes.string_at(result).decode("utf-8", "replace")
            finally:
                self._lib.TessDeleteText(result)
