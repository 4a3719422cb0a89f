"""Real Tesseract on generated pages: fields read right, the frauds caught, a genuine page passes.

Each case OCRs one photographed page (about 1.5 s); originals are read once per module.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from edge.ocr.pipeline import Reading, compare, read_image
from edge.ocr.preprocess import decode
from edge.ocr.seal import find_seal
from hostsim import pages
from qinglian.cli import main as qinglian

AREA = pages.seal_zone()
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
    result = compare(originals["sans"], photo(replace(SANS, blank=True), 15))
    assert result.flags == ["blank"]


def test_a_stamp_outside_the_monitored_area_is_caught(originals: dict[str, Reading]) -> None:
    rendered = pages.render_page(SANS)
    on_title = (pages.A5_PX[0] // 2, 300)
    reading = photo(SANS, 16, seal_at=on_title)
    assert reading.seal.found and reading.seal.inside_area is False
    assert compare(originals["sans"], reading).flags == ["seal_outside"]
    assert rendered.seal_anchor != on_title


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
    assert abs(mark.radius - 230 * pages.PAGE_SCALE) < 15  # type: ignore[operator]
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
