"""The glyph reader of amounts in capitals: where the amount begins, and a seal's ring over its head."""

from __future__ import annotations

import pytest

from edge.ocr import pipeline
from edge.ocr.backends import get_backend
from edge.ocr.capitals import label_end, read_capitals
from edge.ocr.numerals import fen_to_capital
from edge.ocr.preprocess import decode, prepare
from hostsim import pages


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("大写金额：人民币壹万陆仟元整", "壹万陆仟元整"),
        ("大写金额:人民征壹万陆仟元整", "壹万陆仟元整"),  # 币 read as 征: still the label, not the amount
        ("大写金额；人民币 壹万陆仟元整", "壹万陆仟元整"),
        ("大写金额：壹万陆仟元整", "壹万陆仟元整"),
        ("大写：壹万陆仟元整", "壹万陆仟元整"),
    ],
)
def test_the_amount_begins_after_its_label(text: str, amount: str) -> None:
    end = label_end(text)
    assert end is not None and text[end:].strip() == amount


def test_no_label_no_amount() -> None:
    assert label_end("壹万陆仟元整") is None


def test_a_seal_ring_over_the_head_of_the_amount_is_read_through_on_the_clean_page() -> None:
    # Page 1018 of the OCR benchmark: the top of the seal's ring crosses 捌拾壹 of 捌拾壹万叁仟柒佰元整.
    spec = pages.random_spec(1018)
    jpeg, _, _ = pages.photographed_page(spec, seed=1018)
    prepared = prepare(decode(jpeg))
    line = pipeline._amount_line(get_backend("tesseract").read(prepared.grey))
    assert line is not None
    amount = fen_to_capital(spec.amount_fen)
    with_ghost = read_capitals(prepared.glyphs, line)
    assert with_ghost != amount and with_ghost is not None and amount.endswith(with_ghost)  # the tail only
    assert read_capitals(prepared.glyphs, line, clean=prepared.grey) == amount


@pytest.mark.parametrize("seed", [1082, 3038])
def test_each_cell_is_read_from_the_image_where_it_matches_best(seed: int) -> None:
    # 1082: the ring over 叁拾陆万 spoils 陆 with its ghost (叁 at 0.2), and on the clean page the thinner 叁
    # matches 角; 3038: alike over 贰拾陆万. Neither image alone reads the whole amount; cell by cell they do.
    spec = pages.random_spec(seed)
    jpeg, _, _ = pages.photographed_page(spec, seed=seed)
    prepared = prepare(decode(jpeg))
    line = pipeline._amount_line(get_backend("tesseract").read(prepared.grey))
    assert line is not None
    amount = fen_to_capital(spec.amount_fen)
    assert read_capitals(prepared.glyphs, line) != amount
    assert read_capitals(prepared.grey, line) != amount
    assert read_capitals(prepared.glyphs, line, clean=prepared.grey) == amount
