"""The timeline's line for each competitive-deposit entry: every kind worded, in Chinese, with its key figures, and
the award's signature (the central's proof the entry keeps) left out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_support import config_for
from wording_support import ACCOUNT_NAMES, latin_words

from edge.ledger import Entry
from edge.modules.competitive_deposit import COMPETITIVE_DEPOSIT
from edge.modules.competitive_deposit import projection as P

ACCT = "6228480012345678"
BY = "kuaiji"  # a console account, shown as actor_name shows it (账号 kuaiji)
SIGNATURE = "ab" * 64
DOC = {"sha256": "c" * 64, "name": "minutes.pdf", "size": 1000}

# One body per kind, as desk.py records it (and, for the award, as the central's opening sends it down).
BODIES: dict[str, dict[str, Any]] = {
    P.ACCOUNT_ADDED: {"account": ACCT, "name": "村集体经济基本户", "bank": "瑞安农商银行", "by": BY},
    P.BALANCES: {
        "account": ACCT, "days": [["2025-10-16", 100_000_000, 100_000_000], ["2026-03-25", 320_000_000, 320_000_000]],
        "source": {**DOC, "name": "statement.csv", "format": "csv", "rows": 2, "skipped": 1}, "by": BY,
    },
    P.PLAN: {
        "plan_id": "CD-2026-001", "account": ACCT, "account_name": "村集体经济基本户", "amount_fen": 320_000_000,
        "term_months": 12, "meeting_date": "2026-11-18", "minutes": DOC,
        "idle": {"amount_fen": 320_000_000, "since": "2026-03-25", "as_of": "2026-11-18"},
        "thresholds": {"min_idle_fen": 300_000_000, "min_idle_months": 6}, "by": BY,
    },
    P.UNPLANNED: {
        "account": ACCT, "since": "2026-03-25", "idle_fen": 320_000_000, "as_of": "2026-11-20",
        "explanation": "闲置 3,200,000.00 元，自 2026-03-25 起，已 7 个月：应竞争性存放",
    },
    P.AWARD: {
        "plan_id": "CD-2026-001", "tender_id": "CDT-萧山区-2026-12", "bank": "瑞安农商银行", "rate_percent": "1.85",
        "amount_fen": 320_000_000, "term_months": 12, "notice_date": "2026-12-01", "sign_days": 3,
        "document": {"id": "f" * 32, "village": "qinglian", "issued_at": "2026-12-01T09:00:00Z", "decision_index": 17, "signature": SIGNATURE},
    },
    P.SIGNING_LATE: {"plan_id": "CD-2026-001", "notice_date": "2026-12-01", "sign_by": "2026-12-04"},
    P.SIGNED: {
        "plan_id": "CD-2026-001", "signed_on": "2026-12-05", "start_date": "2026-12-05", "maturity_date": "2027-12-05",
        "contract": {**DOC, "name": "contract.pdf"}, "late": True, "sign_by": "2026-12-04", "by": "host:operator",
    },
    P.MATURED: {
        "plan_id": "CD-2026-001", "matured_on": "2027-12-05", "amount_fen": 320_000_000, "rate_percent": "1.85", "term_months": 12,
        "demand_rate_percent": "0.10", "interest_fen": 5_920_000, "demand_fen": 320_000, "extra_fen": 5_600_000, "by": BY,
    },
}  # fmt: skip

# Identifiers allowed in ASCII: ids (CD-2026-001, CDT-萧山区-2026-12), ISO dates, and the console accounts shown.


def lines(tmp_path: Path) -> dict[str, str]:
    config = config_for(tmp_path, "socket://127.0.0.1:9")
    summarize = COMPETITIVE_DEPOSIT.summarize
    assert summarize is not None
    worded = {}
    for i, (kind, body) in enumerate(BODIES.items(), 1):
        line = summarize(Entry(i, "2026-12-05T02:00:00Z", kind, body, b"\0" * 32, b"\1" * 32), config)
        assert line, kind
        worded[kind] = line
    return worded


def test_every_kind_is_worded_in_chinese(tmp_path: Path) -> None:
    assert set(BODIES) == set(P.KINDS)
    for kind, line in lines(tmp_path).items():
        assert not latin_words(line, [ACCOUNT_NAMES]), (kind, line)


def test_the_lines_carry_the_key_facts(tmp_path: Path) -> None:
    got = lines(tmp_path)
    assert "村集体经济基本户" in got[P.ACCOUNT_ADDED] and ACCT in got[P.ACCOUNT_ADDED] and "账号 kuaiji" in got[P.ACCOUNT_ADDED]
    assert "2025-10-16 至 2026-03-25 共 2 天" in got[P.BALANCES] and "¥3,200,000.00" in got[P.BALANCES]
    assert "CD-2026-001" in got[P.PLAN] and "¥3,200,000.00" in got[P.PLAN] and "12 个月" in got[P.PLAN]
    assert "应竞争性存放" in got[P.UNPLANNED] and ACCT in got[P.UNPLANNED]
    assert "瑞安农商银行" in got[P.AWARD] and "1.85%" in got[P.AWARD] and "CDT-萧山区-2026-12" in got[P.AWARD]
    assert "2026-12-04" in got[P.SIGNING_LATE] and "逾期" in got[P.SIGNING_LATE]
    assert "逾期签约" in got[P.SIGNED] and "2027-12-05 到期" in got[P.SIGNED] and "本机操作员 operator" in got[P.SIGNED]
    assert "增加收益 ¥56,000.00" in got[P.MATURED] and "利息 ¥59,200.00" in got[P.MATURED]


def test_the_awards_signature_and_the_files_stay_out(tmp_path: Path) -> None:
    text = "\n".join(lines(tmp_path).values())
    for kept in (SIGNATURE, "f" * 32, "c" * 64, "minutes.pdf", "statement.csv", "contract.pdf"):
        assert kept not in text
