"""Competitive deposit on the village edge, through its desk and its pages: accounts and balances imported
(hostile files refused, nothing changed), eligibility explained, the joint meeting's plan recorded to go up,
the award that comes down starting the 3-day signing clock, the contract, maturity's extra income published,
the tick's flags, the exports, the notice board, the tender command and the demo's seed."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import secrets
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from edge_support import config_for
from tables_support import xlsx
from web_support import Api, seed_account

from edge.agent import EdgeAgent
from edge.kernel.central import DocumentInbox
from edge.kernel.documents import StoredDocument
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.websettings import WebSettings
from edge.ledger.decisiondoc import DOCUMENT_REFUSED, sign_document
from edge.ledger.localtime import local_today
from edge.modules.competitive_deposit import COMPETITIVE_DEPOSIT, desk, rules
from edge.modules.competitive_deposit import demo as seed
from edge.modules.competitive_deposit import projection as P
from edge.modules.competitive_deposit.cli import register
from edge.seal.part import SEAL
from edge.web.app import create_app
from edge.web.demo import sample_pdf
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore

PARTS = (SEAL, COMPETITIVE_DEPOSIT)
D = date.fromisoformat
ACCT, OTHER_ACCT = "6228480012345678", "6230580000123456"
MINUTES = StoredDocument("a" * 64, "纪要.pdf", 1000)
BY = "kuaiji"


@pytest.fixture
async def agent(tmp_path: Path) -> Any:
    opened = await EdgeAgent.open(config_for(tmp_path, "socket://127.0.0.1:9"), parts=PARTS)
    yield opened
    await opened.close()


async def size(agent: EdgeAgent) -> int:
    return await agent.ledger.size()


def statement(rows: list[tuple[str, str]], header: str = "交易日期,摘要,余额", title: str = "账户交易明细") -> bytes:
    return "\r\n".join([title, header, *(f"{d},转账,\"{b}\"" for d, b in rows)]).encode("utf-8-sig")


async def eligible_account(agent: EdgeAgent, today: date) -> None:
    await desk.add_account(agent, BY, ACCT, "村集体经济基本户", "瑞安农商银行")
    await desk.import_statement(agent, BY, ACCT, statement([(str(today - timedelta(days=400)), "1000000.00"), (str(today - timedelta(days=240)), "3200000.00")]), "流水.csv", today)


# -- accounts, balances, hostile files -----------------------------------------------------------------------


async def test_a_statement_imported_gives_the_idle_funds_and_the_explanation(agent: EdgeAgent) -> None:
    await desk.add_account(agent, BY, "6228 4800 1234 5678", "村集体经济基本户", "瑞安农商银行")
    data = statement([("2026-10-20", "3,350,000.00"), ("2026-10-20", "3,200,000.00"), ("2026-06-01", "5000000"),
                      ("2026-03-15", "3200000.00"), ("2026-01-01", "本月合计"), ("2025-12-01", "1000000.00")])  # fmt: skip
    data = data.replace("2026-01-01,转账,\"本月合计\"".encode(), "本月合计,,1000000.00".encode())  # a total row: skipped
    got = await desk.import_statement(agent, BY, ACCT, data, "流水.csv", D("2026-10-20"))
    assert got["rows"] == 5 and got["skipped"] == 1 and got["days"] == 4  # newest first in the file: read oldest first
    async with agent.recorder.step():
        views = await desk.account_views(agent, D("2026-10-20"))
    assert views[0].eligibility.explanation == "闲置 3,200,000.00 元，自 2026-03-15 起，已 7 个月：应竞争性存放"
    assert views[0].flag and views[0].flag_due == D("2026-09-16") + timedelta(days=30)
    entry = (await agent.ledger.entries_of_kind(P.BALANCES))[-1]
    assert entry.body["source"]["format"] == "csv" and len(entry.body["source"]["sha256"]) == 64
    assert entry.body["days"][-1] == ["2026-10-20", 320_000_000, 335_000_000]  # the day's low, and its close (the newest row)


async def test_an_accounting_export_in_xlsx_with_real_dates_and_numbers(agent: EdgeAgent) -> None:
    await desk.add_account(agent, BY, ACCT, "基本户", "农商银行")
    data = xlsx(*[["银行存款日记账"], ["日期", "摘要", "借方", "贷方", "余额", "账号"],
                  [date(2026, 1, 5), "期初", None, None, 3000000, ACCT], [date(2026, 2, 1), "收入", 0.5, None, 3000000.5, ACCT],
                  ["本年累计", None, None, None, 3000000.5, None]])  # fmt: skip
    got = await desk.import_statement(agent, BY, ACCT, data, "日记账.xlsx", D("2026-10-01"))
    assert got["rows"] == 2 and got["skipped"] == 1
    async with agent.recorder.step():
        assert await P.history(agent.db.conn, ACCT) == [rules.DayBalance(D("2026-01-05"), 300_000_000, 300_000_000),
                                                       rules.DayBalance(D("2026-02-01"), 300_000_050, 300_000_050)]  # fmt: skip


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", "0" * (60 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(("name", "data", "says"), [
    ("流水.csv", b"", "文件是空的"),
    ("流水.csv", statement([("2026-03-01", "-5.00")]), "余额为负数"),
    ("流水.csv", statement([("2026-03-01", "5.001")]), "最多两位小数"),
    ("流水.csv", statement([("2026-03-01", "1e9")]), "余额格式错误"),
    ("流水.csv", statement([("2026-03-01", "NaN")]), "余额格式错误"),
    ("流水.csv", statement([("2026-02-30", "5.00")]), "第 3 行：不存在的日期"),
    ("流水.csv", statement([("2027-01-01", "5.00")]), "晚于今天"),
    ("流水.csv", statement([("2026-03-01", "5.00"), ("2026-01-01", "5.00"), ("2026-02-01", "5.00")]), "日期顺序混乱"),
    ("流水.csv", statement([("2026-03-01", "5.00")], header="时间,摘要,金额"), "找不到表头"),
    ("流水.csv", statement([("2026-03-01", "20000000000.00")]), "超过 10 亿元"),
    ("流水.csv", b"\x00\x01\x02binary", "二进制"),
    ("流水.csv", "交易日期,余额\n2026-03-01,5.00\n".encode("utf-16"), "二进制"),
    ("流水.exe", b"MZ\x90\x00", "只接受 CSV 或 XLSX"),
    ("流水.csv", b"PK\x03\x04 not really", "扩展名却不是 .xlsx"),
    ("流水.xlsx", "日期,余额\n".encode(), "不是真正的 XLSX"),
    ("流水.xlsx", b"PK\x03\x04 broken zip", "XLSX 文件已损坏"),
    ("流水.xlsx", _bomb(), "解压后过大"),
    ("流水.csv", "交易日期,余额,账号\n2026-03-01,5.00,6217000000000001\n".encode(), "与所选账户 6228480012345678 不符"),
    ("流水.csv", b"x" * (5 * 1024 * 1024 + 1), "文件过大"),
])  # fmt: skip
async def test_a_hostile_or_doubtful_file_is_refused_in_chinese_and_changes_nothing(agent: EdgeAgent, name: str, data: bytes, says: str) -> None:
    await desk.add_account(agent, BY, ACCT, "基本户", "农商银行")
    before = await size(agent)
    with pytest.raises(InputError) as refused:
        await desk.import_statement(agent, BY, ACCT, data, name, D("2026-10-01"))
    assert says in refused.value.message
    assert await size(agent) == before
    assert not (agent.config.data_dir / "documents").exists()  # nothing kept either


async def test_accounts_and_balances_refuse_bad_input(agent: EdgeAgent) -> None:
    for number, name, bank in (("12345", "基本户", "银行"), ("62284800123456781234567890123456789", "基本户", "银行"), (ACCT, "", "银行"), (ACCT, "基本户\x07", "银行")):
        with pytest.raises(InputError):
            await desk.add_account(agent, BY, number, name, bank)
    await desk.add_account(agent, BY, ACCT, "基本户", "银行")
    with pytest.raises(InputError, match="已登记"):
        await desk.add_account(agent, BY, ACCT, "基本户", "银行")
    before = await size(agent)
    for day, amount in (("2026-13-01", "5"), ("2027-01-01", "5"), ("2026-03-01", "-5"), ("2026-03-01", "1e5"), ("2026-03-01", "1.001")):
        with pytest.raises(InputError):
            await desk.enter_balance(agent, BY, ACCT, day, amount, D("2026-10-01"))
    with pytest.raises(NotFound):
        await desk.enter_balance(agent, BY, "999999999", "2026-03-01", "5", D("2026-10-01"))
    assert await size(agent) == before
    await desk.enter_balance(agent, BY, ACCT, "2026-03-01", "0", D("2026-10-01"))  # an empty account is a balance
    assert await size(agent) == before + 1


# -- the joint meeting's plan, the award, signing, maturity ---------------------------------------------------


CENTRAL_KEY = Ed25519PrivateKey.generate()
EDGE_ID = "qinglian-cun"


async def _deliver(agent: EdgeAgent, document: dict[str, Any], key: Ed25519PublicKey | None = None) -> tuple[int, int]:
    """A document through the kernel's inbox, as a sync round hands it over: checked, then recorded."""

    async def record(kind: str, body: dict[str, Any]) -> Any:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    inbox = DocumentInbox(key or CENTRAL_KEY.public_key(), EDGE_ID, COMPETITIVE_DEPOSIT.from_central, record)
    await inbox.load(agent.config.data_dir)
    return await inbox.take([document], await agent.ledger.size())


