"""Real Tesseract on generated pages: fields read right, the frauds caught, a genuine page passes;
and RapidOCR, the second engine, reading one page (or saying how to install it).

Each case OCRs one photographed page (about a second); originals are read once per module.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import pytest

from edge.ocr import backends
from edge.ocr.backends import RapidOcrBackend, get_backend
from edge.ocr.desk import A5_PX, PAGE_SCALE, seal_zone
from edge.ocr.pipeline import Reading, compare, read_image
from edge.ocr.preprocess import TARGET_WIDTH, decode, prepare
from edge.ocr.seal import find_seal
from edge.ocr.tessapi import TessApi
from edge.ocr.tesseract import PSM_BLOCK, is_heading, parse_tsv, vote
from edge.ocr.types import Glyph, OcrLine, OcrUnavailable
from hostsim import pages
from qinglian.cli import main as qinglian

AREA = seal_zone()
SANS = pages.random_spec(1, chinese_date=True)  # 黑体, date in Chinese numerals
SERIF = pages.random_spec(6, chinese_date=False)  # 宋体, Arabic date, amount in the millions


@pytest.fixture(scope="module")
def originals() -> dict[str, Reading]:
    return {name: read_image(pages.render_page(spec).image) for name, spec in (("sans", SANS), ("serif", SERIF))}


def photo(spec: pages.PageSpec, seed: int, seal_at: tuple[int, int] | None = None) -> Reading:
    jpeg, _, _ = pages.photographed_page(spec, seed=seed, seal_at=seal_at)
    return read_image(decode(jpeg), area=AREA)


@pytest.mark.parametrize(("name", "spec", "seed"), [("sans", SANS, 11), ("serif", SERIF, 13)])
def test_genuine_stamped_page_reads_right_and_matches(
    originals: dict[str, Reading], name: str, spec: pages.PageSpec, seed: int
) -> None:
    reading = photo(spec, seed)
    f = reading.fields
    assert f.title == spec.title
    assert f.party_b == spec.party_b
    assert f.amount_figures_fen == spec.amount_fen
    assert f.amount_capitals_fen == spec.amount_fen  # read glyph by glyph: chi_sim lacks 叁柒捌仟
    assert f.amounts_agree is True
    assert f.date == spec.date.isoformat()
    assert reading.seal.found and reading.seal.inside_area is True
    result = compare(originals[name], reading)
    assert result.flags == [] and result.match and result.score > 0.9


def test_a_different_document_is_caught(originals: dict[str, Reading]) -> None:
    result = compare(originals["sans"], photo(pages.random_spec(101), 13))
    assert not result.match
    assert {"text", "title"} <= set(result.flags)


def test_a_changed_amount_is_caught(originals: dict[str, Reading]) -> None:
    forged = replace(SERIF, amount_fen=SERIF.amount_fen + 1_000_000)
    result = compare(originals["serif"], photo(forged, 14))
    assert result.flags == ["amount"]
    assert result.score > 0.9  # the rest of the text is the same


def test_a_blank_page_is_caught(originals: dict[str, Reading]) -> None:
    empty = photo(replace(SANS, blank=True), 15)
    assert compare(originals["sans"], empty).flags == ["blank"]
    # however many characters the engine makes up from the ghost of the seal: there is no print
    assert empty.ink == 0.0
    ghost = replace(empty, text="\n".join(["甲方乙方合同金额人民币"] * 6))
    assert compare(originals["sans"], ghost).flags == ["blank"]


def test_a_stamp_outside_the_monitored_area_is_caught(originals: dict[str, Reading]) -> None:
    rendered = pages.render_page(SANS)
    on_title = (A5_PX[0] // 2, 300)
    reading = photo(SANS, 16, seal_at=on_title)
    assert reading.seal.found and reading.seal.inside_area is False
    assert compare(originals["sans"], reading).flags == ["seal_outside"]
    assert rendered.seal_anchor != on_title


@pytest.mark.parametrize(("font", "seed"), [("sans", 1034), ("serif", 1038)])
def test_a_title_in_large_print_reads_right(font: str, seed: int) -> None:
    # read with the rest of the page, 厂 of this title came out as 三 on these two photos
    spec = pages.random_spec(seed, title="集体厂房租赁合同", font=font)
    reading = photo(spec, seed)
    assert reading.fields.title == spec.title
    title = reading.lines[0]
    assert title.text == spec.title and len(title.glyphs) == len(spec.title)
    x, y, w, h = title.box  # the second reading's boxes are mapped back onto the page
    assert 0.4 * TARGET_WIDTH < x + w / 2 < 0.6 * TARGET_WIDTH and 60 < y < 160 and h < 60  # centred, on top


def test_headings_are_larger_type_not_lines_run_together() -> None:
    def line(chars: int, width: int) -> OcrLine:
        return OcrLine("字" * chars, (80, 100, width, 50), [Glyph("字", (0, 0, 1, 1))] * chars)

    body = 20
    assert is_heading(line(8, 271), 32, body)  # a title in type half as large again
    assert not is_heading(line(30, 680), 21, body)  # body text
    assert not is_heading(line(30, 676), 53, body)  # two lines a seal's ring joined: tall, not wide


def test_the_readings_of_a_field_line_vote_character_by_character() -> None:
    def reading(text: str, x: int = 0) -> list[Glyph]:
        return [Glyph(ch, (x + 20 * i, 100, 20, 20)) for i, ch in enumerate(text)]

    def text(glyphs: list[Glyph]) -> str:
        return "".join(g.text for g in glyphs)

    page = reading("淳安县干岛湖镇枫岭村")
    # each character goes to the majority, wherever the mistakes fall
    assert text(vote([page, reading("淳安县千岛湖镇枫岭村"), reading("淳安县千岛湖镇栅岭村")])) == "淳安县千岛湖镇枫岭村"
    # all three differ: the page pass, listed first, keeps its character, and its boxes stay
    voted = vote([page, reading("淳安县千岛湖镇枫岭村", x=3), reading("淳安县子岛湖镇枫岭村", x=3)])
    assert text(voted) == "淳安县干岛湖镇枫岭村" and [g.box for g in voted] == [g.box for g in page]
    # a reading that added a character (和) votes not at all: it would shift every one after it
    assert text(vote([page, reading("淳安县千和岛湖镇枫岭村"), reading("淳安县千岛湖镇枫岭村")])) == "淳安县干岛湖镇枫岭村"
    assert text(vote([reading("余杭区和良渚街道"), reading("余杭区良渚街道"), reading("余杭区良渚街道")])) == "余杭区良渚街道"
    assert text(vote([page, [], []])) == text(page)  # readings that saw nothing have no say


def test_libtesseract_reads_as_the_tesseract_command(tmp_path: Path) -> None:
    grey = prepare(pages.render_page(pages.random_spec(2)).image).grey[40:330]  # title, number, parties
    image = tmp_path / "top.png"
    cv2.imwrite(str(image), grey)
    command = subprocess.run(
        ["tesseract", str(image), "-", "-l", "chi_sim", "--psm", str(PSM_BLOCK), "tsv"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    in_process = TessApi("chi_sim").tsv(grey, PSM_BLOCK)
    assert [ln.text for ln in parse_tsv(in_process)] == [ln.text for ln in parse_tsv(command)]
    assert len(parse_tsv(in_process)) >= 4


def test_the_engine_in_process_is_debian_s_tesseract() -> None:
    """tesserocr built against the system's libtesseract, not its wheel's own: the readings measured here are Debian's."""
    import tesserocr

    command = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=True).stdout
    assert tesserocr.tesseract_version().split()[:2] == command.split()[:2]  # "tesseract 5.3.0"


