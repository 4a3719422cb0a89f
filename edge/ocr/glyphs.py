"""Telling a character by its shape: ink cut to a normalised cell and compared with the character rendered in
the Chinese fonts installed on the host (黑体 and 宋体 from Debian), by normalised correlation.

Used where the OCR engine's own reading cannot be trusted alone: the capital numerals its model lacks
(:mod:`edge.ocr.capitals`), and a character of the seal's ring the readings agree on against the village's
name (:mod:`edge.ocr.impression`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

# Chinese fonts a Debian host may have; those present serve as templates.
TEMPLATE_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)
# small sizes too: strokes of a 20 px glyph are thick for its size, as in a photo
TEMPLATE_SIZES = (20, 28, 64)
CELL = 32


def normalise(ink: np.ndarray) -> np.ndarray | None:
    """Binary ink (uint8, 255 = ink) cropped to its bounding box, centred in a CELL x CELL float cell of zero
    mean and unit norm (so a dot product is the correlation); None when there is no ink."""
    ys, xs = np.nonzero(ink)
    if len(xs) == 0:
        return None
    crop = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = crop.shape
    side = max(h, w)
    square = np.zeros((side, side), np.uint8)
    square[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = crop
    cell: np.ndarray = cv2.GaussianBlur(
        cv2.resize(square, (CELL, CELL), interpolation=cv2.INTER_AREA).astype(np.float32), (0, 0), 0.8
    )
    cell -= cell.mean()
    norm = float(np.linalg.norm(cell))
    return cell / norm if norm > 0 else None


@lru_cache(maxsize=len(TEMPLATE_FONTS) * len(TEMPLATE_SIZES))
def _font(path: Path, size: int) -> Any:
    """A template font, loaded once (not once per character rendered)."""
    from PIL import ImageFont

    return ImageFont.truetype(str(path), size)


# Bounded: the characters compared are the few of the capitals and of a village's name, and whatever the engine
# misreads a ring as, which is unbounded over an OCR worker's life (each character's cells are ~4 KB a font and size).
@lru_cache(maxsize=256)
def _rendered(ch: str) -> tuple[np.ndarray, ...]:
    """``ch``'s normalised cells, one per installed template font and size (none when no font draws it)."""
    from PIL import Image, ImageDraw

    cells = []
    for path in TEMPLATE_FONTS:
        if not path.exists():
            continue
        for size in TEMPLATE_SIZES:
            font = _font(path, size)
            img = Image.new("L", (size * 3 // 2, size * 3 // 2), 0)
            ImageDraw.Draw(img).text((size // 4, size // 8), ch, font=font, fill=255)
            cell = normalise((np.asarray(img) > 110).astype(np.uint8) * 255)
            if cell is not None:
                cells.append(cell)
    return tuple(cells)


def templates(chars: Iterable[str]) -> list[tuple[str, np.ndarray]]:
    """(character, normalised cell) for every character of ``chars`` in every installed template font."""
    return [(ch, cell) for ch in chars for cell in _rendered(ch)]


def likeness(cell: np.ndarray | None, ch: str) -> float:
    """How much the normalised ``cell`` looks like ``ch``: its best correlation with ``ch`` in any template
    font, from -1 to 1; 0 for no ink or no font."""
    if cell is None:
        return 0.0
    return max((float(np.vdot(cell, template)) for template in _rendered(ch)), default=0.0)
