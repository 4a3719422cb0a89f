"""Content-addressed photos and full-text search of stamped pages in Chinese."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from edge.ocr.search import SearchIndex
from edge.seal.photos import PhotoCorrupt, PhotoMissing, PhotoStore


def test_photos_are_stored_by_hash_and_survive_a_restart(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path)
    data = b"\xff\xd8 a jpeg \xff\xd9"
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path(sha) == tmp_path / "photos" / sha[:2] / sha
    assert store.put(data) == sha  # twice is harmless
    again = PhotoStore(tmp_path)  # a new process
    assert again.get(sha) == data and sha in again and again.hashes() == [sha]
    assert not [p for p in store.path(sha).parent.iterdir() if p.name.startswith(".incoming")]
    with pytest.raises(PhotoMissing):
        again.get("0" * 64)
    with pytest.raises(ValueError):
        again.path("../etc/passwd")
    path = store.path(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"edited")
    with pytest.raises(PhotoCorrupt):
        again.get(sha)


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    idx = SearchIndex.for_data_dir(tmp_path)
    idx.add("a" * 64, "青山村", "contract", "2026-11-28T02:00:00Z", "村道硬化工程施工合同\n甲方：青山村股份经济合作社\n大写金额：人民币贰万捌仟伍佰元整",
            title="村道硬化工程施工合同", amount_fen=2_850_000, request_id="r1", press_no=1)  # fmt: skip
    idx.add("b" * 64, "青山村", "finance", "2026-12-02T02:00:00Z", "老年食堂运营服务协议\n乙方：宁波安居物业管理有限公司",
            title="老年食堂运营服务协议", flags=["amount"], press_no=1)  # fmt: skip
    idx.add("c" * 64, "白沙村", "contract", "2027-01-05T02:00:00Z", "河道保洁服务协议\n甲方：白沙村股份经济合作社",
            title="河道保洁服务协议", flags=["blank", "seal_outside"])  # fmt: skip
    return idx


def test_search_chinese_text(index: SearchIndex) -> None:
    assert [h.photo_sha256[0] for h in index.search("硬化工程")] == ["a"]
    assert [h.photo_sha256[0] for h in index.search("股份经济合作社")] == ["c", "a"]  # newest first
    assert "[" in index.search("捌仟伍佰")[0].snippet
    assert [h.photo_sha256[0] for h in index.search("协议")] == ["c", "b"]  # two characters: a scan, still found
    assert [h.photo_sha256[0] for h in index.search("服务协议 河道")] == ["c"]  # every term must occur
    assert index.search("不存在的文字") == []


def test_search_text_with_control_characters_and_quotes(index: SearchIndex) -> None:
    # The API fuzzer's find: a NUL inside a term ended FTS5's query early ("unterminated string", a 500).
    assert [h.photo_sha256[0] for h in index.search("硬化工程\x00施工")] == ["a"]  # separates like a space
    assert [h.photo_sha256[0] for h in index.search("\x1b硬化工程\x7f")] == ["a"]
    assert index.search('硬化"工程') == [] and index.search("\x00\x00") != []  # quoted as text; no term: all pages


def test_search_filters(index: SearchIndex) -> None:
    assert [h.photo_sha256[0] for h in index.search("", village="青山村")] == ["b", "a"]
    assert [h.photo_sha256[0] for h in index.search("合作社", seal="contract", village="白沙村")] == ["c"]
    assert [h.photo_sha256[0] for h in index.search("", since="2026-12-01", until="2027-01-01")] == ["b"]
    assert [h.photo_sha256[0] for h in index.search("", flag="seal_outside")] == ["c"]
    assert [h.photo_sha256[0] for h in index.search("", flag="any")] == ["c", "b"]
    hit = index.search("硬化")[0]
    assert hit.amount_fen == 2_850_000 and hit.flags == [] and hit.press_no == 1


def test_indexing_is_idempotent_and_persistent(index: SearchIndex, tmp_path: Path) -> None:
    assert index.add("a" * 64, "青山村", "contract", "2026-11-28T02:00:00Z", "again") is False
    index.close()
    again = SearchIndex.for_data_dir(tmp_path)
    assert again.count() == 3 and again.search("硬化工程")