def award_document(plan_id: str, notice: str, /, signer: Ed25519PrivateKey = CENTRAL_KEY, village: str = EDGE_ID, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"plan_id": plan_id, "tender_id": "T-2026-11", "bank": "瑞安农商银行", "rate_percent": "1.85",
                            "amount_fen": 320_000_000, "term_months": 12, "notice_date": notice, "sign_days": 3}  # fmt: skip
    body.update(over)
    return sign_document(signer, {"id": secrets.token_hex(16), "village": village, "kind": P.AWARD, "issued_at": "2026-12-01T02:00:00Z",
                                  "decision_index": 7, "body": body})  # fmt: skip


async def _award(agent: EdgeAgent, plan_id: str, notice: str, /, **over: Any) -> None:
    assert await _deliver(agent, award_document(plan_id, notice, **over)) == (1, 0)


async def test_the_path_from_the_plan_to_the_extra_income(agent: EdgeAgent) -> None:
    today = D("2026-11-20")
    await eligible_account(agent, today)
    refused = [
        (desk.check_plan(ACCT, "3200000.01", "12", "2026-11-18", today), "超过闲置资金"),
        (desk.check_plan(ACCT, "3000000", "12", str(today - timedelta(days=240 - 183)), today), "不符合竞争性存放条件"),  # 6 months in
    ]
    for plan, says in refused:
        with pytest.raises(Refused, match=says):
            await desk.record_plan(agent, BY, plan, MINUTES)
    with pytest.raises(InputError):
        desk.check_plan(ACCT, "100", "7", "2026-11-18", today)  # not a bank's term
    await desk.enter_balance(agent, BY, ACCT, "2026-11-19", "3300000", today)  # recorded after the meeting: not counted
    plan_id = await desk.record_plan(agent, BY, desk.check_plan(ACCT, "3,200,000.00", "12", "2026-11-18", today), MINUTES)
    assert plan_id == "CD-2026-001"
    up = (await agent.ledger.entries_of_kind(P.PLAN))[0].body  # what goes up to the central as the plan
    assert up["amount_fen"] == 320_000_000 and up["idle"]["since"] == str(today - timedelta(days=240)) and up["minutes"]["sha256"] == "a" * 64
    with pytest.raises(Refused, match="已有未完成的存放计划"):
        await desk.record_plan(agent, BY, desk.check_plan(ACCT, "100", "12", "2026-11-19", today), MINUTES)
    async with agent.recorder.step():
        assert not (await desk.account_views(agent, today))[0].flag  # in a plan: no flag

    with pytest.raises(Refused, match="不能登记签约"):
        await desk.record_signed(agent, BY, plan_id, today, today, MINUTES)
    await _award(agent, plan_id, "2026-12-01")
    row = await _plan(agent, plan_id)
    assert (row["status"], row["sign_by"], row["bank"]) == ("awarded", "2026-12-04", "瑞安农商银行")
    late = await desk.record_signed(agent, BY, plan_id, D("2026-12-04"), D("2026-12-05"), MINUTES)  # day 3: on time
    row = await _plan(agent, plan_id)
    assert not late and (row["status"], row["maturity_date"], row["late"]) == ("signed", "2027-12-05", 0)
    with pytest.raises(Refused, match="才到期"):
        await desk.record_matured(agent, BY, plan_id, D("2027-12-04"))
    income = await desk.record_matured(agent, BY, plan_id, D("2027-12-05"))
    assert income == rules.Income(5_920_000, 320_000, 5_600_000)  # 1.85% vs the demand 0.10% for a year
    published = await COMPETITIVE_DEPOSIT.publishes(agent.db.conn, "测试村")  # type: ignore[misc]
    assert published[0].rows[0] == ("村集体经济基本户", "3,200,000.00", 12, "2026-11-18", "瑞安农商银行", "1.85", "2026-12-04", "2027-12-05", "56,000.00")
    assert ACCT not in repr(published)  # the account number is not published


