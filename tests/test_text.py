"""Typed text, checked one way in every part (edge.kernel.text)."""

from __future__ import annotations

import pytest

from edge.kernel.errors import InputError
from edge.kernel.text import line, paragraph


def test_a_line_is_trimmed_nfc_and_at_most_its_limit() -> None:
    assert line("  兴华文具店 ", "供应商", 5) == "兴华文具店"  # exactly the limit
    assert line("e\u0301", "名称", 1) == "\u00e9"  # one character once composed
    with pytest.raises(InputError, match="供应商过长：最多 4 个字"):
        line("兴华文具店", "供应商", 4)


@pytest.mark.parametrize("bad", ["兴华\x00文具", "a\x1b[31mb", "第一行\n第二行", "零宽\u200b字符"])
def test_a_line_refuses_control_characters(bad: str) -> None:
    with pytest.raises(InputError, match="含有控制字符") as caught:
        line(bad, "名称", 60)
    assert caught.value.code == "bad_text"


@pytest.mark.parametrize("empty", ["", "   ", None, 12, ["x"]])
def test_an_empty_or_non_text_value_is_missing_unless_optional(empty: object) -> None:
    with pytest.raises(InputError, match="请填写名称"):
        line(empty, "名称", 60)
    assert line(empty, "名称", 60, required=False) == ""


def test_a_paragraph_keeps_its_lines_and_counts_its_minimum() -> None:
    assert paragraph("第一行\r\n\r\n  第二行  ", "纪要", 20) == "第一行\n第二行"
    with pytest.raises(InputError, match="请填写理由"):
        paragraph("\n \n", "理由", 500)
    with pytest.raises(InputError, match="请写明理由（至少 10 个字）"):
        paragraph("价格更低", "理由", 500, 10)
    assert paragraph("", "备注", 500, 0) == ""
    with pytest.raises(InputError, match="含有控制字符"):
        paragraph("正常\n含\x07响铃", "纪要", 500)
    with pytest.raises(InputError, match="过长：最多 5 个字"):
        paragraph("一二三\n四五六", "纪要", 5)
