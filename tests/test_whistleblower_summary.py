"""The whistleblower module's entries on the supervisors' timeline: one line of Chinese per kind, worded from
bodies as the desk records them, with the key facts and nothing sealed (text, reporter, phone, receipt code and
its tag, keys, ciphertext)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from edge_support import config_for
from whistleblower_support import ROSTER
from wording_support import latin_words, shown_ids

from edge.kernel.config import EdgeConfig
from edge.kernel.parts import Parts
from edge.ledger import Entry
from edge.modules.whistleblower import WHISTLEBLOWER, crypto
from edge.modules.whistleblower import kinds as K
from edge.web.ledgerview import summary

SECRET = "村会计王某某把修路款转进了自家儿子的账户，金额约八万元"
REPORTER = "李秀英"
PHONE = "13957712345"
CODE = crypto.new_receipt_code()
CLUE = "WB-2026-0001"
HEAD_KEY = X25519PrivateKey.generate().public_key()
TOWNSHIP_KEY = X25519PrivateKey.generate().public_key()
REPORTER_KEY = bytes(range(32))  # the reporter's key as the receipt code derives it (never stored)
AT = "2026-03-05T02:00:00.000000Z"


def sealed(content: dict[str, Any], field: str) -> dict[str, Any]:
    return crypto.seal(content, [HEAD_KEY, TOWNSHIP_KEY], f"{CLUE}:{field}")


LOOKUP = crypto.receipt_keys(CODE, "测试村")[0].hex()
CONTENT = {"text": SECRET, "reporter": {"name": REPORTER, "phone": PHONE}, "attachments": [], "by": None}
BODIES: dict[str, dict[str, Any]] = {
    K.STATION_SET: {"name": "测试村监察工作联络站", "members": ROSTER},
    K.HEAD_KEY: {
        "head": "zhoujian", "head_public": crypto.public_text(HEAD_KEY), "head_fingerprint": crypto.fingerprint(HEAD_KEY),
        "township_public": crypto.public_text(TOWNSHIP_KEY), "township_fingerprint": crypto.fingerprint(TOWNSHIP_KEY),
    },  # fmt: skip
    K.CLUE_RECEIVED: {
        "id": CLUE, "source": "public", "collector": None, "received_at": "2026-03-02T01:00:00.000000Z",
        "ack_due": "2026-03-09T01:00:00.000000Z", "feedback_due": "2026-06-02T01:00:00.000000Z", "lookup": LOOKUP,
        "sealed": sealed({**CONTENT, "reporter_key": crypto.b64(REPORTER_KEY)}, "clue"),
    },  # fmt: skip
    K.CLUE_ACKNOWLEDGED: {"id": CLUE, "at": AT, "by": "zhoujian"},
    K.CLUE_VERIFIED: {"id": CLUE, "at": AT, "by": "zhoujian", "note": sealed({"text": SECRET}, "note")},
    K.CLUE_RESOLVED: {
        "id": CLUE, "at": AT, "by": "zhoujian", "outcome": "confirmed", "solved": True,
        "reasons": sealed({"text": SECRET}, "reasons"),
    },  # fmt: skip
    K.CLUE_FEEDBACK: {
        "id": CLUE, "at": AT, "by": "zhoujian", "sealed": sealed({"text": SECRET}, "feedback"),
        "reporter": crypto.for_reporter(REPORTER_KEY, SECRET, f"{CLUE}:feedback"),
    },  # fmt: skip
    K.CLUE_ESCALATED: {"id": CLUE, "at": AT, "by": "wuxia"},
    K.MESSAGE: {"id": CLUE, "at": AT, "author": "reporter", "sealed": sealed({"text": SECRET}, "message")},
    K.OVERDUE: {"id": CLUE, "step": "acknowledge", "due": "2026-03-09T01:00:00.000000Z", "at": AT},
    K.REVIEW_MEETING: {
        "id": "RM-2026-03-10-1", "held_on": "2026-03-10", "attendees": ["zhoujian", "wuxia"], "clues": [CLUE],
        "triaged": [CLUE], "minutes": sealed({"text": SECRET}, "minutes"), "by": "zhoujian", "at": AT,
    },  # fmt: skip
    K.QA_MEETING: {
        "id": "QA-2026-03-20-1", "held_on": "2026-03-20", "attendees": ["zhoujian", "wuxia", "sunqiang"],
        "villagers": 38, "questions": 7, "answered": 6, "summary": "就宅基地审批流程答疑", "by": "zhoujian", "at": AT,
    },  # fmt: skip
    K.MISCONDUCT: {"person": "zhengli", "year": 2025, "what": "cover_up", "by": "zhoujian", "at": AT},
    K.RATED: {
        "year": 2025, "station": "测试村监察工作联络站", "rules": {}, "inputs": [], "figures": {},
        "by": "zhoujian", "at": AT,
        "ratings": [
            {"person": "zhoujian", "rating": "ordinary", "clues": 1, "confirmed": 0, "solved": 0},
            {"person": "wuxia", "rating": "gold", "clues": 3, "confirmed": 2, "solved": 1},
            {"person": "sunqiang", "rating": "silver", "clues": 1, "confirmed": 1, "solved": 0},
            {"person": "zhengli", "rating": "black", "clues": 2, "confirmed": 1, "solved": 1},
            {"person": "fenghua", "rating": "mute", "clues": 0, "confirmed": 0, "solved": 0},
        ],
    },  # fmt: skip
    K.VISIT_PLAN: {
        "year": 2026, "plan": {"zhoujian": 20, "wuxia": 40, "sunqiang": 40, "zhengli": 30, "fenghua": 0},
        "by": "zhoujian", "at": AT,
    },  # fmt: skip
    K.VISIT: {"person": "wuxia", "visited_on": "2026-03-04", "households": 8, "by": "zhoujian", "at": AT},
}
ACCOUNTS = shown_ids(m["id"] for m in ROSTER)


def lines(tmp_path: Path) -> dict[str, str]:
    """Each body's line as the timeline shows it (through the registry, as ``/ledger`` and its CSV word it)."""
    config: EdgeConfig = config_for(tmp_path, "socket://127.0.0.1:9")
    parts = Parts((WHISTLEBLOWER,))
    return {
        kind: summary(Entry(n, AT, kind, body, b"\0" * 32, b"\1" * 32), config, {}, parts)
        for n, (kind, body) in enumerate(BODIES.items(), 1)
    }