def test_missing_language_data_is_unavailable_not_a_crash() -> None:
    with pytest.raises(OcrUnavailable, match="no_such_language"):
        TessApi("no_such_language")


def test_seal_location_without_ocr() -> None:
    spec = pages.random_spec(3)
    rendered = pages.render_page(spec)
    stamped = pages.stamp_seal(rendered.image, rendered.seal_anchor, radius=230)
    shot = pages.Shot(angle=1.5, shift=(10, -20))
    frame = pages.photograph(stamped, shot, seed=3)
    mark = find_seal(frame, AREA)
    expected = pages.to_frame(rendered.seal_anchor, shot)
    assert mark.found and mark.inside_area
    assert abs(mark.center[0] - expected[0]) < 12 and abs(mark.center[1] - expected[1]) < 12  # type: ignore[index]
    assert abs(mark.radius - 230 * PAGE_SCALE) < 15  # type: ignore[operator]
    assert not find_seal(pages.photograph(rendered.image, shot, seed=3)).found


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = qinglian(list(argv))
    return code, out.getvalue()


def test_cli_extract_and_compare(tmp_path: Path) -> None:
    original, photographed = tmp_path / "original.png", tmp_path / "photo.jpg"
    assert run_cli("ocr", "render", str(original), "--seed", "5", "--chinese-date")[0] == 0
    assert run_cli("ocr", "render", str(photographed), "--seed", "5", "--chinese-date", "--photo", "--stamp")[0] == 0
    area = ",".join(map(str, AREA))
    code, out = run_cli("ocr", "extract", str(photographed), "--json", "--area", area)
    assert code == 0
    data = json.loads(out)
    spec = pages.random_spec(5)
    assert set(data) == {"text", "fields", "seal"}
    assert set(data["fields"]) == {"title", "parties", "amount_fen", "date"}
    assert set(data["seal"]) == {"found", "center", "radius", "inside_area"}
    assert data["fields"]["amount_fen"] == spec.amount_fen and type(data["fields"]["amount_fen"]) is int
    assert data["fields"]["date"] == spec.date.isoformat()
    assert data["seal"]["found"] is True and data["seal"]["inside_area"] is True
    code, out = run_cli("ocr", "compare", str(original), str(photographed), "--json", "--area", area)
    assert (code, json.loads(out)["flags"]) == (0, [])
    assert set(json.loads(out)) == {"match", "score", "flags"}


def test_cli_refuses_bad_input(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    code, out = run_cli("ocr", "extract", str(junk), "--json")
    assert code == 2 and "error" in json.loads(out)
    with pytest.raises(SystemExit):
        run_cli("ocr", "extract", str(junk), "--area", "1,2,3")


def test_a_page_read_by_rapidocr() -> None:
    """The second engine reads the same page (a test extra: its ONNX models ship in the wheel)."""
    assert isinstance(get_backend("rapidocr"), RapidOcrBackend)
    reading = read_image(pages.render_page(SANS).image, backend="rapidocr")
    f = reading.fields
    assert (f.title, f.party_a, f.party_b) == (SANS.title, SANS.party_a, SANS.party_b)
    assert f.amount_figures_fen == f.amount_capitals_fen == SANS.amount_fen
    assert f.date == SANS.date.isoformat()


def test_without_rapidocr_the_cli_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.png"
    assert run_cli("ocr", "render", str(page), "--seed", "1")[0] == 0
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # importing it fails, as where it is not installed
    monkeypatch.setattr(backends, "_cache", {})  # nor loaded before
    code, out = run_cli("ocr", "extract", str(page), "--backend", "rapidocr", "--json")
    assert code == 2
    assert "pip install 'qinglian[rapidocr]'" in json.loads(out)["error"]
