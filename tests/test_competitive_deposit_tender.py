"""The monthly competitive-deposit tender at the central (issue 18), on SQLite and PostgreSQL: a county officer
announces it from the villages' waiting plans; only approved banks of that county bid, inside the window, a
well-formed rate, once per lot, never seeing a rival's bid; the officer's scores go in before opening only;
opening scores with the edge module's own rules and records every input; each award goes down to its village as
the signed document the edge's module records. The last test walks the whole path over the real sync."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from central_accounts_support import CODES, OTHER_COUNTY, PASSWORD, PNG, Clock, form_token, login
from central_support import COUNTY, TOWNSHIP, VILLAGE, db_url, enrol, store  # noqa: F401 - fixtures
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from edge_support import config_for
from sqlalchemy import select
from test_competitive_deposit import run_tender

from central.accounts.store import AccountStore
from central.app import create_app
from central.db import documents
from central.decisions.log import DecisionLog
from central.modules.competitive_deposit import CENTRAL_COMPETITIVE_DEPOSIT
from central.modules.competitive_deposit import tender as T
from central.modules.competitive_deposit.tables import bids, plans
from central.modules.competitive_deposit.web import tender_path
from central.store import CentralStore, Principal
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings
from edge.kernel.documents import StoredDocument
from edge.kernel.sync import SyncClient
from edge.ledger import Entry
from edge.modules.competitive_deposit import COMPETITIVE_DEPOSIT, desk, rules
from edge.modules.competitive_deposit import projection as P
from edge.seal.part import SEAL

D = date.fromisoformat
START = 1_796_083_200.0  # 2026-12-01 08:00 in Shanghai
OPENS, CLOSES = 1_796_173_200.0, 1_796_634_000.0  # 2026-12-02 09:00 and 2026-12-07 17:00 in Shanghai
TENDER = f"CDT-{COUNTY}-2026-12"
PDF = b"%PDF-1.4\n" + b"0" * 300
BANKS = {"ruian-bank": "瑞安农商银行", "xiaoshan-bank": "萧山农商银行"}


@dataclasses.dataclass
class Site:
    store: CentralStore
    decisions: DecisionLog
    app: Any
    clock: Clock
    stack: AsyncExitStack

    async def as_user(self, username: str) -> httpx.AsyncClient:
        client = await self.stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://central")
        )
        assert (await login(client, username)).status_code == 303
        USERS[id(client)] = username
        return client

    async def decisions_of(self, kind: str) -> list[Entry]:
        return [e for e in await self.decisions.ledger.entries() if e.kind == kind]

    async def bid_rows(self) -> list[Any]:
        async with self.store.db.reader.connect() as conn:
            return list(await conn.execute(select(bids).order_by(bids.c.decision_index)))


async def bank(accounts: AccountStore, username: str, code: str, county: str = COUNTY, approve: bool = True,
               name: str | None = None) -> None:  # fmt: skip
    """A bank's application through the accounts store; approved by its county's officer when ``approve``."""
    found = await accounts.apply(
        kind="bank", username=username, password=PASSWORD, org_name=name or BANKS.get(username, f"{username} 银行"),
        credit_code=code, county=county, contact_name="王经理", contact_phone="13800001234", categories=[],
        licence=PNG,
    )  # fmt: skip
    if approve:
        await accounts.decide("county", county, found.id, True, "", "test")


@pytest_asyncio.fixture
async def site(store: CentralStore, tmp_path: Path) -> AsyncIterator[Site]:  # noqa: F811
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    app = create_app(store, parts=(CENTRAL_COMPETITIVE_DEPOSIT,), decisions=decisions)
    clock = Clock()
    clock.now = START
    app.state.shell.clock = clock
    accounts = AccountStore(store.db, clock)
    await accounts.create_staff(
        "county1", "县农业局张科长", "county_officer", f"county:{COUNTY}", PASSWORD, "test", own_password=True
    )
    await accounts.create_staff(
        "county2", "余杭区李科长", "county_officer", f"county:{OTHER_COUNTY}", PASSWORD, "test", own_password=True
    )
    await bank(accounts, "ruian-bank", CODES[0])
    await bank(accounts, "xiaoshan-bank", CODES[1])
    await bank(accounts, "pending-bank", CODES[2], approve=False)
    await bank(accounts, "yuhang-bank", CODES[3], county=OTHER_COUNTY)
    async with AsyncExitStack() as stack:
        try:
            yield Site(store, decisions, app, clock, stack)
        finally:
            await stack.aclose()
            await decisions.close()


# -- helpers: plans at the central, the officer's and the banks' forms ------------------------------------------


async def enrolled_village(site: Site, edge_id: str, village: str) -> None:
    pem = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    await site.store.enrol_edge(edge_id, village, TOWNSHIP, COUNTY, pem.decode())


async def plan(site: Site, edge_id: str, village: str, plan_id: str, amount_fen: int, term: int = 12) -> None:
    """A plan as the central keeps it once the village's edge sent it up (the sync's path is the last test's)."""
    async with site.store.db.writer.begin() as conn:
        await conn.execute(plans.insert().values(
            edge_id=edge_id, plan_id=plan_id, village=village, township=TOWNSHIP, county=COUNTY, month="2026-11",
            account_name="村集体经济基本户", amount_fen=amount_fen, term_months=term, meeting_date="2026-11-18",
            idle_fen=amount_fen, idle_since="2026-03-15", edge_index=5, status="planned", late=False,
        ))  # fmt: skip