async def _plan(agent: EdgeAgent, plan_id: str) -> dict[str, Any]:
    async with agent.recorder.step():
        row = await P.plan_row(agent.db.conn, plan_id)
    assert row is not None
    return row


@pytest.mark.parametrize(("signed", "late"), [("2026-12-04", False), ("2026-12-05", True)])
async def test_signing_on_day_three_is_on_time_day_four_is_late(agent: EdgeAgent, signed: str, late: bool) -> None:
    today = D("2026-11-20")
    await eligible_account(agent, today)
    plan_id = await desk.record_plan(agent, BY, desk.check_plan(ACCT, "3200000", "12", "2026-11-18", today), MINUTES)
    await _award(agent, plan_id, "2026-12-01")
    assert await desk.check_due(agent, D("2026-12-04")) == []  # the clock has not run out on day 3
    if late:
        assert await desk.check_due(agent, D("2026-12-05")) == [P.SIGNING_LATE]  # flagged once ...
        assert await desk.check_due(agent, D("2026-12-06")) == []  # ... not again
    assert await desk.record_signed(agent, BY, plan_id, D(signed), D(signed), MINUTES) is late
    assert (await _plan(agent, plan_id))["late"] == int(late)


async def test_an_award_that_does_not_fit_is_an_anomaly_and_the_agent_goes_on(agent: EdgeAgent) -> None:
    today = D("2026-11-20")
    await eligible_account(agent, today)
    plan_id = await desk.record_plan(agent, BY, desk.check_plan(ACCT, "3200000", "12", "2026-11-18", today), MINUTES)
    for bad in ({"plan_id": "CD-2099-001"}, {"amount_fen": 320_000_001}, {"term_months": 6}, {"rate_percent": "abc"}, {"notice_date": "soon"}):
        await _award(agent, plan_id, "2026-12-01", **bad)
    assert len(await agent.db.projection_anomalies()) == 5
    assert (await _plan(agent, plan_id))["status"] == "planned"
    # Forged (another key), for another village, replayed: refused by the kernel before any handler runs.
    assert await _deliver(agent, award_document(plan_id, "2026-12-01", signer=Ed25519PrivateKey.generate())) == (0, 1)
    assert await _deliver(agent, award_document(plan_id, "2026-12-01", village="baishi-cun")) == (0, 1)
    assert (await _plan(agent, plan_id))["status"] == "planned"
    good = award_document(plan_id, "2026-12-01")
    assert await _deliver(agent, good) == (1, 0)
    assert (await _plan(agent, plan_id))["status"] == "awarded"
    assert await _deliver(agent, good) == (0, 1)  # the same document again: a replay
    refused = [e.body["anomaly"] for e in await agent.ledger.entries_of_kind(DOCUMENT_REFUSED)]
    assert refused == ["document_forged", "document_foreign", "document_replayed"]


