"""The ledger's timeline words every part's entries in Chinese (``Part.summarize``); the kernel shows a kind's
name and its body as written only where no part words it, and a malformed body never breaks the page."""

from __future__ import annotations

from typing import Any, cast

from edge.kernel.contract import Part
from edge.kernel.parts import Parts
from edge.ledger import Entry
from edge.modules import PARTS
from edge.web.ledgerview import summary

NO_CONFIG = cast(Any, None)  # the example's words need no roster


def entry(kind: str, body: dict[str, Any]) -> Entry:
    return Entry(7, "2026-12-04T02:00:00Z", kind, body, bytes(32), bytes(32))


def test_every_module_words_its_own_kinds() -> None:
    # The seal's kinds are worded by the kernel's timeline itself (edge/web/ledgerview.py), so far.
    assert [p.name for p in PARTS if p.name != "seal" and p.kinds and p.summarize is None] == []


def test_a_parts_words_replace_the_body_and_a_malformed_body_still_shows() -> None:
    example = Part("example", "示例", kinds={"example.filed": "示例事项登记", "example.noted": "示例备注"},
                   summarize=lambda e, _config: f"登记事项 {e.body['id']}" if e.kind == "example.filed" else None)  # fmt: skip
    parts = Parts([example])
    assert summary(entry("example.filed", {"id": "EX-1"}), NO_CONFIG, {}, parts) == "登记事项 EX-1"
    broken = summary(entry("example.filed", {}), NO_CONFIG, {}, parts)  # the field its kind promises is missing
    assert broken.startswith("示例事项登记（内容不完整）")
    assert summary(entry("example.noted", {"n": 1}), NO_CONFIG, {}, parts) == '示例备注 {"n": 1}'  # not worded
