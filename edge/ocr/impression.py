"""Reading a seal impression: the organisation's name on its ring and the seal's kind under the star.

A round Chinese seal carries the organisation's name along its upper arc, each character upright towards the
centre, and its kind (合同专用章, 财务专用章...) in a straight line below the star. The impression is found by
:func:`edge.ocr.seal.find_seal`; here its red ink (red minus the brighter of green and blue: paper and black
print are both near 0) is

* unwrapped with ``cv2.warpPolar`` around the fitted circle into a strip, outer edge at the top, the arc's
  characters upright and left to right; the strip starts in the middle of the widest gap of the ring's band,
  so a seal pressed at any rotation reads from its first character;
* cut to the straight line under the star for the kind.

Both are read by the configured OCR engine (``chi_sim``), in grey and in black and white at a few character
heights: a character the black print of the page crosses reads differently at each, and together the readings
spell a name none of them read whole (a different village's name does not turn into this village's at any).
Where no reading shows a character of the village's name in its place, its glyph is cut from the strip and
compared by shape with the name's character and with those read there (:mod:`edge.ocr.glyphs`): Tesseract
reads some glyphs wrongly at every size (青莲村's 莲 as 鞍 or 划), as it reads another village's character alike
at every size, and scatters its readings of a neighbouring village's character as it does a faint one's.
:func:`check_impression` compares them with the device's seal. On hostsim's desk-camera JPEGs
(``benchmarks/bench_impression.py``: 64 random pages of four villages and kinds, and 48 of the demo's page) the
device's own seal was never taken for another; 25 of 64 and 13 of 48 could not be told (``seal_unreadable``, no
flag). Another village's seal was caught in 33 of 64, a neighbouring village's (one character off) in 32 and
taken for the device's own in 2, another kind caught in 27; the rest unreadable. The demo's page is printed
across most of the seal: there another village's was caught in 6 of 48, a neighbour's in 5 (taken for the
device's own in 1), another kind in 4. Photos of two and three impressions pressed over each other (the demo's
second and third) are almost all unreadable, and no longer another seal's: none in 500 demos (11 in 266 before
the glyph had to show the character and three readings to agree on it).
"""

from __future__ import annotations

import collections
import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from edge.ocr.glyphs import likeness, normalise
from edge.ocr.seal import SealMark
from edge.ocr.types import OcrBackend

# The ring's characters lie between these fractions of the impression's radius (from the centre): the kind's
# line below the star reaches 0.7 R at its corners, the rim starts at about 0.93 R.
RING_BAND = (0.62, 0.93)
# The kind's line, relative to the centre in radii: below the star (which ends at 0.3 R), above the ring's text.
LABEL_BOX = (-0.6, 0.34, 0.6, 0.68)  # x0, y0, x1, y1
UPRIGHT_DEGREES = 12  # an impression turned less than this is read as it lies
PRINT_DARK = 110  # red channel below this (and not red): the page's black print, not paper or seal ink
READ_HEIGHTS = (32, 24, 40)  # character heights (px) each part is read at, until the expected text is found
PAD = 20  # white border: Tesseract finds no line in ink that touches the image's edge
GROUP_GAP = 1.5  # ink runs further apart than this many strip heights belong to different words


@dataclass(frozen=True)
class GlyphCheck:
    """A character of the village's name no reading of the ring shows in its place: its place in the name
    (``at``), the glyph cut there from the ring compared by shape (:func:`edge.ocr.glyphs.likeness`, in
    thousandths: the ledger takes no floats) with the name's character (``like_expected``) and with each
    character the readings show there instead (``like_read``, most alike first)."""

    at: int
    expected: str
    like_expected: int
    like_read: tuple[tuple[str, int], ...]

    def confirms(self, read: str) -> bool:
        """The glyph looks like ``read`` (:data:`LOOKS_LIKE` or more) and more than like the name's character:
        what the readings agree on is the seal's, not the engine's misreading (莲 read as 鞍 at every size looked
        like 鞍 at 0.10, like 莲 at 0.54) nor a reading of ink pressed over ink."""
        like = dict(self.like_read).get(read)
        return like is not None and like >= LOOKS_LIKE and like > self.like_expected

    @property
    def unlike(self) -> bool:
        """The glyph is plainly another character: little like the name's, much more like one read there."""
        best = self.like_read[0][1] if self.like_read else -1000
        return self.like_expected < UNLIKE_FLOOR and best >= self.like_expected + UNLIKE_MARGIN

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at, "expected": self.expected, "like_expected": self.like_expected,
            "like_read": [list(pair) for pair in self.like_read],
        }  # fmt: skip


