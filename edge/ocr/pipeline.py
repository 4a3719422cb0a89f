"""Reading a page and comparing a photographed page with its approved original.

    reading = read_image(load("photo.jpg"), area=(300, 900, 900, 900))
    reading.public()  # what `qinglian ocr extract --json` prints
    original = read_image(load("original.png"))
    compare(original, reading).to_dict()  # {"match": ..., "score": ..., "flags": [...]}

Everything here is plain functions over numpy arrays and dicts, so a process
pool can run it (the edge hands photo paths to workers and gets dicts back).
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge.ocr import preprocess
from edge.ocr.backends import DEFAULT_BACKEND, get_backend
from edge.ocr.capitals import label_end, read_capitals
from edge.ocr.fields import Fields, capitals_agree, clean_ocr_text, extract_fields, normalize_text
from edge.ocr.seal import Area, SealMark, find_seal
from edge.ocr.types import OcrLine

# Thresholds of the comparison, chosen on generated pages (benchmarks/bench_ocr.py
# reports how they do): genuine pages score 0.9+, a different document of the same
# kind (same template, other parties and clauses) about 0.6.
TEXT_MATCH = 0.8
TITLE_MATCH = 0.8
BLANK_CHARS = 12  # fewer readable characters than this: nothing is printed on the page
BLANK_SHARE = 0.15  # or fewer than this share of the original's characters
# or less print than this share of the sheet: what decides when the ghost of the seal on an empty
# sheet is read as a few dozen made-up characters. Measured on photos of generated pages (seeds
# 1000-1079): printed pages 0.0026 and up (light and blur vary it tenfold), empty sheets 0.
BLANK_INK = 0.0005
FLAGS = ("blank", "title", "amount", "text", "seal_outside", "seal_missing")


@dataclass
class Reading:
    text: str
    fields: Fields
    seal: SealMark
    backend: str = DEFAULT_BACKEND
    ink: float = 0.0  # share of the sheet that is print
    seconds: float = 0.0
    lines: list[OcrLine] = field(default_factory=list, repr=False)

    def public(self) -> dict[str, Any]:
        return {"text": self.text, "fields": self.fields.public(), "seal": self.seal.to_dict()}

    def to_dict(self) -> dict[str, Any]:
        """Everything worth keeping (the ledger's OCR entry is built from this); no floats but ``seconds``."""
        return {
            "text": self.text,
            "fields": self.fields.to_dict(),
            "seal": self.seal.to_dict(),
            "backend": self.backend,
            "ink_ppm": int(self.ink * 1_000_000),
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reading:
        seal = data.get("seal") or {}
        center = seal.get("center")
        return cls(
            text=str(data.get("text", "")),
            fields=Fields(**(data.get("fields") or {})),
            seal=SealMark(
                bool(seal.get("found")), tuple(center) if center else None, seal.get("radius"), seal.get("inside_area")
            ),
            backend=str(data.get("backend", DEFAULT_BACKEND)),
            ink=int(data.get("ink_ppm", 0)) / 1_000_000,
            seconds=float(data.get("seconds", 0.0)),
        )


def _amount_line(lines: list[OcrLine]) -> OcrLine | None:
    for line in lines:
        if "大写" in line.text or "写金" in line.text:
            return line
    for line in lines:
        if "人民币" in line.text and not any(ch.isdigit() for ch in line.text):
            return line
    return None


def _put_capitals(line: OcrLine, capitals: str) -> None:
    """Write the glyph reader's capitals into the line's text, where the engine misspelt them."""
    text = "".join(line.text.split())
    start = label_end(text)
    if start is None:
        return
    end = len(text)
    for i in range(start, len(text)):
        if text[i] in "(（":
            end = i
            break
    if end - start == len(capitals):  # one for one: the same characters, read better
        line.text = text[:start] + capitals + text[end:]


def read_image(image: np.ndarray, backend: str = DEFAULT_BACKEND, area: Area | None = None) -> Reading:
    """OCR one page image (a desk-camera frame, a scan or a rendered page) and locate its seal."""
    started = time.perf_counter()
    prepared = preprocess.prepare(image)
    engine = get_backend(backend)
    lines = engine.read(prepared.grey)
    capitals = None
    line = _amount_line(lines)
    if line is not None:
        capitals = read_capitals(prepared.glyphs, line, clean=prepared.grey)
        if capitals:
            _put_capitals(line, capitals)
    text = clean_ocr_text("\n".join(line.text for line in lines))
    fields = extract_fields(text, capitals)
    seal = find_seal(image, area)
    return Reading(
        text=text,
        fields=fields,
        seal=seal,
        backend=backend,
        ink=preprocess.ink_fraction(prepared.grey),
        seconds=round(time.perf_counter() - started, 3),
        lines=lines,
    )


def read_file(
    path: str, backend: str = DEFAULT_BACKEND, area: Area | None = None, max_pixels: int = preprocess.MAX_PAGE_PIXELS
) -> Reading:
    return read_image(preprocess.load(path, max_pixels), backend, area)


def read_document(path: str, backend: str = DEFAULT_BACKEND, max_pixels: int = preprocess.MAX_PAGE_PIXELS) -> list[Reading]:
    """Every page of an original (a scan, a photo or a PDF rendered by pdfium), read."""
    return [read_image(page, backend) for page in preprocess.load_pages(path, max_pixels)]


def best_match(originals: list[Reading], photo: Reading) -> Comparison:
    """The stamped page against the page of the original it shows: the matching one, else the closest."""
    checks = [compare(original, photo) for original in originals]
    return max(checks, key=lambda c: (c.match, c.score))


# -- comparing ------------------------------------------------------------------------


@dataclass
class Comparison:
    match: bool
    score: float
    flags: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {"match": self.match, "score": self.score, "flags": self.flags}

    def to_dict(self) -> dict[str, Any]:
        return {**self.public(), "details": self.details}


def similarity(a: str, b: str) -> float:
    """0..1: how much of two texts is the same, after normalising width, spaces and punctuation."""
    na, nb = normalize_text(a), normalize_text(b)
    if not na and not nb:
        return 1.0
    return difflib.SequenceMatcher(None, na, nb, autojunk=False).ratio()


def compare(original: Reading, photo: Reading, expect_seal: bool = True) -> Comparison:
    """Does the photographed page show the approved original? Flags name what differs.

    ``blank``: (almost) nothing printed on the stamped page. ``title`` / ``amount``
    / ``text``: the title, the amount, or the text as a whole differ from the
    original. ``seal_outside``: the impression is outside the monitored area.
    ``seal_missing``: no impression could be found on a page that was stamped.
    """
    flags: list[str] = []
    orig_chars = len(normalize_text(original.text))
    photo_chars = len(normalize_text(photo.text))
    score = round(similarity(original.text, photo.text), 3)
    details: dict[str, Any] = {"text_similarity": score, "original_chars": orig_chars, "photo_chars": photo_chars}
    if (
        photo_chars < BLANK_CHARS
        or (orig_chars and photo_chars < BLANK_SHARE * orig_chars)
        or photo.ink < BLANK_INK
    ):
        flags.append("blank")  # nothing to compare: title, amount and text are moot
    else:
        of, pf = original.fields, photo.fields
        if of.title:
            title_score = similarity(of.title, pf.title or "")
            details["title_similarity"] = round(title_score, 3)
            if title_score < TITLE_MATCH:
                flags.append("title")
        if of.amount_fen is not None:
            details["amount_fen"] = {"original": of.amount_fen, "photo": pf.amount_fen}
            if pf.amount_figures_fen is not None:
                amount_ok = pf.amount_figures_fen == of.amount_fen
            elif pf.amount_capitals_text:
                amount_ok = capitals_agree(of.amount_fen, pf.amount_capitals_text)
            else:
                amount_ok = False  # the amount cannot be found on the stamped page
            if not amount_ok:
                flags.append("amount")
        if score < TEXT_MATCH:
            flags.append("text")
    if photo.seal.found:
        if photo.seal.inside_area is False:
            flags.append("seal_outside")
    elif expect_seal:
        flags.append("seal_missing")
    return Comparison(match=not flags, score=score, flags=flags, details=details)
