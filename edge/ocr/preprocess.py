"""Getting a photographed, sealed page ready for OCR.

A red seal impression over black print wrecks plain OCR: in a grey
conversion the red ink is as dark as the text under it. In the red channel
red ink is nearly as bright as paper while black print stays black, so the
red channel used as grey removes the seal and leaves the text. The other
steps undo what the desk camera did: find the sheet and straighten it
(rotation, perspective), even out the light, and bring the page to one scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.ocr.pixels import MAX_PAGE_PIXELS, RENDER_DPI, TooManyPixels, UnreadableImage, check_image, check_pdf

# The sheet is resampled to this width before OCR: the ink of a body character
# of a printed A5 or A4 page then stands about 20 px tall, where Tesseract's
# Chinese model does best, and a smaller image is faster to read.
TARGET_WIDTH = 900
MAX_PDF_PAGES = 20  # the pages of a PDF original read at most: a contract, not a book


class ImageError(ValueError):
    """Bytes or a file that are not a readable image."""


def decode(data: bytes, max_pixels: int = MAX_PAGE_PIXELS) -> np.ndarray:
    """JPEG/PNG bytes to a BGR image; :class:`ImageError` when they are not an image or would decode to
    more than ``max_pixels`` (measured from the header first: OpenCV allocates the whole image up front)."""
    try:
        check_image(data, max_pixels)
    except UnreadableImage:
        raise ImageError("无法识别的图片 not a readable image (JPEG or PNG expected)") from None
    except TooManyPixels as exc:
        raise ImageError(f"图片过大 image too large: {exc}") from None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError("无法识别的图片 not a readable image (JPEG or PNG expected)")
    return image


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ImageError(f"无法读取图片 cannot read {path}: {exc}") from None


def load(path: str, max_pixels: int = MAX_PAGE_PIXELS) -> np.ndarray:
    return decode(_read(path), max_pixels)


def render_pdf(data: bytes, max_pixels: int = MAX_PAGE_PIXELS, max_pages: int = MAX_PDF_PAGES) -> list[np.ndarray]:
    """The first ``max_pages`` pages of a PDF as BGR images at :data:`RENDER_DPI` (pdfium, as a browser would draw
    them); :class:`ImageError` when it is no readable PDF or a page would be over ``max_pixels``."""
    import pypdfium2 as pdfium  # only where PDF originals are read (the OCR workers)

    try:
        check_pdf(data, max_pixels)  # from the file's dictionaries, before pdfium allocates anything
    except TooManyPixels as exc:
        raise ImageError(f"PDF 页面过大 PDF page too large: {exc}") from None
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ImageError(f"无法打开的 PDF not a readable PDF: {exc}") from None
    scale = RENDER_DPI / 72
    pages = []
    try:
        if len(pdf) == 0:
            raise ImageError("PDF 没有页面 the PDF has no page")
        for i in range(min(len(pdf), max_pages)):
            page = pdf[i]
            width, height = page.get_size()
            if width * scale * height * scale > max_pixels:  # a page box the dictionaries did not show plainly
                raise ImageError(f"PDF 第 {i + 1} 页过大 page {i + 1} too large")
            bitmap = page.render(scale=scale)
            pages.append(bitmap.to_numpy()[:, :, :3].copy())  # BGR, as OpenCV reads images; copied out of pdfium's memory
    finally:
        pdf.close()
    return pages


def load_pages(path: str, max_pixels: int = MAX_PAGE_PIXELS) -> list[np.ndarray]:
    """An original's pages: one for a JPEG or PNG, each (up to :data:`MAX_PDF_PAGES`) of a PDF."""
    data = _read(path)
    if data.startswith(b"%PDF-"):
        return render_pdf(data, max_pixels)
    return [decode(data, max_pixels)]