async def test_an_eligible_account_in_no_plan_is_flagged_once_after_the_grace_days(agent: EdgeAgent) -> None:
    await desk.add_account(agent, BY, ACCT, "基本户", "农商银行")
    await desk.enter_balance(agent, BY, ACCT, "2026-03-15", "3200000", D("2026-03-15"))
    # eligible from 2026-09-16 (6 months and a day), flagged 30 days later
    assert await desk.check_due(agent, D("2026-10-15")) == []
    assert await desk.check_due(agent, D("2026-10-16")) == [P.UNPLANNED]
    assert await desk.check_due(agent, D("2026-10-17")) == []
    flagged = (await agent.ledger.entries_of_kind(P.UNPLANNED))[0].body
    assert flagged["since"] == "2026-03-15" and "已 7 个月" in flagged["explanation"]


# -- the pages -----------------------------------------------------------------------------------------------


@pytest.fixture
async def site(agent: EdgeAgent) -> Any:
    store = await WebStore.open(agent.config.data_dir)
    for username, roles, person, villages in (("kuaiji", ["village_staff"], None, None), ("jiandu", ["supervisor"], None, ["*"]),
                                              ("liming", ["applicant"], "liming", None), ("waicun", ["village_staff"], None, ["白石村"])):  # fmt: skip
        await seed_account(store, agent, username, roles, person, villages)
    ledger = LedgerReader(agent.config.data_dir)
    transport = httpx.ASGITransport(app=create_app(Console(agent, store, WebSettings(enabled=True)), ledger))
    clients = [httpx.AsyncClient(transport=transport, base_url="http://console.test") for _ in range(5)]
    apis = [Api(c) for c in clients]
    for api, name in zip(apis, ("kuaiji", "jiandu", "liming", "waicun"), strict=False):
        await api.login(name)
    yield apis
    for c in clients:
        await c.aclose()
    await ledger.close()
    await store.close()