def test_every_kind_is_worded_in_chinese(tmp_path: Path) -> None:
    assert set(BODIES) == set(K.KINDS)
    for kind, line in lines(tmp_path).items():
        assert line and "内容不完整" not in line, kind  # the hook worded it, not the fallback
        assert not latin_words(line, [ACCOUNTS]), (kind, line)


def test_the_key_facts_are_in_the_line(tmp_path: Path) -> None:
    worded = lines(tmp_path)
    assert "周建" in worded[K.STATION_SET] and "共 5 人" in worded[K.STATION_SET]
    assert worded[K.CLUE_RECEIVED] == (
        f"收到线索 {CLUE}（群众网上举报），确认收到期限 2026-03-09 09:00，反馈期限 2026-06-02 09:00"
    )
    assert worded[K.CLUE_ACKNOWLEDGED] == f"站长(zhoujian) 确认收到线索 {CLUE}"
    assert "已查实办结，问题已解决" in worded[K.CLUE_RESOLVED]
    assert worded[K.OVERDUE] == f"线索 {CLUE} 确认收到（7 日内）已逾期（期限 2026-03-09 09:00）"
    assert "到会群众 38 人" in worded[K.QA_MEETING] and "当场答复 6 个" in worded[K.QA_MEETING]
    assert "隐瞒包庇" in worded[K.MISCONDUCT] and "吹哨人(zhengli)" in worded[K.MISCONDUCT]
    assert "金哨 1 人、银哨 1 人、合格 1 人、哑哨 1 人、黑哨 1 人" in worded[K.RATED]
    assert "5 人共 130 户" in worded[K.VISIT_PLAN]
    assert worded[K.VISIT] == "吹哨人(wuxia) 2026-03-04 走访 8 户（站长(zhoujian) 代记）"


def texts(value: Any) -> Iterator[str]:
    """Every text inside an envelope: ciphertext, nonces, wrapped keys, ephemeral keys, fingerprints."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from texts(item)


def test_nothing_sealed_reaches_the_line(tmp_path: Path) -> None:
    worded = lines(tmp_path)
    secrets = [SECRET, REPORTER, PHONE, CODE, LOOKUP, crypto.b64(REPORTER_KEY)]
    for body in BODIES.values():  # every key and every piece of ciphertext the bodies carry
        for key in ("head_public", "township_public", "head_fingerprint", "township_fingerprint"):
            secrets += [body[key]] if key in body else []
        for field in ("sealed", "note", "reasons", "minutes", "reporter"):
            secrets += list(texts(body[field])) if isinstance(body.get(field), dict) else []
    for kind, line in worded.items():
        for secret in secrets:
            assert secret not in line, (kind, secret)
    # Who escalated a clue stays out, as on the clue page.
    assert "wuxia" not in worded[K.CLUE_ESCALATED]
