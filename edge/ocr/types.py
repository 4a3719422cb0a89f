"""What an OCR engine returns, and the helpers every engine uses to build it: a leaf, so the engines
(:mod:`edge.ocr.tesseract`, RapidOCR in :mod:`edge.ocr.backends`) and their chooser import it without
importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

Box = tuple[int, int, int, int]  # x, y, w, h


class OcrUnavailable(RuntimeError):
    """The chosen OCR engine (or its language data) is not installed."""


@dataclass
class Glyph:
    text: str
    box: Box
    conf: float = -1.0


@dataclass
class OcrLine:
    text: str
    box: Box
    glyphs: list[Glyph] = field(default_factory=list)
    conf: float = -1.0


class OcrBackend(Protocol):
    name: str

    def read(self, grey: np.ndarray) -> list[OcrLine]:
        """The page's lines, top to bottom."""
        ...


# -- shared by the engines ------------------------------------------------------------


def split_word(text: str, box: Box, conf: float) -> list[Glyph]:
    """A word's characters with boxes shared out by width (CJK characters are square)."""
    if len(text) == 1:
        return [Glyph(text, box, conf)]
    x, y, w, h = box
    weights = [1.0 if ord(ch) > 0x2E80 else 0.55 for ch in text]
    total = sum(weights)
    glyphs = []
    pos = float(x)
    for ch, wt in zip(text, weights):
        gw = w * wt / total
        glyphs.append(Glyph(ch, (round(pos), y, max(1, round(gw)), h), conf))
        pos += gw
    return glyphs


def finish_line(line: OcrLine) -> None:
    xs = [g.box[0] for g in line.glyphs]
    ys = [g.box[1] for g in line.glyphs]
    x1 = [g.box[0] + g.box[2] for g in line.glyphs]
    y1 = [g.box[1] + g.box[3] for g in line.glyphs]
    line.box = (min(xs), min(ys), max(x1) - min(xs), max(y1) - min(ys))
    line.text = _join_glyphs(line.glyphs)
    confs = [g.conf for g in line.glyphs if g.conf >= 0]
    line.conf = sum(confs) / len(confs) if confs else -1.0


def _join_glyphs(glyphs: list[Glyph]) -> str:
    """Join characters, keeping a space only between two Latin/digit runs that had a gap."""
    out = ""
    prev: Glyph | None = None
    for g in glyphs:
        if prev is not None and prev.text[-1:].isascii() and g.text[:1].isascii():
            gap = g.box[0] - (prev.box[0] + prev.box[2])
            if gap > 0.3 * max(g.box[3], 1) and prev.text[-1].isalnum() and g.text[0].isalnum():
                out += " "
        out += g.text
        prev = g
    return out
