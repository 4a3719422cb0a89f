"""The ledger's timeline words every part's entries in Chinese (``Part.summarize``); the kernel shows a kind's
name and its body as written only where no part words it, and a malformed body never breaks the page. Its filter
groups are the ones the parts name."""

from __future__ import annotations

from typing import Any, cast

import pytest

from edge.kernel.contract import Part
from edge.kernel.parts import Parts
from edge.ledger import Entry
from edge.modules import PARTS
from edge.web.ledgerview import summary

NO_CONFIG = cast(Any, None)  # the example's words need no roster


def entry(kind: str, body: dict[str, Any]) -> Entry:
    return Entry(7, "2026-12-04T02:00:00Z", kind, body, bytes(32), bytes(32))


def test_every_part_words_its_own_kinds() -> None:
    # The seal too (edge/seal/summary.py): the kernel's timeline words only its own account entries.
    assert [p.name for p in PARTS if p.kinds and p.summarize is None] == []


def test_a_parts_words_replace_the_body_and_a_malformed_body_still_shows() -> None:
    example = Part("example", "示例", kinds={"example.filed": "示例事项登记", "example.noted": "示例备注"},
                   summarize=lambda e, _config: f"登记事项 {e.body['id']}" if e.kind == "example.filed" else None)  # fmt: skip
    parts = Parts([example])
    assert summary(entry("example.filed", {"id": "EX-1"}), NO_CONFIG, {}, parts) == "登记事项 EX-1"
    # The field its kind promises is missing: the part words its kinds, so none of the body shows (a body may
    # hold what only the part's own pages show, such as a whistleblower's lookup tag).
    assert summary(entry("example.filed", {"tag": "K7-SECRET"}), NO_CONFIG, {}, parts) == "示例事项登记（内容不完整）"
    assert summary(entry("example.noted", {"n": 1}), NO_CONFIG, {}, parts) == '示例备注 {"n": 1}'  # not worded


def test_a_malformed_entry_of_a_kind_no_part_words_shows_its_body() -> None:
    account = Parts([]).kind_name("account.created")
    broken = summary(entry("account.created", {"username": "liming", "roles": [1]}), NO_CONFIG, {}, Parts([]))
    assert broken == f'{account}（内容不完整）{{"roles": [1], "username": "liming"}}'


def test_the_ledger_page_filters_by_the_groups_the_parts_name() -> None:
    groups = Parts(PARTS).groups()
    assert list(groups)[:3] == ["seal_request.*", "grant.*", "seal.*"] and groups["firmware.*"] == "固件"
    assert {f"{p.name}.*": p.title for p in PARTS if not p.groups}.items() <= groups.items()  # the modules: their titles
    assert list(groups)[-1] == "account.*"  # the kernel's own, after the parts'
    with pytest.raises(ValueError, match="filter groups"):
        Part("example", "示例", kinds={}, groups={"grant": "授权"})
