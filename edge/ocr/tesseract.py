"""The default OCR engine: Debian's Tesseract with ``chi_sim``, loaded once per process.

A page is read in one pass (``--psm 6``, one block of text), at the scale
where ``chi_sim`` reads body text best, figures and punctuation included
(their ink about 20 px tall, see :data:`edge.ocr.preprocess.TARGET_WIDTH`).
A title printed half as large again does worse there: 厂 comes out as 广 or
三, 合 as 台. So every line printed clearly taller than the body is read a
second time on its own (``--psm 7``), cut out and shrunk until its
characters are 17 px tall. Measured on generated pages (seeds 1000-1299
photographed, 1000-1099 clean): the page pass read 283 of 300 and 89 of 100
titles right, the second reading all 400; at 14-16 px a few go wrong again,
and from about 21 px up the 厂 errors return.

A line that states a party or the signing date is read twice more on its
own, as it stands and at 19 px, and the three readings vote character by
character: their mistakes fall on different characters (千 read as 干 in one,
荒 as 荡 in another), a majority seldom shares one. Measured on the party
lines of photographed pages (seeds 1000-1099 and 3000-3099, 399 lines): the
page pass alone read 357 right, any one of the line's own readings 361 to
369, the vote of three 377. Five (at 17 and 24 px too) read 384, for twice
the time.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter
from dataclasses import replace

import cv2
import numpy as np

from edge.ocr.fields import is_field_line
from edge.ocr.preprocess import PRINT_LEVEL, text_band
from edge.ocr.types import Box, Glyph, OcrLine, finish_line, split_word

PSM_BLOCK = 6  # the page as one uniform block of text
PSM_LINE = 7  # the image as a single text line
HEADING_RATIO = 1.25  # print this much taller than the body's (and as wide: see is_heading) is a heading
HEADING_PX = 17  # ink height of a heading's characters for its own reading
FIELD_PX = 19  # ink height of a field's line for one of its two own readings (the other at the page's scale)


class TesseractBackend:
    """Tesseract with ``chi_sim`` (+ ``eng`` when asked) through libtesseract (:mod:`edge.ocr.tessapi`)."""

    name = "tesseract"

    def __init__(self, lang: str = "chi_sim") -> None:
        # Tesseract's OpenMP threads fight each other on a small machine (and
        # across a process pool): one thread per page is faster overall. libgomp
        # reads this when it loads, with libtesseract, so it is set first.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        from edge.ocr.tessapi import TessApi

        self._api = TessApi(lang)
        self.lang = lang

    def read(self, grey: np.ndarray) -> list[OcrLine]:
        lines = parse_tsv(self._api.tsv(grey, PSM_BLOCK))
        bands = [_ink_rows(grey, line.box) for line in lines]
        heights = [bottom - top for top, bottom in filter(None, bands)]
        if not heights:
            return lines
        body = statistics.median(heights)
        for line, band in zip(lines, bands):
            if band is None:
                continue
            if is_heading(line, band[1] - band[0], body):
                glyphs = self._read_line(grey, line, band, HEADING_PX)
                # a second reading that lost characters saw less than the first: keep the first
                if len(glyphs) >= len(line.glyphs):
                    line.glyphs = glyphs
                    finish_line(line)
            elif is_field_line(line.text):
                readings = [self._read_line(grey, line, band, px) for px in (band[1] - band[0], FIELD_PX)]
                line.glyphs = vote([line.glyphs, *readings])
                finish_line(line)
        return lines

    def _read_line(self, grey: np.ndarray, line: OcrLine, band: tuple[int, int], px: int) -> list[Glyph]:
        """The line read on its own (``--psm 7``), scaled so that its print stands ``px`` tall; page pixels."""
        top, bottom = band
        # half a character of room at either end, in case the page pass clipped one
        x0 = max(0, line.box[0] - (bottom - top) // 2)
        x1 = min(grey.shape[1], line.box[0] + line.box[2] + (bottom - top) // 2)
        scale = px / (bottom - top)
        crop = cv2.resize(grey[top:bottom, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # paper all round: Tesseract finds no line in print that touches the image's edge
        margin = px // 2
        crop = cv2.copyMakeBorder(crop, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=255)
        return [
            Glyph(g.text, _unscale(g.box, scale, margin, (x0, top)), g.conf)
            for reread in parse_tsv(self._api.tsv(crop, PSM_LINE))
            for g in reread.glyphs
        ]


def vote(readings: list[list[Glyph]]) -> list[Glyph]:
    """One reading of a line from several: character by character, what most of them read.

    Only readings as long as most are take part (one that dropped or added a
    character would vote its neighbours into the wrong places); ties go to the
    earlier reading, so the page pass, listed first, keeps its characters and boxes.
    """
    lengths = Counter(len(glyphs) for glyphs in readings if glyphs)  # a reading that saw nothing has no vote
    length = max(lengths, key=lambda n: lengths[n])  # the first of equal counts: Counter keeps order
    same = [glyphs for glyphs in readings if len(glyphs) == length]
    return [
        replace(column[0], text=Counter(g.text for g in column).most_common(1)[0][0]) for column in zip(*same)
    ]


def is_heading(line: OcrLine, ink_height: int, body: float) -> bool:
    """Is ``line`` printed in larger type than the body (``body``: the page's median ink height)?

    Print runs taller for two reasons: larger type, or lines run together (by a
    seal's ring or a shadow the preparation left). Only larger type makes the
    characters wider too: Chinese characters are square.
    """
    pitch = line.box[2] / max(1, len(line.glyphs))
    return ink_height > HEADING_RATIO * body and pitch > 0.8 * ink_height


def _unscale(box: Box, scale: float, margin: int, origin: tuple[int, int]) -> Box:
    """A box in the shrunk crop back in page pixels."""
    x, y, w, h = box
    return (
        origin[0] + round((x - margin) / scale),
        origin[1] + round((y - margin) / scale),
        max(1, round(w / scale)),
        max(1, round(h / scale)),
    )


def _ink_rows(grey: np.ndarray, box: Box) -> tuple[int, int] | None:
    """The rows (page pixels, end exclusive) the print of the line in ``box`` covers, None if none.

    Tesseract's line boxes run taller than the print (punctuation, the seal's
    ghost) and a little into the neighbours; the ink says where the line is.
    """
    x, y, w, h = box
    pad = max(2, h // 4)
    y0 = max(0, y - pad)
    crop = grey[y0 : y + h + pad, x : x + w]
    if crop.size == 0:
        return None
    _, ink = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    band = text_band(ink, y + h / 2 - y0)
    if band is None or crop[band[0] : band[1]].min() >= PRINT_LEVEL:
        return None  # no print: a line Tesseract made of the faint ghost of a seal, say
    return y0 + band[0], y0 + band[1]


def parse_tsv(tsv: str) -> list[OcrLine]:
    """Tesseract's TSV (one row per page, block, paragraph, line and word) to lines, top to bottom."""
    lines: dict[tuple[str, str, str], OcrLine] = {}
    for row in tsv.splitlines():
        # level, page, block, paragraph, line, word, left, top, width, height, conf, text
        cols = row.split("\t")
        if len(cols) != 12 or cols[0] != "5" or not cols[11].strip():
            continue  # not a word (or the header row of the command's TSV)
        box = (int(cols[6]), int(cols[7]), int(cols[8]), int(cols[9]))
        line = lines.setdefault((cols[2], cols[3], cols[4]), OcrLine("", box))
        line.glyphs.extend(split_word(cols[11].strip(), box, float(cols[10])))
    out = list(lines.values())
    for line in out:
        finish_line(line)
    out.sort(key=lambda ln: (ln.box[1], ln.box[0]))
    return out