async def test_the_clerk_walks_the_path_in_the_console_and_others_cannot(agent: EdgeAgent, site: Any) -> None:
    kuaiji, jiandu, liming, waicun, visitor = site
    today = local_today()
    assert (await kuaiji.post("/competitive_deposit/accounts", data={"name": "村集体经济基本户", "bank": "瑞安农商银行", "account": ACCT})).status_code == 303
    csv_file = statement([(str(today - timedelta(days=250)), "3,300,000.00")])
    r = await kuaiji.client.post(f"/competitive_deposit/a/{ACCT}/import", data={"csrf_token": kuaiji.csrf}, files={"statement": ("流水.csv", csv_file, "text/csv")})
    assert r.status_code == 303
    page = (await kuaiji.client.get(f"/competitive_deposit/a/{ACCT}")).text
    assert "已导入 1 行" in page and "闲置 3,300,000.00 元" in page and 'id="plan-form"' in page
    index = (await kuaiji.client.get("/competitive_deposit")).text
    assert f'id="flag-{ACCT}"' in index and "符合条件但未纳入招标" in index

    before = await size(agent)
    bad = await kuaiji.client.post(f"/competitive_deposit/a/{ACCT}/import", data={"csrf_token": kuaiji.csrf}, files={"statement": ("流水.csv", b"MZ\x00\x00", "text/csv")})
    assert bad.status_code == 303 and "二进制" in (await kuaiji.client.get(bad.headers["location"])).text
    not_pdf = await kuaiji.client.post(f"/competitive_deposit/a/{ACCT}/plan", data={"csrf_token": kuaiji.csrf, "amount": "3300000", "term": "12", "meeting_date": str(today)},
                                       files={"minutes": ("纪要.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})  # fmt: skip
    assert not_pdf.status_code == 303 and "不是 PDF" in (await kuaiji.client.get(not_pdf.headers["location"])).text
    # Read-only, another village, not staff, no CSRF token, no login: refused, nothing recorded.
    assert (await jiandu.post("/competitive_deposit/accounts", data={"name": "x", "bank": "y", "account": "62284800999"})).status_code == 403
    assert (await liming.client.get("/competitive_deposit")).status_code == 403
    assert (await waicun.client.get("/competitive_deposit")).status_code == 403
    no_token = await kuaiji.client.post("/competitive_deposit/accounts", data={"name": "x", "bank": "y", "account": "62284800999"})
    assert no_token.status_code == 403 and "安全校验失败" in no_token.text
    assert (await visitor.client.get("/competitive_deposit")).status_code == 303
    assert await size(agent) == before
    assert "资金存放" in (await jiandu.client.get("/competitive_deposit")).text

    plan = await kuaiji.client.post(f"/competitive_deposit/a/{ACCT}/plan", data={"csrf_token": kuaiji.csrf, "amount": "3300000", "term": "12", "meeting_date": str(today)},
                                    files={"minutes": ("纪要.pdf", sample_pdf("Minutes", ["joint meeting"]), "application/pdf")})  # fmt: skip
    assert plan.status_code == 303
    assert "将上报乡镇" in (await kuaiji.client.get(plan.headers["location"])).text
    exported = await jiandu.client.get("/exports/competitive_deposit/plans.csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "账户名称", "联席会议日期"] and rows[1][:6] == [f"CD-{today.year}-001", "村集体经济基本户", str(today), "3,300,000.00", "12", "已上报，待招标"]
    board = (await visitor.client.get("/board")).text
    assert "集体闲置资金竞争性存放" in board and "招标中" in board and ACCT not in board


# -- the tender command, the demo -----------------------------------------------------------------------------


def run_tender(path: Path, *extra: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="qinglian")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["deposit", "tender", str(path), *extra])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = args.func(args)
    return code, out.getvalue(), err.getvalue()


def test_the_tender_command_recomputes_eligibility_and_the_ranking(tmp_path: Path) -> None:
    path = tmp_path / "tender.json"
    path.write_text(json.dumps({"as_of": "2027-03-01", "accounts": [
        {"village": "青莲村", "account": "A1", "idle_yuan": "3000000.00", "idle_since": "2026-08-31"},
        {"village": "青莲村", "account": "A2", "idle_yuan": "2999999.99", "idle_since": "2025-01-01"},
        {"village": "白石村", "account": "B1", "idle_yuan": "4,500,000.50", "idle_since": "2026-09-01"},
    ], "bids": [
        {"bank": "农商银行", "rate_percent": "1.80", "operating_score": "10", "agri_support_score": "10"},
        {"bank": "农业银行", "rate_percent": "2.00", "operating_score": "6", "agri_support_score": "6"},
        {"bank": "工商银行", "rate_percent": "1.60", "operating_score": "9", "agri_support_score": "8.5"},
    ]}, ensure_ascii=False, indent=1), encoding="utf-8")  # fmt: skip
    code, out, _ = run_tender(path, "--json")
    # 80 × 1.80 / 2.00 = 72 + 20 = 92.00 ties 80 + 12: the higher rate first; 80 × 1.60 / 2.00 = 64 + 17.5 = 81.50.
    assert code == 0 and json.loads(out) == {
        "eligible": ["A1"], "total_yuan": "3000000.00", "winner": "农业银行",
        "ranking": [
            {"bank": "农业银行", "score": "92.00", "rate_percent": "2.00", "rate_points": "80.00", "operating_score": "6", "agri_support_score": "6"},
            {"bank": "农商银行", "score": "92.00", "rate_percent": "1.80", "rate_points": "72.00", "operating_score": "10", "agri_support_score": "10"},
            {"bank": "工商银行", "score": "81.50", "rate_percent": "1.60", "rate_points": "64.00", "operating_score": "9", "agri_support_score": "8.5"},
        ],
    }  # fmt: skip


def test_the_tender_command_takes_the_tenders_rate_points_and_rounds_half_up_once(tmp_path: Path) -> None:
    """Out of 80: 80 × 1.85 / 1.95 = 75.897… → 75.90, + 18.5 = 94.40; 80 × 1.849 / 1.95 = 75.856… → 75.86, + 18 =
    93.86. A county scoring the rate out of 60 (recorded with its tender): 56.923… → 56.92, total 75.42."""
    bids = [{"bank": "甲", "rate_percent": "1.95", "operating_score": "7", "agri_support_score": "7"},
            {"bank": "乙", "rate_percent": "1.85", "operating_score": "9.5", "agri_support_score": "9"},
            {"bank": "丙", "rate_percent": "1.849", "operating_score": "8.5", "agri_support_score": "9.5"}]  # fmt: skip
    path = tmp_path / "tender.json"
    for points, expected in (
        (None, [("乙", "75.90", "94.40"), ("甲", "80.00", "94.00"), ("丙", "75.86", "93.86")]),
        ("60", [("乙", "56.92", "75.42"), ("丙", "56.89", "74.89"), ("甲", "60.00", "74.00")]),
    ):
        given = {"as_of": "2026-12-07", "accounts": [], "bids": bids} | ({"rate_points": points} if points else {})
        path.write_text(json.dumps(given), encoding="utf-8")
        code, out, _ = run_tender(path, "--json")
        ranking = json.loads(out)["ranking"]
        assert code == 0 and [(r["bank"], r["rate_points"], r["score"]) for r in ranking] == expected
        for r in ranking:  # what each line says it is made of adds up to its score
            parts = (r["rate_points"], r["operating_score"], r["agri_support_score"])
            assert sum(map(Decimal, parts)) == Decimal(r["score"])
    # Exactly half a fen of a point: 80 × 1.0001 / 1.60 = 50.005 → 50.01 (half up, not to even).
    path.write_text(json.dumps({"as_of": "2026-12-07", "accounts": [], "bids": [
        {"bank": "甲", "rate_percent": "1.60", "operating_score": "0", "agri_support_score": "0"},
        {"bank": "乙", "rate_percent": "1.0001", "operating_score": "0", "agri_support_score": "0"}]}), encoding="utf-8")  # fmt: skip
    assert json.loads(run_tender(path, "--json")[1])["ranking"][1] == {
        "bank": "乙", "score": "50.01", "rate_percent": "1.0001", "rate_points": "50.01", "operating_score": "0",
        "agri_support_score": "0"}  # fmt: skip


@pytest.mark.parametrize(("text", "says"), [
    ('{"as_of": "2027-03-01",\n "accounts": [],\n "bids": [\n  {"bank": "A", "rate_percent": "1.8", "operating_score": "11", "agri_support_score": "1"}]}', "第 4 行（bids[0]）：评分不能超过 10"),
    ('{"as_of": "2027-03-01",\n "accounts": [\n  {"village": "v", "account": "a", "idle_yuan": 3000000, "idle_since": "2026-01-01"}], "bids": []}', "第 3 行（accounts[0]）：idle_yuan 应为非空字符串"),
    ('{"as_of": "2027-03-01",\n "accounts": [\n  {"village": "v", "account": "a", "idle_yuan": "1", "idle_since": "2026-01-01"},\n  {"village": "v", "account": "b", "idle_yuan": "1e9", "idle_since": "2026-01-01"}], "bids": []}', "第 4 行（accounts[1]）"),
    ('{"as_of": "2027-03-01",\n "accounts": [], "bids": [\n {"bank": "A", "rate_percent": "1.8", "operating_score": "1", "agri_support_score": "1"},\n {"bank": "A", "rate_percent": "1.9", "operating_score": "1", "agri_support_score": "1"}]}', "第 4 行（bids[1]）：银行 A 重复报价"),
    ('{"as_of": "2027-02-30", "accounts": [], "bids": []}', "第 1 行：as_of"),
    ('{"as_of": "2027-03-01",\n "rate_points": 80, "accounts": [], "bids": []}', "第 2 行：rate_points 应为 1 到 80 的整数文字"),
    ('{"as_of": "2027-03-01", "rate_points": "81", "accounts": [], "bids": []}', "第 1 行：rate_points"),
    ('{"as_of": "2027-03-01",\n "accounts": [,]}', "第 2 行：JSON 格式错误"),
])  # fmt: skip
def test_the_tender_command_exits_2_naming_the_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_tender(path, "--json")
    assert code == 2 and out == "" and says in err


async def test_the_demo_seeds_three_accounts_once(agent: EdgeAgent) -> None:
    await seed.seed(agent)
    first = await size(agent)
    await seed.seed(agent)
    assert await size(agent) == first
    async with agent.recorder.step():
        views = await desk.account_views(agent, local_today())
    said = {v.name: v.eligibility for v in views}
    assert said["村集体经济基本户"].eligible and "闲置 3,380,000.00 元" in said["村集体经济基本户"].explanation
    assert "未达 3,000,000.00 元" in said["村级留存收益专户"].explanation and "闲置 2,999,999.99 元" in said["村级留存收益专户"].explanation
    assert not said["征地补偿款专户"].eligible and "未超过 6 个月" in said["征地补偿款专户"].explanation


def test_the_config_section(tmp_path: Path) -> None:
    from edge.kernel.config import load_config
    from edge.kernel.errors import ConfigError
    from edge.modules.competitive_deposit.settings import SECTION, settings_of

    path = tmp_path / "edge.toml"
    config_for(tmp_path, "socket://127.0.0.1:9")
    base = path.read_text(encoding="utf-8")
    path.write_text(base + '\n[competitive_deposit]\nmin_idle_yuan = "5000000"\nmin_idle_months = 3\ndemand_rate_percent = "0.05"\n', encoding="utf-8")
    s = settings_of(load_config(path, [SECTION]))
    assert (s.min_idle_fen, s.min_idle_months, str(s.demand_rate_percent), s.sign_days) == (500_000_000, 3, "0.05", 3)
    for bad in ('min_idle_yuan = "-1"', "min_idle_months = 0", 'demand_rate_percent = "x"', "typo = 1"):
        path.write_text(base + f"\n[competitive_deposit]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError):
            load_config(path, [SECTION])



async def test_the_tick_looks_at_most_once_a_minute(agent: EdgeAgent) -> None:
    long_ago = str(local_today() - timedelta(days=300))
    await desk.add_account(agent, BY, ACCT, "基本户", "农商银行")
    await desk.enter_balance(agent, BY, ACCT, long_ago, "3200000", local_today())
    await desk.tick(agent)  # eligible for months, in no plan: flagged on the first look
    assert len(await agent.ledger.entries_of_kind(P.UNPLANNED)) == 1
    await desk.add_account(agent, BY, OTHER_ACCT, "专户", "农商银行")
    await desk.enter_balance(agent, BY, OTHER_ACCT, long_ago, "3500000", local_today())
    await desk.tick(agent)  # the agent's next pass, within the minute: no look
    assert len(await agent.ledger.entries_of_kind(P.UNPLANNED)) == 1
    assert await desk.check_due(agent, local_today()) == [P.UNPLANNED]  # what the next look will record