@dataclass(frozen=True)
class Impression:
    """What the impression says: ``ring`` and ``label`` as read at each height (empty: nothing read), and the
    ``glyphs`` of the village's name no reading shows in place, compared by shape."""

    ring: tuple[str, ...]
    label: tuple[str, ...]
    glyphs: tuple[GlyphCheck, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"ring": list(self.ring), "label": list(self.label), "glyphs": [g.to_dict() for g in self.glyphs]}


def red_ink(image: np.ndarray) -> np.ndarray:
    """How red each pixel is (uint8): high on seal ink, near 0 on paper and a brown desk.

    Where the page's black print runs under the seal the ink cannot be seen (red over black is black): those
    pixels are filled in from around them (``cv2.inpaint``), so a character the print crosses keeps its strokes.
    """
    b, g, r = cv2.split(image.astype(np.int16))
    red = np.clip(r - np.maximum(g, b), 0, 255).astype(np.uint8)
    dark = ((r < PRINT_DARK) & (red < PRINT_DARK // 2)).astype(np.uint8) * 255
    return cv2.inpaint(red, cv2.dilate(dark, np.ones((3, 3), np.uint8)), 3, cv2.INPAINT_TELEA)


def ring_strip(red: np.ndarray, mark: SealMark) -> tuple[np.ndarray, float]:
    """The ring's band unwrapped (rows from the rim inwards, columns clockwise from the band's widest gap), and
    the direction of that gap from the centre (radians, clockwise from 3 o'clock): where the seal's bottom is."""
    assert mark.center is not None and mark.radius is not None
    radius = mark.radius
    # one column per pixel of arc where the characters' middles run, so they keep their shape
    columns = max(64, round(2 * math.pi * radius * sum(RING_BAND) / 2))
    polar = cv2.warpPolar(
        red, (radius, columns), (float(mark.center[0]), float(mark.center[1])), radius,
        cv2.WARP_POLAR_LINEAR + cv2.INTER_LINEAR,
    )  # fmt: skip
    band = polar[:, round(RING_BAND[0] * radius) : round(RING_BAND[1] * radius)]
    strip = np.ascontiguousarray(band.T[::-1])  # polar rows run clockwise from 3 o'clock
    # a column holds print when a tenth of it is ink: specks (a corner of the kind's line, a dot of the page's
    # print that the filling-in left) do not split the gap
    ink = _ink(strip).sum(axis=0) > strip.shape[0] / 10
    if not ink.any():
        return strip, math.pi / 2
    start = _widest_gap_middle(ink)
    return np.roll(strip, -start, axis=1), 2 * math.pi * start / columns


def _ink(grey: np.ndarray) -> np.ndarray:
    """Ink pixels (bool) of a red-ink image: Otsu's threshold, kept above a floor so bare paper stays bare."""
    level, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return grey > max(level, 40)


def _widest_gap_middle(ink: np.ndarray) -> int:
    """The middle of the longest run of columns without ink, going round the circle."""
    n = len(ink)
    best_len, best_start, run, start = 0, 0, 0, 0
    for i, has_ink in enumerate(np.concatenate([ink, ink])):
        if has_ink:
            run = 0
            continue
        if run == 0:
            start = i
        run += 1
        if best_len < run <= n:
            best_len, best_start = run, start
    return (best_start + best_len // 2) % n


def label_crop(red: np.ndarray, mark: SealMark, bottom: float = math.pi / 2) -> np.ndarray:
    """The straight line under the star (the seal's kind), red ink as bright, turned upright: ``bottom`` is the
    direction of the seal's bottom from its centre (as :func:`ring_strip` finds it)."""
    assert mark.center is not None and mark.radius is not None
    (cx, cy), r = mark.center, mark.radius
    # turn the impression about its centre until its bottom points down (OpenCV turns anticlockwise); the gap's
    # middle wanders a few degrees with the ink, so a seal pressed about upright is read as it lies
    degrees = (math.degrees(bottom - math.pi / 2) + 180) % 360 - 180
    upright = red
    if abs(degrees) > UPRIGHT_DEGREES:
        turn = cv2.getRotationMatrix2D((float(cx), float(cy)), degrees, 1.0)
        upright = cv2.warpAffine(red, turn, (red.shape[1], red.shape[0]), flags=cv2.INTER_LINEAR)
    x0, y0, x1, y1 = LABEL_BOX
    h, w = red.shape[:2]
    top, low = max(0, cy + round(y0 * r)), min(h, cy + round(y1 * r))
    left, right = max(0, cx + round(x0 * r)), min(w, cx + round(x1 * r))
    return upright[top:low, left:right]


def for_reading(red: np.ndarray, height: int, binary: bool = False) -> np.ndarray | None:
    """Dark characters on white, cut to the widest run of ink (stray ink further off is another word), the
    ink ``height`` px tall, in grey or (``binary``) black and white; None when there is no ink."""
    ink = _ink(red)
    word = _widest_word(np.any(ink, axis=0), red.shape[0])
    if word is None:
        return None
    left, right = word
    rows = np.flatnonzero(ink[:, left : right + 1].any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    piece = red[top:bottom, left : right + 1]
    crop = cv2.normalize(piece, np.empty_like(piece), 0, 255, cv2.NORM_MINMAX)
    scale = height / max(1, bottom - top)
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    if binary:
        _, crop = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return cv2.copyMakeBorder(255 - crop, PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=255)


def _widest_word(has_ink: np.ndarray, height: int) -> tuple[int, int] | None:
    """The first and last column of the widest word: columns with ink grouped into words, a gap wider than
    :data:`GROUP_GAP` times the strip's ``height`` ending one; None when no column has ink."""
    columns = np.flatnonzero(has_ink)
    if columns.size == 0:
        return None
    gap = GROUP_GAP * height
    groups: list[tuple[int, int]] = []
    for col in columns:
        if groups and col - groups[-1][1] <= gap:
            groups[-1] = (groups[-1][0], int(col))
        else:
            groups.append((int(col), int(col)))
    return max(groups, key=lambda g: g[1] - g[0])


def ring_cells(strip: np.ndarray, count: int) -> list[np.ndarray]:
    """The ring's text (the widest word of :func:`ring_strip`'s strip) cut into ``count`` equal cells, each
    its ink (uint8, 255 = ink) from the text's top to its bottom: a seal's characters stand evenly along the arc.

    A column belongs to the text when a tenth of it is ink, so specks of the rim beside the text do not
    stretch it (the reading keeps them: they do not change what the engine reads)."""
    ink = _ink(strip)
    word = _widest_word(ink.sum(axis=0) > strip.shape[0] / 10, strip.shape[0])
    if word is None or count < 1:
        return []
    left, right = word
    rows = np.flatnonzero(ink[:, left : right + 1].any(axis=1))
    text = ink[rows[0] : rows[-1] + 1].astype(np.uint8) * 255
    pitch = (right + 1 - left) / count
    return [text[:, round(left + i * pitch) : round(left + (i + 1) * pitch)] for i in range(count)]


def _read(engine: OcrBackend, red: np.ndarray, height: int, binary: bool) -> str:
    prepared = for_reading(red, height, binary)
    if prepared is None:
        return ""
    return "".join("".join(line.text.split()) for line in engine.read(prepared))


@dataclass(frozen=True)
class ExpectedSeal:
    """The seal a device holds: its village's name (on the ring), its kind's name (under the star), and the
    names of every kind a reading of the kind line is told among."""

    village: str
    kind: str
    kinds: tuple[str, ...]


def read_impression(image: np.ndarray, mark: SealMark, engine: OcrBackend, expect: ExpectedSeal | None = None) -> Impression:
    """Read the ring and the kind of the impression ``mark`` found on ``image`` (BGR).

    Each part is read in grey and in black and white at each of :data:`READ_HEIGHTS`. ``expect``: stop
    reading a part once what is expected is found; without it every reading is made.
    """
    # only the impression and a margin: filling in the print under the seal costs time per pixel
    assert mark.center is not None and mark.radius is not None
    (cx, cy), reach = mark.center, round(mark.radius * 1.1)
    left, top = max(0, cx - reach), max(0, cy - reach)
    red = red_ink(image[top : cy + reach, left : cx + reach])
    local = SealMark(True, (cx - left, cy - top), mark.radius)
    ring_image, bottom = ring_strip(red, local)
    label_image = label_crop(red, local, bottom)
    ring: list[str] = []
    label: list[str] = []
    for height in READ_HEIGHTS:
        for binary in (False, True):
            if not (expect and village_reading(ring, expect.village)[0] == len(expect.village)):
                ring.append(_read(engine, ring_image, height, binary))
            if not (expect and expect.kind in (nearest_kind(t, expect.kinds) for t in label)):
                label.append(_read(engine, label_image, height, binary))
    glyphs = _glyph_checks(ring_image, ring, expect.village) if expect else ()
    return Impression(tuple(ring), tuple(label), glyphs)


def _glyph_checks(strip: np.ndarray, ring: Sequence[str], village: str) -> tuple[GlyphCheck, ...]:
    """Each character of ``village`` no ``ring`` reading shows in its place, its glyph cut from the ``strip``
    (the ring's text in as many cells as most readings have characters; the name stands first) and compared
    by shape with the name's character and with each character read in its place."""
    found, seen = _name_windows(ring, village)
    lengths = collections.Counter(len(text) for text in map(_hanzi, ring) if len(text) >= len(village))
    unfound = [at for at in range(len(village)) if at not in found and seen[at]]
    if not unfound or not lengths:
        return ()
    cells = ring_cells(strip, lengths.most_common(1)[0][0])
    checks = []
    for at in unfound:
        cell = normalise(cells[at]) if at < len(cells) else None
        likes = ((ch, round(1000 * likeness(cell, ch))) for ch in set(seen[at]))
        like_read = sorted(likes, key=lambda pair: (-pair[1], pair[0]))
        checks.append(GlyphCheck(at, village[at], round(1000 * likeness(cell, village[at])), tuple(like_read)))
    return tuple(checks)


# -- comparing with the configured seal (pure) ------------------------------------------------------

# Characters of the village's name that may go unread: the ring's first character, where the page's print
# crosses the impression, is misread at every size in about one genuine impression in six (hostsim's
# photos). Such misreadings scatter; a neighbouring village's character (山 for 莲) is read alike.
NAME_SLACK = 1
# A glyph cut from the ring is compared in thousandths of correlation (:class:`GlyphCheck`). It is plainly
# another character than the name's when it looks like the name's below UNLIKE_FLOOR and like a character read
# in its place UNLIKE_MARGIN more. On the bench's photos (``benchmarks/bench_impression.py``, demo and random
# pages), where the vote took a neighbouring village's seal for the device's own, its character looked like
# the name's at 0.27 at most, and 0.22 or more like its own; of the device's own characters left unread, one (a
# faint 青 under the page's print, 0.15 against 机's 0.37) came out plainly another, which makes that photo
# seal_unreadable: the margin trades it for the neighbours.
UNLIKE_FLOOR = 300
UNLIKE_MARGIN = 150
# Another village's character is read alike by most readings, AGREE_MIN at least, and its glyph looks like
# it: LOOKS_LIKE or more (thousandths). On the demo's page another village's agreed characters looked like what
# was read at 0.25 or more in 75 of 76 catches, agreed on by three readings or more in all 76. Impressions
# pressed over each other (the demo's second and third photos) leave a reading or two of nobody's characters:
# one "agreed" with itself on a 素 that looked like one at 0.27, two on a 而 at 0.31.
AGREE_MIN = 3
LOOKS_LIKE = 250
KIND_MATCH = 0.5  # a reading this close to a kind's name (and closer than to any other) names that kind
# Characters of another kind's name a reading must hold to name that kind. One is no evidence: the 人 of 法人章
# is read out of the strokes of impressions pressed over each other (the demo's three presses on one page).
OTHER_KIND_CHARS = 2


def nearest_kind(text: str, kinds: Sequence[str]) -> str | None:
    """The name in ``kinds`` that ``text`` is closest to, if it is close enough to tell (ties tell nothing)."""
    if not text or not kinds:
        return None
    scores = sorted(((difflib.SequenceMatcher(None, text, k).ratio(), k) for k in kinds), reverse=True)
    best, kind = scores[0]
    return kind if best >= KIND_MATCH and (len(scores) == 1 or best > scores[1][0]) else None


@dataclass(frozen=True)
class SealCheck:
    """The impression against the device's seal: ``flag`` None (it is that seal), ``wrong_seal`` (it reads as
    another) or ``seal_unreadable`` (neither); ``village`` and ``kind`` each ``match``, ``other`` or ``unread``;
    ``read_kind`` what the kind line was taken for."""

    flag: str | None
    village: str
    kind: str
    read_kind: str | None
    expected_kind: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "flag": self.flag, "village": self.village, "kind": self.kind,
            "read_kind": self.read_kind, "expected_kind": self.expected_kind,
        }  # fmt: skip


_NOT_HANZI = re.compile("[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def _hanzi(text: str) -> str:
    """The Chinese characters of a reading of the ring: an organisation's name is nothing else, and the engine
    reads specks of ink and the edges of impressions pressed beside as quotes, brackets and Latin letters
    (a ” before every reading put a character in front of the name)."""
    return _NOT_HANZI.sub("", text)


def _name_windows(readings: Sequence[str], village: str) -> tuple[set[int], list[list[str]]]:
    """Which characters of the village's name some reading shows in their place, and what each reading
    long enough to hold the name shows at each place (its best-matching window), of its Chinese characters."""
    n = len(village)
    found: set[int] = set()
    seen: list[list[str]] = [[] for _ in village]
    for text in map(_hanzi, readings):
        if len(text) < n:
            continue
        windows = [text[i : i + n] for i in range(len(text) - n + 1)]
        best = max(windows, key=lambda w: sum(a == b for a, b in zip(w, village)))
        for j, ch in enumerate(best):
            seen[j].append(ch)
            if ch == village[j]:
                found.add(j)
    return found, seen


def village_reading(readings: Sequence[str], village: str) -> tuple[int, dict[int, str]]:
    """Of the village name's characters: how many some reading of the ring shows in their place, and, for
    each the readings never show, the one other character most of them (and :data:`AGREE_MIN` at least) show
    in its place (by position), unless it is one of the name's own.

    In each reading the name's best-matching window counts. Readings at other sizes misread other characters
    (the page's print crosses the seal, a stroke is faint), so together they spell a name none of them read
    whole, and a misread character differs from reading to reading; another village's character is read
    the same at most sizes. A reading shorter than the name is not counted at all: one or two characters are
    strokes of impressions pressed over each other (和, 了), and would otherwise outvote the real readings.
    """
    found, seen = _name_windows(readings, village)
    read = len(seen[0]) if seen else 0  # the readings long enough to hold the name: one character each
    others: dict[int, str] = {}
    for j, chars in enumerate(seen):
        if j in found or not chars:
            continue
        ch, votes = collections.Counter(chars).most_common(1)[0]
        # the name's own character out of its place is a reading out of line (the 村 of an impression pressed
        # beside this one), not another name
        if votes * 2 > read and votes >= AGREE_MIN and ch not in village:
            others[j] = ch
    return len(found), others


def shared_chars(text: str, name: str) -> int:
    """How many characters of ``name`` ``text`` holds, in order."""
    return sum(block.size for block in difflib.SequenceMatcher(None, text, name).get_matching_blocks())


def check_impression(impression: Impression, expect: ExpectedSeal) -> SealCheck:
    """Is this the impression of the seal ``expect`` describes?

    The village's name (:func:`village_reading`) matches when every character is read in its place, or all
    but :data:`NAME_SLACK` and that one's glyph is not plainly another character (:attr:`GlyphCheck.unlike`: a
    neighbouring village's name is one character off). It is another village's when most readings agree on
    another character in place of one of it while the rest of it is read in place (山 for 莲 in 青?村: a
    misreading scatters, another seal's character does not) and the glyph, cut from the ring, looks like that
    character (:meth:`GlyphCheck.confirms`): the engine misreads some glyphs the same at every size (莲 as 鞍 or
    划), and the few readings of impressions pressed over each other agree on characters of nothing, neither of
    which the vote can tell from another seal. The kind line is taken for the kind it is closest to
    (:data:`KIND_MATCH`): the device's matches, any other is another seal's when the reading holds
    :data:`OTHER_KIND_CHARS` of its name.
    Another village or another kind is ``wrong_seal``, an anomaly. A name or kind read as neither (the print
    under the seal, a faint press) is ``seal_unreadable``: the check could not tell, which approvers see.
    """
    found, agreed = village_reading(impression.ring, expect.village)
    # comparisons made for this name only (an impression is checked against the seal it was read for)
    glyphs = {g.at: g for g in impression.glyphs if g.expected == expect.village[g.at : g.at + 1]}
    if found and any(at in glyphs and glyphs[at].confirms(ch) for at, ch in agreed.items()):
        # another name only where the rest of it was read in its place, and the glyph shows the character
        # agreed on: readings of impressions pressed over each other agree on a character of nothing at times
        village = "other"
    elif found >= len(expect.village) - NAME_SLACK and not any(g.unlike for g in glyphs.values()):
        # the character let go unread must not plainly be another: a neighbouring village's name differs
        # from this one in one character, which the readings scatter over as they do over a misreading
        village = "match"
    else:
        village = "unread"
    kinds = [(t, nearest_kind(t, expect.kinds)) for t in impression.label]
    others = [k for t, k in kinds if k not in (None, expect.kind) and shared_chars(t, k) >= OTHER_KIND_CHARS]
    read_kind = expect.kind if expect.kind in (k for _, k in kinds) else (others[0] if others else None)
    kind = "unread" if read_kind is None else "match" if read_kind == expect.kind else "other"
    if "other" in (village, kind):
        flag: str | None = "wrong_seal"
    elif village == kind == "match":
        flag = None
    else:
        flag = "seal_unreadable"
    return SealCheck(flag, village, kind, read_kind, expect.kind)