USERS: dict[int, str] = {}  # a logged-in test client's username


async def csrf(client: httpx.AsyncClient) -> str:
    """The session's CSRF token; logged in again when the test's clock moved past the session's life (days)."""
    page = await client.get("/account")
    if page.status_code == 303:
        assert (await login(client, USERS[id(client)])).status_code == 303
        page = await client.get("/account")
    return form_token(page)


async def view(client: httpx.AsyncClient, path: str) -> httpx.Response:
    await csrf(client)
    return await client.get(path)


async def announce(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    data = {"month": "2026-12", "opens_at": "2026-12-02T09:00", "closes_at": "2026-12-07T17:00", "rate_points": "80",
            "sign_days": "3", "csrf": await csrf(client), **fields}  # fmt: skip
    return await client.post("/m/competitive_deposit/tenders", data=data)


async def place(client: httpx.AsyncClient, lot: int | str, rate: str, tender: str = TENDER) -> httpx.Response:
    path = f"/m/competitive_deposit/tenders/{tender}/bids"
    return await client.post(path, data={"lot": str(lot), "rate": rate, "csrf": await csrf(client)})


async def score(
    client: httpx.AsyncClient, username: str, operating: str, agri: str, source: bytes = PDF
) -> httpx.Response:
    return await client.post(
        f"/m/competitive_deposit/tenders/{TENDER}/scores",
        data={"bank": username, "operating": operating, "agri": agri, "csrf": await csrf(client)},
        files={"source": ("人行评价数据.pdf", source, "application/pdf")},
    )


async def open_tender(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(f"/m/competitive_deposit/tenders/{TENDER}/open", data={"csrf": await csrf(client)})


async def announced(site: Site) -> httpx.AsyncClient:
    """Two villages' plans in one announced tender; the county officer's client."""
    await enrolled_village(site, "village-a", VILLAGE)
    await enrolled_village(site, "village-b", "黄岭村")
    await plan(site, "village-a", VILLAGE, "CD-2026-001", 320_000_000)
    await plan(site, "village-b", "黄岭村", "CD-2026-001", 500_000_000, term=24)
    officer = await site.as_user("county1")
    made = await announce(officer)
    assert made.status_code == 303 and made.headers["location"] == tender_path(TENDER)
    return officer


def shown(page: httpx.Response) -> str:
    """A page's text without tags, for reading what it says."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))


# -- tests -----------------------------------------------------------------------------------------------------------


async def test_the_announcement_is_a_decision_with_lots_rule_and_window(site: Site) -> None:
    officer = await announced(site)
    (entry,) = await site.decisions_of(T.TENDER)
    body = entry.body["decision"]
    assert entry.body["actor"] == "county_officer:county1"
    assert [(lot["lot"], lot["village"], lot["amount_fen"], lot["term_months"]) for lot in body["lots"]] == [
        (1, VILLAGE, 320_000_000, 12), (2, "黄岭村", 500_000_000, 24)]  # fmt: skip
    assert body["rate_points"] == "80" and "80 × 报价利率 ÷ 最高有效报价利率" in body["rule"]
    assert body["bid_window"] == {"opens_at": "2026-12-02T01:00:00+00:00", "closes_at": "2026-12-07T09:00:00+00:00"}
    page = await officer.get(f"/m/competitive_deposit/tenders/{TENDER}")
    assert "报价时间：2026-12-02 09:00 至 2026-12-07 17:00" in shown(page)
    assert shown(await officer.get("/m/competitive_deposit")).count("招标中") == 2  # both plans, on the overview
    again = await announce(officer)  # one tender a month; the plans are taken anyway
    assert again.status_code == 409 and "已经发起" in again.text
    bad = await announce(officer, month="2026-13")
    assert bad.status_code == 400 and "招标月份应为 YYYY-MM" in bad.text
    backwards = await announce(officer, month="2027-01", closes_at="2026-12-01T09:00")
    assert backwards.status_code == 400 and "截止时间应晚于开始时间" in backwards.text
    assert len(await site.decisions_of(T.TENDER)) == 1
    # The township's discipline officer watches the county's tender of its villages (and cannot score or open it);
    # another township's officer does not see it.
    accounts = AccountStore(site.store.db, site.clock)
    for username, township in (("hezhen", TOWNSHIP), ("puyang", "浦阳镇")):
        await accounts.create_staff(
            username, "镇纪检", "township_officer", f"township:{COUNTY}/{township}", PASSWORD, "test", own_password=True
        )
    hezhen, puyang = await site.as_user("hezhen"), await site.as_user("puyang")
    watched = await hezhen.get(f"/m/competitive_deposit/tenders/{TENDER}")
    assert watched.status_code == 200 and "报价时间" in watched.text and 'id="open-form"' not in watched.text
    assert TENDER in (await hezhen.get("/m/competitive_deposit/tenders")).text
    assert (await open_tender(hezhen)).status_code == 403
    assert (await puyang.get(f"/m/competitive_deposit/tenders/{TENDER}")).status_code == 404
    assert TENDER not in (await puyang.get("/m/competitive_deposit/tenders")).text


async def test_only_approved_banks_of_the_county_see_and_bid_and_never_a_rivals_bid(site: Site) -> None:
    await announced(site)
    site.clock.now = OPENS
    ruian, xiaoshan = await site.as_user("ruian-bank"), await site.as_user("xiaoshan-bank")
    assert (await place(ruian, 1, "1.85")).status_code == 303
    # A rival sees the tender, its own bid once it made one, and nothing of ruian's.
    before = await xiaoshan.get(f"/m/competitive_deposit/tenders/{TENDER}")
    assert before.status_code == 200 and "1.85" not in before.text and "瑞安" not in before.text
    assert (await place(xiaoshan, 1, "1.9")).status_code == 303
    mine = shown(await xiaoshan.get(f"/m/competitive_deposit/tenders/{TENDER}"))
    assert "本行报价：1.9%" in mine and "1.85" not in mine
    assert "1.9" not in (await ruian.get(f"/m/competitive_deposit/tenders/{TENDER}")).text
    officer_page = shown(await view(await site.as_user("county1"), f"/m/competitive_deposit/tenders/{TENDER}"))
    assert "已收到密封报价 2 份" in officer_page and "1.85" not in officer_page and "1.9" not in officer_page
    # The officer's pages are not a bank's: it is sent to its own work list.
    peek = await ruian.get(f"/m/competitive_deposit/tenders/{TENDER}/scores/ruian-bank/source")
    assert peek.status_code == 303 and peek.headers["location"] == "/work"
    # The decision log holds only commitments until opening.
    sealed = await site.decisions_of(T.BID)
    assert len(sealed) == 2 and all("rate_percent" not in e.body["decision"] for e in sealed)
    assert "1.85" not in json.dumps([e.body for e in sealed])

    pending = await site.as_user("pending-bank")  # not approved yet: refused, with why
    refused = await place(pending, 1, "2.0")
    assert refused.status_code == 403 and "尚未获批准" in refused.text
    assert (await pending.get(f"/m/competitive_deposit/tenders/{TENDER}")).status_code == 403
    yuhang = await site.as_user("yuhang-bank")  # another county's bank: not its tender
    assert (await yuhang.get(f"/m/competitive_deposit/tenders/{TENDER}")).status_code == 404
    assert (await place(yuhang, 1, "2.5")).status_code == 404
    assert TENDER not in (await yuhang.get("/m/competitive_deposit/tenders")).text
    forged = await ruian.post(
        f"/m/competitive_deposit/tenders/{TENDER}/bids", data={"lot": "2", "rate": "2.5", "csrf": "x" * 43}
    )
    assert forged.status_code == 403  # another site's form: no bid
    twice = await place(ruian, 1, "2.5")
    assert twice.status_code == 409 and "只报价一次" in twice.text
    for bad, why in (
        ("abc", "利率应为百分数"),
        ("0", "利率应大于 0"),
        ("1.123456", "最多四位小数"),
        ("-1", "利率应为百分数"),
        ("１.８", "利率应为百分数"),
    ):
        answer = await place(ruian, 2, bad)
        assert answer.status_code == 400 and why in answer.text, bad
    assert (await place(ruian, 9, "1.8")).status_code == 400  # no such lot

    # A bank disabled by the administrator: its session ends, and its bank is refused even under a live principal.
    token = await csrf(xiaoshan)
    await AccountStore(site.store.db, site.clock).set_disabled("xiaoshan-bank", True)
    gone = await xiaoshan.post(
        f"/m/competitive_deposit/tenders/{TENDER}/bids", data={"lot": "2", "rate": "1.8", "csrf": token}
    )
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    async with site.store.db.reader.connect() as conn:
        try:
            await T.bank_of(conn, Principal("self", "xiaoshan-bank", "萧山农商银行", "bank", "xiaoshan-bank"))
            raise AssertionError("a disabled bank was taken")
        except T.Refusal as exc:
            assert "已停用" in exc.reason
    assert [(r.bank, r.lot, r.rate_percent) for r in await site.bid_rows()] == [
        ("ruian-bank", 1, "1.85"),
        ("xiaoshan-bank", 1, "1.9"),
    ]


async def test_the_window_opens_at_its_start_and_closes_at_its_end(site: Site) -> None:
    await announced(site)
    ruian, xiaoshan = await site.as_user("ruian-bank"), await site.as_user("xiaoshan-bank")
    site.clock.now = OPENS - 1
    early = await place(ruian, 1, "1.85")
    assert early.status_code == 409 and "报价尚未开始（2026-12-02 09:00 开始）" in early.text
    site.clock.now = OPENS
    assert (await place(ruian, 1, "1.85")).status_code == 303
    site.clock.now = CLOSES - 1
    assert (await place(ruian, 2, "1.80")).status_code == 303
    site.clock.now = CLOSES
    late = await place(xiaoshan, 1, "2.20")
    assert late.status_code == 409 and "报价已于 2026-12-07 17:00 截止，不再接受报价" in late.text
    assert [(r.bank, r.lot) for r in await site.bid_rows()] == [("ruian-bank", 1), ("ruian-bank", 2)]


async def test_scores_go_in_before_opening_only_and_only_by_the_officer(site: Site) -> None:
    officer = await announced(site)
    site.clock.now = OPENS
    ruian = await site.as_user("ruian-bank")
    await place(ruian, 1, "1.85")
    self_scored = await score(ruian, "ruian-bank", "10", "10")  # a bank scoring itself
    assert self_scored.status_code == 403
    other = await site.as_user("county2")  # another county's officer
    assert (await score(other, "ruian-bank", "9", "9")).status_code == 403
    for operating, agri, source, why in (("11", "8", PDF, "不能超过 10"), ("8.123", "8", PDF, "最多两位小数"),
                                         ("8", "8", b"MZ\x90\x00", "须为 PDF、JPG 或 PNG"), ("8", "8", b"", "请上传评分依据")):  # fmt: skip
        answer = await score(officer, "ruian-bank", operating, agri, source)
        assert answer.status_code == 400 and why in answer.text, why
    assert (await score(officer, "yuhang-bank", "8", "8")).status_code == 400  # not a bank of this county
    early = await open_tender(officer)
    assert early.status_code == 409 and "报价截止（2026-12-07 17:00）前不能开标" in early.text
    site.clock.now = CLOSES
    unscored = await open_tender(officer)
    assert unscored.status_code == 409 and "瑞安农商银行" in unscored.text
    assert (await score(officer, "ruian-bank", "8.5", "9")).status_code == 303  # after the window, before opening
    source = await view(officer, f"/m/competitive_deposit/tenders/{TENDER}/scores/ruian-bank/source")
    assert source.status_code == 200 and source.content == PDF
    assert (await open_tender(officer)).status_code == 303
    after = await score(officer, "ruian-bank", "10", "10")
    assert after.status_code == 409 and "已开标，评分不能再录入或修改" in after.text
    (scored,) = await site.decisions_of(T.SCORES)
    assert scored.body["decision"]["operating_score"] == "8.5"
    assert (await open_tender(officer)).status_code == 409  # once


async def test_opening_scores_with_the_rules_and_records_every_input(site: Site, tmp_path: Path) -> None:
    officer = await announced(site)
    site.clock.now = OPENS
    ruian, xiaoshan = await site.as_user("ruian-bank"), await site.as_user("xiaoshan-bank")
    # Lot 1: xiaoshan's higher rate against ruian's better scores; lot 2: equal totals, so the higher rate wins.
    await place(xiaoshan, 1, "1.95")
    await place(ruian, 1, "1.85")
    await place(ruian, 2, "2.00")
    await place(xiaoshan, 2, "1.90")
    assert (await ruian.get(f"/m/competitive_deposit/tenders/{TENDER}/result.json")).status_code == 404  # not opened
    anyone = await site.stack.enter_async_context(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=site.app), base_url="http://central")
    )  # no login: the public's announcement, with the count of sealed bids and no rate
    public = shown(await anyone.get(f"/m/competitive_deposit/public/{TENDER}"))
    assert "3,200,000.00 元 · 12 个月" in public and "已收到密封报价 2 份" in public and "1.95" not in public
    assert TENDER in (await anyone.get("/m/competitive_deposit/public")).text
    assert (await anyone.get(f"/m/competitive_deposit/public/{TENDER}/result.json")).status_code == 404
    site.clock.now = CLOSES + 60
    await score(officer, "ruian-bank", "9.5", "9")
    await score(officer, "xiaoshan-bank", "7", "7.4")
    assert (await open_tender(officer)).status_code == 303
    (result,) = await site.decisions_of(T.RESULT)
    body = result.body["decision"]
    scores_of = {s["bank"]: s for s in body["scores"]}
    for lot in body["lots"]:  # the ranking is rules.score_bids over the recorded inputs, recomputed here
        expected = rules.score_bids([
            rules.Bid(b["bank"], Decimal(b["rate_percent"]), Decimal(scores_of[b["bank"]]["operating_score"]),
                      Decimal(scores_of[b["bank"]]["agri_support_score"]), b["sealed_index"]) for b in lot["bids"]
        ])  # fmt: skip
        assert [(r["bank"], r["score"]) for r in lot["ranking"]] == [(s.bank, str(s.score)) for s in expected]
        for b in lot["bids"]:  # each rate is the one sealed before the window closed
            (bid,) = [e for e in await site.decisions_of(T.BID) if e.index == b["sealed_index"]]
            assert bid.body["decision"]["sealed"] == T.sealed(
                TENDER, lot["lot"], b["bank"], b["rate_percent"], b["salt"]
            )
    for lot in body["lots"]:  # and by the published command, fed the result's own inputs in bid order
        command_input = {"as_of": body["notice_date"], "accounts": [], "bids": [
            {"bank": b["bank"], "rate_percent": b["rate_percent"], "operating_score": scores_of[b["bank"]]["operating_score"],
             "agri_support_score": scores_of[b["bank"]]["agri_support_score"]} for b in lot["bids"]]}  # fmt: skip
        (tmp_path / "tender.json").write_text(json.dumps(command_input, ensure_ascii=False), encoding="utf-8")
        code, out, _ = run_tender(tmp_path / "tender.json", "--json")
        assert code == 0 and [(r["bank"], r["rate_points"], r["score"]) for r in json.loads(out)["ranking"]] == [
            (r["bank"], r["rate_points"], r["score"]) for r in lot["ranking"]
        ]
    published = await view(ruian, f"/m/competitive_deposit/tenders/{TENDER}/result.json")  # what a bank downloads
    assert (
        published.status_code == 200
        and published.json()["result"] == body
        and published.json()["decision_index"] == result.index
    )
    lot1, lot2 = body["lots"]
    # 80 × 1.85 / 1.95 = 75.897…; + 18.5 = 94.40 for ruian; xiaoshan 80 + 14.4 = 94.40: equal, the higher rate wins.
    assert [(r["bank"], r["score"]) for r in lot1["ranking"]] == [("xiaoshan-bank", "94.40"), ("ruian-bank", "94.40")]
    assert lot1["winner"] == "萧山农商银行"
    # 80 + 18.5 = 98.50 for ruian; 80 × 1.90 / 2.00 = 76 + 14.4 = 90.40 for xiaoshan.
    assert [(r["bank"], r["score"]) for r in lot2["ranking"]] == [("ruian-bank", "98.50"), ("xiaoshan-bank", "90.40")]
    awards = await site.decisions_of(T.AWARD)
    assert [(e.body["village"], e.body["decision"]) for e in awards] == [
        ("village-a", {"plan_id": "CD-2026-001", "tender_id": TENDER, "bank": "萧山农商银行", "rate_percent": "1.95",
                       "amount_fen": 320_000_000, "term_months": 12, "notice_date": "2026-12-07", "sign_days": 3}),
        ("village-b", {"plan_id": "CD-2026-001", "tender_id": TENDER, "bank": "瑞安农商银行", "rate_percent": "2.00",
                       "amount_fen": 500_000_000, "term_months": 24, "notice_date": "2026-12-07", "sign_days": 3}),
    ]  # fmt: skip
    # Published once opened: each bank now reads the ranking with every bank's rate and score, and so does anyone.
    page = shown(await view(ruian, f"/m/competitive_deposit/tenders/{TENDER}"))
    assert "萧山农商银行 1.95 80.00 7 7.4 94.40" in page and "已中标：瑞安农商银行 2.00%" in page
    public = shown(await anyone.get(f"/m/competitive_deposit/public/{TENDER}"))
    assert "萧山农商银行 1.95 80.00 7 7.4 94.40" in public and "瑞安农商银行 9.5 9" in public
    assert (await anyone.get(f"/m/competitive_deposit/public/{TENDER}/result.json")).json()["result"] == body
    assert (await anyone.get("/m/competitive_deposit/public/CDT-nowhere-2026-12")).status_code == 404


# -- the whole path over the real sync ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Village:
    agent: EdgeAgent
    client: SyncClient
    plan_id: str = ""


async def village(site: Site, tmp_path: Path, edge_id: str, name: str, township: str) -> Village:
    key = site.decisions.public_key()["public_key"]
    config = config_for(tmp_path / edge_id, "socket://127.0.0.1:9")
    config = dataclasses.replace(config, central=CentralSettings("http://central", edge_id, decision_key=key))
    agent = await EdgeAgent.open(config, parts=(SEAL, COMPETITIVE_DEPOSIT))
    site.stack.push_async_callback(agent.close)
    await enrol(site.store, edge_id, agent.config.data_dir, village=name, township=township)

    async def record(kind: str, body: dict[str, Any]) -> Entry:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    client = SyncClient(agent.ledger, "http://central", edge_id, transport=httpx.ASGITransport(app=site.app), record=record,
                        decision_key=key, document_kinds=COMPETITIVE_DEPOSIT.from_central)  # fmt: skip
    site.stack.push_async_callback(client.stop)
    return Village(agent, client)


async def test_two_villages_plans_a_tender_two_banks_scores_opening_and_the_awards_recorded_by_the_villages(
    site: Site, tmp_path: Path
) -> None:
    minutes = StoredDocument("b" * 64, "纪要.pdf", 2048)
    qinglian = await village(site, tmp_path, "qinglian-cun", VILLAGE, TOWNSHIP)
    baishi = await village(site, tmp_path, "baishi-cun", "黄岭村", "浦阳镇")
    for v, amount in ((qinglian, "3200000"), (baishi, "5000000")):
        await desk.add_account(v.agent, "wukuaiji", "6228480012345678", "村集体经济基本户", "瑞安农商银行")
        await desk.enter_balance(v.agent, "wukuaiji", "6228480012345678", "2026-03-15", amount, D("2026-03-15"))
        check = desk.check_plan("6228480012345678", amount, "12", "2026-11-18", D("2026-11-20"))
        v.plan_id = await desk.record_plan(v.agent, "wukuaiji", check, minutes)
        await v.client.sync_once()  # up: the plan joins the county's plans
    officer = await site.as_user("county1")
    waiting = shown(await officer.get("/m/competitive_deposit/tenders"))
    assert f"{VILLAGE} {qinglian.plan_id} 村集体经济基本户 3,200,000.00" in waiting and "黄岭村" in waiting
    assert (await announce(officer)).status_code == 303
    site.clock.now = OPENS + 3600
    ruian, xiaoshan = await site.as_user("ruian-bank"), await site.as_user("xiaoshan-bank")
    for client, rates in ((ruian, ("1.85", "1.90")), (xiaoshan, ("1.80", "2.05"))):
        for lot, rate in enumerate(rates, 1):
            assert (await place(client, lot, rate)).status_code == 303
    site.clock.now = CLOSES
    assert (await score(officer, "ruian-bank", "9", "9")).status_code == 303
    assert (await score(officer, "xiaoshan-bank", "8", "8")).status_code == 303
    assert (await open_tender(officer)).status_code == 303
    page = shown(await view(officer, f"/m/competitive_deposit/tenders/{TENDER}"))
    assert "中标：瑞安农商银行 1.85%" in page and "中标：萧山农商银行 2.05%" in page

    for v, bank_name, rate, amount in (
        (qinglian, "瑞安农商银行", "1.85", 320_000_000),
        (baishi, "萧山农商银行", "2.05", 500_000_000),
    ):
        down = await v.client.sync_once()
        assert (down.documents_applied, down.documents_refused) == (1, 0)
        async with v.agent.recorder.step():
            row = await P.plan_row(v.agent.db.conn, v.plan_id)
        assert row is not None
        assert (row["status"], row["tender_id"], row["bank"], row["rate_percent"], row["awarded_fen"], row["sign_by"]) == (
            "awarded", TENDER, bank_name, rate, amount, "2026-12-10")  # fmt: skip
        await v.client.sync_once()  # the award's entry goes up: the document is settled, the plan followed
    async with site.store.db.reader.connect() as conn:
        assert sorted(r.status for r in await conn.execute(select(documents))) == ["applied", "applied"]
        assert sorted((r.village, r.status, r.bank) for r in await conn.execute(select(plans))) == [
            (VILLAGE, "awarded", "瑞安农商银行"), ("黄岭村", "awarded", "萧山农商银行")]  # fmt: skip


async def test_my_work_lists_the_plans_to_tender_the_lots_to_bid_and_the_tender_to_open(site: Site) -> None:
    await enrolled_village(site, "village-a", VILLAGE)
    await plan(site, "village-a", VILLAGE, "CD-2026-001", 320_000_000)
    officer = await site.as_user("county1")
    assert "待招标的存放计划 1 个" in shown(await officer.get("/work"))
    assert (await announce(officer)).status_code == 303
    assert "待招标的存放计划" not in shown(await officer.get("/work"))
    ruian = await site.as_user("ruian-bank")
    assert "待报价" not in shown(await ruian.get("/work"))  # before the window
    site.clock.now = OPENS
    assert f"存款招标 {TENDER}：1 个标段待报价" in shown(await view(ruian, "/work"))
    await place(ruian, 1, "1.85")
    assert "待报价" not in shown(await ruian.get("/work"))
    assert "待报价" not in shown(await (await site.as_user("yuhang-bank")).get("/work"))  # another county's bank
    site.clock.now = CLOSES
    assert f"待开标：{TENDER}" in shown(await view(officer, "/work"))
    assert "待开标" not in shown(await (await site.as_user("county2")).get("/work"))
