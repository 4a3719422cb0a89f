"""Reading an amount written in capital numerals (大写) glyph by glyph.

Debian's Tesseract model for Chinese (``chi_sim``, from tessdata_fast) has no
叁, 柒, 捌 or 仟 in its character set at all and reads 壹 and 贰 poorly, so it can
never read most amounts in capitals. The vocabulary of such an amount is
closed (零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整, about twenty characters), so
after the OCR engine has found the line and where each character sits, every
character of the amount is matched against those twenty glyphs rendered in
the Chinese fonts installed on the host (:mod:`edge.ocr.glyphs`): normalised
correlation on a 32 x 32 cell. Engines that know these characters (RapidOCR)
are used as they are when their reading already parses.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

import cv2
import numpy as np

from edge.ocr.glyphs import CELL, normalise, templates
from edge.ocr.preprocess import text_band
from edge.ocr.types import OcrLine

CAPITALS = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整"
# The labels that introduce an amount in capitals, in order of preference. 人民币's 币 is read as 征 now
# and then (人民征壹万陆仟...): any character after 人民 stands for it, or the amount would begin with it.
LABELS = tuple(re.compile(label) for label in ("人民.", "大写金额", "大写", "金额"))


def classify(
    grey: np.ndarray, box: tuple[int, int, int, int], threshold: float | None = None
) -> tuple[str, float] | None:
    """The capital numeral most like the glyph in ``box`` of ``grey`` and its correlation.

    ``threshold`` separates ink from paper (one value for the whole line, so
    every character is cut the same way); Otsu on the cell when None.
    """
    x, y, w, h = box
    pad = max(2, h // 6)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    crop = grey[y0 : y + h + pad, x0 : x + w + pad]
    if crop.size == 0:
        return None
    if threshold is None:
        _, ink = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    else:
        ink = (crop < threshold).astype(np.uint8) * 255
    # keep only ink that belongs to this glyph: components overlapping the box's own columns
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = np.zeros_like(ink)
    bx0, bx1 = x - x0, x - x0 + w
    by0, by1 = y - y0, y - y0 + h
    kept = []
    for i in range(1, n):
        cx0, cy0, cw, ch_, area = stats[i]
        if area < 3:
            continue
        overlap_x = min(cx0 + cw, bx1) - max(cx0, bx0)
        overlap_y = min(cy0 + ch_, by1) - max(cy0, by0)
        # mostly inside the cell's columns and rows: strokes of the lines above and below stay out
        if overlap_x > 0.5 * min(cw, w) and overlap_y > 0.5 * ch_:
            kept.append(i)
    total = sum(int(stats[i][4]) for i in kept)
    for i in kept:
        cx0, _, cw, _, area = stats[i]
        centre = cx0 + cw / 2
        # a crumb at the side is the end of a neighbour's stroke, not part of this character
        if area < 0.06 * total and (centre < bx0 + 0.2 * w or centre > bx1 - 0.2 * w):
            continue
        keep[labels == i] = 255
    cell = normalise(keep)
    if cell is None:
        return None
    chars, matrix = _template_matrix()
    scores = matrix @ cell.ravel()
    i = int(np.argmax(scores))
    return chars[i], float(scores[i])


@lru_cache(maxsize=1)
def _template_matrix() -> tuple[str, np.ndarray]:
    tmpl = templates(CAPITALS)
    return "".join(ch for ch, _ in tmpl), np.stack([cell.ravel() for _, cell in tmpl]) if tmpl else np.zeros(
        (0, CELL * CELL)
    )


def segment_line(
    grey: np.ndarray, box: tuple[int, int, int, int], centre_y: float | None = None, char_h: float | None = None
) -> list[tuple[int, int, int, int]]:
    """Character cells of a printed CJK line, left to right, from its ink alone.

    Columns of ink separated by blank columns are joined while the join stays
    about one character wide (Chinese characters are square, so the ink height
    of the line is the pitch): 亻 and 千 become 仟, two neighbours stay two; a
    blot wider than a character (two touching) is cut at its thinnest columns.
    """
    x, y, w, h = box
    pad = max(2, h // 4)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    crop = grey[y0 : y + h + pad, x0 : x + w + pad]
    if crop.size == 0:
        return []
    _, ink = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if np.count_nonzero(ink) == 0 or np.count_nonzero(ink) > 0.6 * ink.size:
        return []
    band = text_band(ink, (centre_y - y0) if centre_y is not None else crop.shape[0] / 2)
    if band is None:
        return []
    top, bottom = band
    if char_h and bottom - top > 1.4 * char_h and centre_y is not None:
        # two lines run together: keep the rows of the one the engine read
        c = centre_y - y0
        top, bottom = max(top, int(c - 0.6 * char_h)), min(bottom, int(c + 0.6 * char_h) + 1)
        rows = np.nonzero(ink[top:bottom].sum(axis=1) > 0)[0]
        if len(rows) == 0:
            return []
        top, bottom = top + int(rows.min()), top + int(rows.max()) + 1
    ink = ink[top:bottom]
    pitch = bottom - top
    profile = ink.sum(axis=0)
    cols = profile > 0
    runs: list[list[int]] = []
    start = None
    for i, on in enumerate(list(cols) + [False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append([start, i])
            start = None
    # touching characters make one run wider than a character: cut it at its thinnest columns
    pieces: list[tuple[int, int]] = []
    for a, b in runs:
        n = round((b - a) / pitch)
        if n >= 2 and (b - a) > 1.4 * pitch:
            cuts = [a]
            for k in range(1, n):
                guess = a + (b - a) * k // n
                lo, hi = max(cuts[-1] + 1, guess - pitch // 4), min(b - 1, guess + pitch // 4)
                cuts.append(lo + int(np.argmin(profile[lo:hi])) if hi > lo else guess)
            cuts.append(b)
            pieces.extend(itertools.pairwise(cuts))
        else:
            pieces.append((a, b))
    return [(x0 + a, y0 + top, b - a, pitch) for a, b in pieces]


def cut_cells(
    grey: np.ndarray, pieces: list[tuple[int, int, int, int]]
) -> list[tuple[tuple[int, int, int, int], str, float]]:
    """Join the ink pieces of a line into characters, choosing the joins that read best as capitals.

    A dynamic programme over the pieces: a character is one or more
    neighbouring pieces no wider than 1.3 characters, worth its template
    score less 0.5, so two halves of one character (each a poor match) lose
    to the whole, and a label character (a poor match either way) costs little.
    """
    if not pieces:
        return []
    pitch = pieces[0][3]
    n = len(pieces)
    best = [0.0] + [-1e9] * n
    back = [0] * (n + 1)
    choice: list[tuple[str, float] | None] = [None] * (n + 1)
    cache: dict[tuple[int, int], tuple[str, float] | None] = {}
    for i in range(1, n + 1):
        for j in range(i - 1, -1, -1):
            x0 = pieces[j][0]
            x1 = pieces[i - 1][0] + pieces[i - 1][2]
            if x1 - x0 > 1.3 * pitch and j < i - 1:
                break
            box = (x0, pieces[j][1], x1 - x0, pitch)
            result = cache.setdefault((j, i), classify(grey, box))
            value = best[j] + ((result[1] if result else 0.0) - 0.5)
            if value > best[i]:
                best[i], back[i], choice[i] = value, j, result
    out: list[tuple[tuple[int, int, int, int], str, float]] = []
    i = n
    while i > 0:
        j = back[i]
        x0 = pieces[j][0]
        x1 = pieces[i - 1][0] + pieces[i - 1][2]
        result = choice[i]
        out.append(((x0, pieces[j][1], x1 - x0, pitch), result[0] if result else "", result[1] if result else 0.0))
        i = j
    out.reverse()
    return out


def label_end(text: str) -> int | None:
    """Index just after the label that introduces an amount in capitals (人民币, 大写金额：, 大写：)."""
    for label in LABELS:
        m = label.search(text)
        if m:
            end = m.end()
            while end < len(text) and text[end] in ":：;；,，.。 ":
                end += 1
            return end
    return None


def _parses(reading: str) -> bool:
    from edge.ocr.numerals import parse_capital

    try:
        parse_capital(reading)
    except ValueError:
        return False
    return True


def read_capitals(
    grey: np.ndarray, line: OcrLine, min_score: float = 0.6, clean: np.ndarray | None = None
) -> str | None:
    """The amount in capitals on ``line`` (a string of capital numerals), or None if it cannot be read.

    When the cells cut from the ink match the engine's characters one to one,
    the amount is every cell after the label; otherwise it is the longest run
    of cells that each look clearly like a capital numeral and parse together.

    ``clean`` is the same page with the faint ghost of the seal whitened away
    (what the OCR engine reads). Its strokes are thinner, and where the ring of
    a seal runs through the amount, the ghost spoils those cells in ``grey``
    (捌拾壹 matched as 叁 and 柒 at 0.3) but not in ``clean``; elsewhere ``grey``
    matches better. So when the two images cut into the same cells, each cell
    is read from the image where it matches best: on 300 photographed pages
    (seeds 1000-1099, 3000-3099, 5000-5099) that reads 299 amounts right, where
    reading ``grey`` and falling back to ``clean`` read 295.
    """
    if not _template_matrix()[0]:
        return None
    text = "".join(line.text.split())
    start = label_end(text)
    cells = _cells(grey, line)
    other = _cells(clean, line) if clean is not None else None
    best = _best_of(cells, other) if other is not None else None
    reading = _cell_for_cell(best or _scores(cells), text, start)
    if reading is None and other is not None and best is None:
        reading = _cell_for_cell(_scores(other), text, start)
    return reading or _longest_run(best or _scores(cells), min_score)


Cell = tuple[tuple[int, int, int, int], str, float]  # box, best capital ("" when no ink), its score


def _cells(grey: np.ndarray, line: OcrLine) -> list[Cell]:
    """The line's characters cut from the ink of ``grey``, left to right."""
    centre = char_h = None
    if line.glyphs:
        centre = sorted(g.box[1] + g.box[3] / 2 for g in line.glyphs)[len(line.glyphs) // 2]
        char_h = sorted(g.box[3] for g in line.glyphs)[len(line.glyphs) // 2]
    return cut_cells(grey, segment_line(grey, line.box, centre, char_h))


def _scores(cells: list[Cell]) -> list[tuple[str, float] | None]:
    """Each cell as its best capital and score (None: no ink)."""
    return [(ch, score) if ch else None for _, ch, score in cells]


def _best_of(cells: list[Cell], other: list[Cell]) -> list[tuple[str, float] | None] | None:
    """Cell by cell, the better match of two cuttings of one line; None unless they cut the same cells (as many,
    each centred within half a character of the other's)."""
    if len(cells) != len(other):
        return None
    best: list[tuple[str, float] | None] = []
    for (box, ch, score), (other_box, other_ch, other_score) in zip(cells, other):
        if abs(box[0] + box[2] / 2 - other_box[0] - other_box[2] / 2) > box[3] / 2:
            return None
        if ch and (score >= other_score or not other_ch):
            best.append((ch, score))
        else:
            best.append((other_ch, other_score) if other_ch else None)
    return best


def _cell_for_cell(results: list[tuple[str, float] | None], text: str, start: int | None) -> str | None:
    """The amount when the cells after the label match the engine's characters after it one to one."""
    if start is None or "(" in text[start:] or "（" in text[start:]:
        return None
    n = len(text) - start
    # the cells after the label, counted from the left and (when the engine
    # dropped or merged a character of the label) from the right
    for picked in (
        results[start:] if len(results) == len(text) else [],
        results[-n:] if 0 < n <= len(results) else [],
    ):
        if picked and all(r is not None and r[1] >= 0.4 for r in picked):
            reading = "".join(r[0] for r in picked if r is not None)
            if _parses(reading):
                return reading
    return None


def _longest_run(results: list[tuple[str, float] | None], min_score: float) -> str | None:
    """The longest run of cells that each look clearly like a capital numeral and parse together."""
    readings: list[str] = []
    run: list[str] = []
    for result in results + [None]:
        if result is not None and result[1] >= min_score:
            run.append(result[0])
            continue
        if run:
            readings.append("".join(run))
        run = []
    for reading in sorted(readings, key=len, reverse=True):
        # a label or stray mark can sit at either end; trim until it parses
        for trimmed in (reading, reading[1:], reading[:-1], reading[1:-1]):
            if trimmed and _parses(trimmed):
                return trimmed
    return None