def _order_corners(pts: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left."""
    pts = pts.reshape(4, 2).astype(np.float32)
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float32)


def find_sheet(image: np.ndarray) -> np.ndarray | None:
    """The four corners of the paper sheet in a desk photo, or None when the sheet fills the frame."""
    h, w = image.shape[:2]
    scale = 600.0 / max(h, w)
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    grey = cv2.GaussianBlur(grey, (5, 5), 0)
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    biggest = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(biggest)
    if area < 0.2 * mask.size or area > 0.97 * mask.size:
        return None  # no sheet on a desk, or the sheet is the whole image (a scan)
    hull = cv2.convexHull(biggest)
    approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(approx) != 4:
        rect = cv2.minAreaRect(hull)
        approx = cv2.boxPoints(rect)
    return _order_corners(np.asarray(approx, np.float32) / scale)


def straighten(image: np.ndarray, corners: np.ndarray | None, width: int = TARGET_WIDTH) -> np.ndarray:
    """The sheet cut out and squared up at ``width`` px (the whole image scaled when ``corners`` is None)."""
    h, w = image.shape[:2]
    if corners is None:
        scale = width / w
        return cv2.resize(
            image, (width, round(h * scale)), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        )
    tl, tr, br, bl = corners
    sheet_w = float(np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    sheet_h = float(np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    height = round(width * sheet_h / max(sheet_w, 1.0))
    # a few pixels in from the edge, so the desk does not show as a dark border
    inset = 0.006 * width
    dst = np.array(
        [[-inset, -inset], [width + inset, -inset], [width + inset, height + inset], [-inset, height + inset]],
        np.float32,
    )
    m = cv2.getPerspectiveTransform(corners, dst)
    return cv2.warpPerspective(image, m, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def flatten_light(grey: np.ndarray) -> np.ndarray:
    """Divide out uneven lighting: the paper becomes evenly white, print keeps its contrast.

    The paper's brightness is estimated on a quarter-size copy (a closing wipes
    out the print, a blur smooths the rest), which is plenty for light that
    changes over centimetres and keeps this step cheap.
    """
    h, w = grey.shape[:2]
    small = cv2.resize(grey, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    k = max(5, (min(small.shape[:2]) // 20) | 1)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    background = cv2.GaussianBlur(background, (0, 0), k / 2)
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    out = grey.astype(np.float32) / np.maximum(background.astype(np.float32), 1.0) * 255.0
    return np.clip(out, 0, 255).astype(np.uint8)


# What is left of a seal in the red channel is light grey (about 200-220 on white paper);
# mapping this level and above to white wipes out the ghost of the ring and its lettering
# that otherwise confuses the reading of the lines it crosses (the date under the seal).
PAPER_LEVEL = 225


def whiten(grey: np.ndarray, level: int = PAPER_LEVEL) -> np.ndarray:
    """Stretch so that ``level`` and above become paper white."""
    lut = np.clip(np.arange(256, dtype=np.float32) * 255.0 / level, 0, 255).astype(np.uint8)
    result: np.ndarray = cv2.LUT(grey, lut)
    return result


def to_grey(sheet: np.ndarray, red_channel: bool = True) -> np.ndarray:
    """Grey for OCR: the red channel (seal ink vanishes) or the usual luminance (plain)."""
    return sheet[:, :, 2].copy() if red_channel else cv2.cvtColor(sheet, cv2.COLOR_BGR2GRAY)


@dataclass(frozen=True)
class Prepared:
    grey: np.ndarray  # what the OCR backend reads
    sheet: np.ndarray  # the straightened colour sheet
    glyphs: np.ndarray  # grey before whitening: the glyph reader of capitals wants the full strokes
    corners: np.ndarray | None  # where the sheet lay in the input image


def prepare(image: np.ndarray, red_channel: bool = True, flatten: bool = True, width: int = TARGET_WIDTH) -> Prepared:
    """The full preparation; ``red_channel=False, flatten=False`` is the plain one the benchmark compares."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    corners = find_sheet(image)
    sheet = straighten(image, corners, width)
    grey = to_grey(sheet, red_channel)
    if flatten:
        grey = flatten_light(grey)
    return Prepared(grey=whiten(grey) if red_channel else grey, sheet=sheet, glyphs=grey, corners=corners)


def text_band(ink: np.ndarray, centre: float) -> tuple[int, int] | None:
    """The band of rows holding one line of print: the inked band nearest ``centre`` (crop rows)."""
    rows = ink.sum(axis=1) > 0
    bands: list[tuple[int, int]] = []
    start = None
    for i, on in enumerate(list(rows) + [False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            bands.append((start, i))
            start = None
    # close small gaps inside one line (the dot of a colon, a thin stroke)
    merged: list[list[int]] = []
    for a, b in bands:
        if merged and a - merged[-1][1] <= 2:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    tall = [band for band in merged if band[1] - band[0] >= 6]
    if not tall:
        return None
    a, b = min(tall, key=lambda band: abs((band[0] + band[1]) / 2 - centre) - (band[1] - band[0]) / 2)
    return a, b


# Darker than this is print on a flattened sheet; what is left of a seal is lighter.
PRINT_LEVEL = 150


def ink_fraction(grey: np.ndarray) -> float:
    """Share of pixels that are print (dark on a flattened sheet): near 0 for a blank page."""
    _, mask = cv2.threshold(grey, PRINT_LEVEL, 255, cv2.THRESH_BINARY_INV)
    h, w = mask.shape
    core = mask[h // 20 : h - h // 20, w // 20 : w - w // 20]  # ignore the sheet's edge
    return float(np.count_nonzero(core)) / max(core.size, 1)
