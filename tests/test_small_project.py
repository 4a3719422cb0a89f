"""Small projects on the village edge, through the desk: the catalogue comes down as a signed document (a
forged or foreign one is refused), a project is filed with its bill priced from it (the limit, a line above the
guide price), and approved along the route of its category (out of order, off the route, one's own project:
refused and on record); every accepted step is a ledger entry the working state is rebuilt from."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from edge_support import write_config
from web_support import Api, seed_account

from edge.agent import EdgeAgent
from edge.kernel.accounts import Actor
from edge.kernel.central import DocumentInbox
from edge.kernel.config import load_config
from edge.kernel.db import DB_FILENAME
from edge.kernel.errors import ConfigError, InputError, Refused
from edge.kernel.websettings import WebSettings
from edge.ledger.decisiondoc import DOCUMENT_REFUSED, sign_document
from edge.modules.small_project import SMALL_PROJECT, demo, desk, rules
from edge.modules.small_project import kinds as K
from edge.modules.small_project import projection as P
from edge.modules.small_project.rules import BillLine
from edge.modules.small_project.settings import SECTION
from edge.seal.part import SEAL
from edge.web.app import create_app
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore

PARTS = (SEAL, SMALL_PROJECT)
CENTRAL_KEY = Ed25519PrivateKey.generate()
EDGE_ID = "qinglian-cun"
D = date.fromisoformat
ROUTES = """
[small_project]
limit_yuan = "400000.00"

[[small_project.routes]]
name = "道路水利"
categories = ["道路", "水利"]
mode = "chain"
approvers = ["zhangwei", "chenjing"]

[[small_project.routes]]
name = "其他"
categories = ["绿化"]
mode = "n_of_m"
n = 1
approvers = ["zhaolei", "wangfang"]
township = ["zhenshen", "zhenzhang"]
"""
CATALOGUE = {"version": "2026-2", "effective": "2026-07-01", "items": [
    {"code": "R01", "name": "C25 混凝土路面（厚 20cm）", "unit": "平方米", "price_fen": 12_000},
    {"code": "R02", "name": "路缘石安装", "unit": "米", "price_fen": 8_550},
    {"code": "X99", "name": "整体包干", "unit": "项", "price_fen": 50_000_000},
]}  # fmt: skip
CLERK = Actor("cunwu", None, frozenset({"village_staff"}))


def actor(agent: EdgeAgent, person: str, *roles: str) -> Actor:
    return Actor(f"acct-{person}", agent.config.people[person], frozenset(roles or ("approver",)))


@pytest.fixture
async def agent(tmp_path: Path) -> Any:
    path = write_config(tmp_path, "socket://127.0.0.1:9")
    path.write_text(path.read_text(encoding="utf-8") + ROUTES, encoding="utf-8")
    opened = await EdgeAgent.open(load_config(path, [SECTION]), parts=PARTS)
    yield opened
    await opened.close()


def catalogue_document(
    body: dict[str, Any] = CATALOGUE, signer: Ed25519PrivateKey = CENTRAL_KEY, village: str = EDGE_ID
) -> dict[str, Any]:
    return sign_document(signer, {"id": secrets.token_hex(16), "village": village, "kind": K.CATALOGUE,
                                  "issued_at": "2026-07-01T01:00:00Z", "decision_index": 3, "body": body})  # fmt: skip


async def deliver(agent: EdgeAgent, document: dict[str, Any]) -> tuple[int, int]:
    async def record(kind: str, body: dict[str, Any]) -> Any:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    inbox = DocumentInbox(CENTRAL_KEY.public_key(), EDGE_ID, SMALL_PROJECT.from_central, record)
    await inbox.load(agent.config.data_dir)
    return await inbox.take([document], await agent.ledger.size())


def draft(category: str = "道路", *lines: BillLine) -> desk.ProjectDraft:
    return desk.ProjectDraft("西岙自然村道路硬化", category, "西岙自然村", "硬化村道 300 米，宽 4 米，两侧路缘石",
                             lines or (BillLine("R01", "1200"), BillLine("R02", "600")))  # fmt: skip


async def kinds(agent: EdgeAgent, start: int) -> list[str]:
    return [e.kind for e in await agent.ledger.entries(start)]


async def test_a_catalogue_comes_down_signed_and_a_forged_or_foreign_one_is_refused(agent: EdgeAgent) -> None:
    with pytest.raises(InputError, match="尚未收到乡镇的指导价目录"):
        await desk.file_project(agent, CLERK, draft())
    forged = catalogue_document(signer=Ed25519PrivateKey.generate())
    foreign = catalogue_document(village="other-cun")
    assert await deliver(agent, forged) == (0, 1)
    assert await deliver(agent, foreign) == (0, 1)
    async with agent.recorder.step():
        assert await P.current_catalogue(agent.db.conn) is None
    assert await deliver(agent, catalogue_document()) == (1, 0)
    async with agent.recorder.step():
        found = await P.current_catalogue(agent.db.conn)
    assert found is not None and found.version == "2026-2" and found.items["R02"].price_fen == 8_550
    assert (await kinds(agent, 0)).count(DOCUMENT_REFUSED) == 2


async def test_a_catalogue_that_does_not_parse_is_an_anomaly_and_the_agent_goes_on(agent: EdgeAgent) -> None:
    bad = {**CATALOGUE, "items": [{"code": "R01", "name": "x", "unit": "m", "price_fen": -1}]}
    assert await deliver(agent, catalogue_document(bad)) == (1, 0)  # signed, so recorded; the projection refuses it
    async with agent.recorder.step():
        assert await P.current_catalogue(agent.db.conn) is None
    assert await deliver(agent, catalogue_document()) == (1, 0)
    async with agent.recorder.step():
        assert await P.current_catalogue(agent.db.conn) is not None


async def test_filing_prices_the_bill_and_the_chain_of_the_category_approves_in_order(agent: EdgeAgent) -> None:
    await deliver(agent, catalogue_document())
    start = await agent.ledger.size()
    project_id = await desk.file_project(agent, CLERK, draft())
    async with agent.recorder.step():
        row = await P.project(agent.db.conn, project_id)
    assert row is not None and row["status"] == "pending" and row["catalogue_version"] == "2026-2"
    assert row["total_fen"] == 1200 * 12_000 + 600 * 8_550 and row["flagged"] == 0
    assert row["route"] == {"rule": "道路水利", "mode": "chain", "n": 2, "approvers": ["zhangwei", "chenjing"], "township": []}
    with pytest.raises(Refused, match="应由 zhangwei 先审批"):
        await desk.decide(agent, actor(agent, "chenjing"), project_id, True)
    with pytest.raises(Refused, match="不在此申请的审批路线上"):
        await desk.decide(agent, actor(agent, "zhaolei"), project_id, True)
    assert await desk.decide(agent, actor(agent, "zhangwei"), project_id, True) is False
    assert await desk.decide(agent, actor(agent, "chenjing"), project_id, True) is True
    assert await kinds(agent, start) == [K.FILED, K.REFUSED, K.REFUSED, K.APPROVAL, K.APPROVAL, K.APPROVED]
    async with agent.recorder.step():
        row = await P.project(agent.db.conn, project_id)
    assert row is not None and row["status"] == "approved" and row["done"] == ["zhangwei", "chenjing"]
    with pytest.raises(Refused, match="不能再审批"):
        await desk.decide(agent, actor(agent, "zhangwei"), project_id, True)


async def test_one_cannot_approve_ones_own_project_and_a_veto_needs_a_reason(agent: EdgeAgent) -> None:
    await deliver(agent, catalogue_document())
    filer = actor(agent, "wangfang", "applicant", "approver")
    project_id = await desk.file_project(agent, filer, draft("绿化"))
    with pytest.raises(Refused, match="不能审批自己申报的工程"):
        await desk.decide(agent, filer, project_id, True)
    with pytest.raises(InputError, match="请填写驳回理由"):
        await desk.decide(agent, actor(agent, "zhaolei"), project_id, False)
    assert await desk.decide(agent, actor(agent, "zhaolei"), project_id, False, "路线与规划冲突，请重新选址") is False
    async with agent.recorder.step():
        row = await P.project(agent.db.conn, project_id)
    assert row is not None and row["status"] == "rejected" and row["reason"] == "路线与规划冲突，请重新选址"
    with pytest.raises(Refused, match="没有审批权限"):
        await desk.decide(agent, CLERK, project_id, True)


async def test_the_limit_a_price_above_the_guide_and_bad_input_are_refused_and_record_nothing(agent: EdgeAgent) -> None:
    await deliver(agent, catalogue_document())
    before = await agent.ledger.size()
    cases: list[tuple[desk.ProjectDraft, str]] = [
        (draft("道路", BillLine("X99", "1", 40_000_000)), "须低于限额 400,000.00 元"),
        (draft("道路", BillLine("R02", "10", 9_000)), "单价高于指导价 85.50 元，须写明理由"),
        (draft("道路", BillLine("Z01", "1")), "没有编号"),
        (draft("房建"), "工程类别应为 道路、水利、绿化 之一"),
        (desk.ProjectDraft("x\x00", "道路", "p", "s", (BillLine("R01", "1"),)), "含有控制字符"),
        (desk.ProjectDraft("", "道路", "p", "s", (BillLine("R01", "1"),)), "请填写工程名称"),
    ]
    for bad, says in cases:
        with pytest.raises(InputError, match=says):
            await desk.file_project(agent, CLERK, bad)
    with pytest.raises(Refused, match="不能办理工程事项"):
        await desk.file_project(agent, actor(agent, "zhaolei"), draft())
    assert await agent.ledger.size() == before
    project_id = await desk.file_project(agent, CLERK, draft("道路", BillLine("X99", "1", 39_999_999)))
    flagged = await desk.file_project(agent, CLERK, draft("水利", BillLine("R02", "10", 9_000, "山路二次转运")))
    async with agent.recorder.step():
        first, second = await P.project(agent.db.conn, project_id), await P.project(agent.db.conn, flagged)
    assert first is not None and first["total_fen"] == 39_999_999
    assert second is not None and second["flagged"] == 1 and second["lines"][0]["reason"] == "山路二次转运"


async def test_the_working_state_is_rebuilt_from_the_ledger(agent: EdgeAgent, tmp_path: Path) -> None:
    await deliver(agent, catalogue_document())
    project_id = await desk.file_project(agent, CLERK, draft())
    await desk.decide(agent, actor(agent, "zhangwei"), project_id, True)
    async with agent.recorder.step():
        before = await P.projects(agent.db.conn)
    config = agent.config
    await agent.close()
    (config.data_dir / DB_FILENAME).unlink()
    reopened = await EdgeAgent.open(config, parts=PARTS)
    try:
        async with reopened.recorder.step():
            assert await P.projects(reopened.db.conn) == before
    finally:
        await reopened.close()


def test_the_routes_config_is_checked(tmp_path: Path) -> None:
    path = write_config(tmp_path, "socket://127.0.0.1:9")
    base = path.read_text(encoding="utf-8")
    path.write_text(base + ROUTES.replace('categories = ["绿化"]', 'categories = ["绿化", "道路"]'), encoding="utf-8")
    with pytest.raises(ConfigError, match="类别 道路 出现在两条审批路线中"):
        load_config(path, [SECTION])
    path.write_text(base + '[small_project]\nlimit_yuan = "4000000.01"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="limit_yuan"):
        load_config(path, [SECTION])


# -- the recommended contractor, the township's draw, the opening, completion ---------------------------------

POOL = [
    {"id": f"C{i:02d}", "name": f"湖州第{i}建筑工程队", "categories": ["道路", "水利"], "blacklisted": i == 4}
    for i in range(1, 9)
]
VILLAGE_VALUE = "村民代表掷骰 4-1-6-6-2-3"  # the village's value: committed with its recommendation, revealed after the fixing
SOURCES = [f"village:{VILLAGE_VALUE}", "township:b27e03", "checkpoint:88:9be0c2"]


def draw_record(category: str = "道路", recommended: str = "C01", **over: Any) -> dict[str, Any]:
    seed = rules.combine_seed(SOURCES)
    result = rules.draw(rules.parse_pool(POOL), recommended, seed, category)
    record = {"pool": POOL, "recommended": recommended, "category": category, "seed": seed, "seed_sources": SOURCES,
              "pool_hash": result.pool_hash, "drawn": list(result.drawn)}  # fmt: skip
    return {**record, **over}


def draw_document(project_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return sign_document(CENTRAL_KEY, {"id": secrets.token_hex(16), "village": EDGE_ID, "kind": K.DRAWN,
                                       "issued_at": "2026-08-01T01:00:00Z", "decision_index": 9,
                                       "body": {"project_id": project_id, "record": record}})  # fmt: skip


def opened_document(
    project_id: str, invited: list[dict[str, str]], amounts: list[tuple[str, int]], banned: tuple[str, ...] = (),
    budget_fen: int = 19_530_000, **over: Any,
) -> dict[str, Any]:  # fmt: skip
    """The township's opening of the sealed quotes, as the central signs it (its rule: rules.opening)."""
    body = {**rules.opening(invited, amounts, banned, budget_fen), "project_id": project_id, "observer": "邻村 王书记",
            "opened_on": "2026-08-05", "blacklisted": list(banned), **over}  # fmt: skip
    return sign_document(CENTRAL_KEY, {"id": secrets.token_hex(16), "village": EDGE_ID, "kind": K.OPENED,
                                       "issued_at": "2026-08-05T01:00:00Z", "decision_index": 12, "body": body})  # fmt: skip


def fixed_document(project_id: str, **over: Any) -> dict[str, Any]:
    """The township's fixing of the draw's inputs, as the central signs it."""
    body = {"project_id": project_id, "category": "道路", "recommended": "C01", "pool": POOL,
            "pool_hash": rules.pool_hash(rules.parse_pool(POOL)), "commitment": rules.commitment_of("乡镇掷骰 5-2-2-6-1-4"),
            "village_commitment": rules.commitment_of(VILLAGE_VALUE), **over}  # fmt: skip
    return sign_document(CENTRAL_KEY, {"id": secrets.token_hex(16), "village": EDGE_ID, "kind": K.FIXED,
                                       "issued_at": "2026-07-30T01:00:00Z", "decision_index": 7, "body": body})  # fmt: skip


async def recommend_and_reveal(agent: EdgeAgent, project_id: str) -> None:
    """The village recommends C01 committing to its value; the township fixes the draw; the village reveals."""
    await desk.recommend(agent, CLERK, project_id, "C01", "湖州第1建筑工程队", VILLAGE_VALUE)
    assert await deliver(agent, fixed_document(project_id)) == (1, 0)
    await desk.reveal_value(agent, CLERK, project_id, VILLAGE_VALUE)


async def approved_project(agent: EdgeAgent) -> str:
    await deliver(agent, catalogue_document())
    project_id = await desk.file_project(agent, CLERK, draft())
    await desk.decide(agent, actor(agent, "zhangwei"), project_id, True)
    await desk.decide(agent, actor(agent, "chenjing"), project_id, True)
    return project_id


async def row_of(agent: EdgeAgent, project_id: str) -> dict[str, Any]:
    async with agent.recorder.step():
        row = await P.project(agent.db.conn, project_id)
    assert row is not None
    return row


async def test_from_the_recommended_contractor_through_the_draw_and_opening_to_settlement(agent: EdgeAgent) -> None:
    project_id = await approved_project(agent)
    await recommend_and_reveal(agent, project_id)
    record = draw_record()
    assert await deliver(agent, draw_document(project_id, record)) == (1, 0)
    row = await row_of(agent, project_id)
    drawn = record["drawn"]
    assert row["status"] == "drawn" and [c["id"] for c in row["invited"]] == ["C01", *drawn]
    assert row["total_fen"] == 19_530_000
    # The township's opening comes down; the last quote is above the budget (invalid), the lowest valid wins.
    amounts = [("C01", 19_000_000), (drawn[0], 18_500_000), (drawn[1], 19_530_001)]
    assert await deliver(agent, opened_document(project_id, row["invited"], amounts)) == (1, 0)
    row = await row_of(agent, project_id)
    assert row["winner"] == {"id": drawn[0], "name": f"湖州第{int(drawn[0][1:])}建筑工程队", "amount_fen": 18_500_000}
    assert row["status"] == "awarded" and [q["invalid"] for q in row["quotes"]] == [None, None, "报价超过预算 195,300.00 元"]
    assert await desk.complete(agent, CLERK, project_id, D("2026-10-20"), "183200.50") == {
        "vs_budget_fen": 19_530_000 - 18_320_050,
        "vs_contract_fen": 18_500_000 - 18_320_050,
    }
    row = await row_of(agent, project_id)
    assert row["status"] == "completed" and row["settled_fen"] == 18_320_050


async def test_an_opening_that_does_not_recompute_is_an_anomaly_and_none_valid_is_a_failed_tender(
    agent: EdgeAgent,
) -> None:
    project_id = await approved_project(agent)
    await recommend_and_reveal(agent, project_id)
    await deliver(agent, draw_document(project_id, draw_record()))
    invited = (await row_of(agent, project_id))["invited"]
    first = invited[1]["id"]
    amounts = [("C01", 19_000_000), (first, 18_500_000)]
    honest = opened_document(project_id, invited, amounts)["body"]
    for bad in (
        {"winner": {"id": "C01", "name": "湖州第1建筑工程队", "amount_fen": 19_000_000}},  # not the lowest
        {"blacklisted": [first]},  # the winner then was blacklisted: the stated winner does not hold
        {"quotes": [{**honest["quotes"][0], "contractor": "C99"}, honest["quotes"][1]]},  # one not invited
    ):
        assert await deliver(agent, opened_document(project_id, invited, amounts, **bad)) == (1, 0)  # signed: recorded
        assert (await row_of(agent, project_id))["status"] == "drawn"  # ... and not applied
    # Both blacklisted between the draw and the opening: both quotes invalid, no winner (流标).
    assert await deliver(agent, opened_document(project_id, invited, amounts, ("C01", first))) == (1, 0)
    row = await row_of(agent, project_id)
    assert row["status"] == "failed" and row["winner"] is None
    assert [q["invalid"] for q in row["quotes"]] == ["报价人已被列入黑名单"] * 2


async def test_the_village_commits_to_its_value_reveals_it_after_the_fixing_and_a_draw_must_use_it(
    agent: EdgeAgent,
) -> None:
    project_id = await approved_project(agent)
    with pytest.raises(InputError, match="至少 8 个字"):
        await desk.recommend(agent, CLERK, project_id, "C01", "湖州第1建筑工程队", "1234567")
    await desk.recommend(agent, CLERK, project_id, "C02", "湖州第2建筑工程队", "先推荐的另一家的随机值")
    # Before the fixing the village may recommend another (one the township found blacklisted): it replaces.
    await desk.recommend(agent, CLERK, project_id, "C01", "湖州第1建筑工程队", VILLAGE_VALUE)
    assert (await row_of(agent, project_id))["recommended"] == {"id": "C01", "name": "湖州第1建筑工程队"}
    async with agent.recorder.step():
        entry = (await agent.ledger.entries_of_kind(K.RECOMMENDED))[-1]
    assert entry.body["commitment"] == rules.commitment_of(VILLAGE_VALUE) and VILLAGE_VALUE not in str(entry.body)
    with pytest.raises(InputError, match="固定并公布抽取依据后"):  # revealed before the root exists: refused
        await desk.reveal_value(agent, CLERK, project_id, VILLAGE_VALUE)
    # A fixing that carries another commitment, recommended contractor or category: an anomaly, not kept.
    for bad in ({"village_commitment": rules.commitment_of("别的值别的值别的值")}, {"recommended": "C02"}, {"category": "水利"}):
        assert await deliver(agent, fixed_document(project_id, **bad)) == (1, 0)
    with pytest.raises(InputError, match="固定并公布抽取依据后"):
        await desk.reveal_value(agent, CLERK, project_id, VILLAGE_VALUE)
    assert await deliver(agent, fixed_document(project_id)) == (1, 0)
    with pytest.raises(InputError, match="不能再更换"):
        await desk.recommend(agent, CLERK, project_id, "C02", "湖州第2建筑工程队", "换一家换一家换一家")
    # A draw before the village revealed its value, or one whose sources leave it out: anomalies.
    assert await deliver(agent, draw_document(project_id, draw_record())) == (1, 0)
    assert (await row_of(agent, project_id))["status"] == "approved"
    with pytest.raises(InputError, match="承诺不符"):
        await desk.reveal_value(agent, CLERK, project_id, VILLAGE_VALUE + "!")
    await desk.reveal_value(agent, CLERK, project_id, VILLAGE_VALUE)
    with pytest.raises(InputError, match="已公布"):
        await desk.reveal_value(agent, CLERK, project_id, VILLAGE_VALUE)
    others = ["village:另一个值另一个值", *SOURCES[1:]]
    seed = rules.combine_seed(others)
    skipped = draw_record(seed=seed, seed_sources=others, drawn=list(rules.draw(rules.parse_pool(POOL), "C01", seed, "道路").drawn))
    assert rules.verify_draw(skipped)[1] == []  # a draw that re-runs, but not over the village's value
    assert await deliver(agent, draw_document(project_id, skipped)) == (1, 0)
    assert (await row_of(agent, project_id))["status"] == "approved"
    assert await deliver(agent, draw_document(project_id, draw_record())) == (1, 0)
    assert (await row_of(agent, project_id))["status"] == "drawn"


def township_document(project_id: str, approver: str, approve: bool = True, reason: str = "") -> dict[str, Any]:
    body = {"project_id": project_id, "approver": approver, "approve": approve, "final": False, "reason": reason}
    return sign_document(CENTRAL_KEY, {"id": secrets.token_hex(16), "village": EDGE_ID, "kind": K.TOWNSHIP_STEP,
                                       "issued_at": "2026-07-20T01:00:00Z", "decision_index": 5, "body": body})  # fmt: skip


async def test_the_township_steps_come_down_in_the_route_s_order_after_the_village_s(agent: EdgeAgent) -> None:
    await deliver(agent, catalogue_document())
    project_id = await desk.file_project(agent, CLERK, draft("绿化"))
    # A township step before the village approved it: recorded (signed), not applied.
    assert await deliver(agent, township_document(project_id, "zhenshen")) == (1, 0)
    assert (await row_of(agent, project_id))["status"] == "pending"
    assert await desk.decide(agent, actor(agent, "zhaolei"), project_id, True) is True
    row = await row_of(agent, project_id)
    assert row["status"] == "township" and row["route"]["township"] == ["zhenshen", "zhenzhang"]
    with pytest.raises(InputError, match="只能在“已批准”时进行"):  # no contractor before the township's approval
        await desk.recommend(agent, CLERK, project_id, "C01", "湖州第1建筑工程队", VILLAGE_VALUE)
    # Out of order, and someone off the route: anomalies, nothing applied.
    for wrong in ("zhenzhang", "pushen"):
        assert await deliver(agent, township_document(project_id, wrong)) == (1, 0)
    assert (await row_of(agent, project_id))["status"] == "township"
    assert await deliver(agent, township_document(project_id, "zhenshen")) == (1, 0)
    assert (await row_of(agent, project_id))["status"] == "township"
    assert await deliver(agent, township_document(project_id, "zhenshen")) == (1, 0)  # the same officer again
    assert await deliver(agent, township_document(project_id, "zhenzhang")) == (1, 0)
    assert (await row_of(agent, project_id))["status"] == "approved"
    async with agent.recorder.step():
        steps = await P.township_steps(agent.db.conn, project_id)
        anomalies = await agent.db.projection_anomalies()
    assert [s["approver"] for s in steps] == ["zhenshen", "zhenzhang"] and len(anomalies) == 4
    # Another project the township rejects: rejected, with its reason.
    second = await desk.file_project(agent, CLERK, draft("绿化"))
    await desk.decide(agent, actor(agent, "zhaolei"), second, True)
    assert await deliver(agent, township_document(second, "zhenshen", False, "与镇绿化规划重复")) == (1, 0)
    row = await row_of(agent, second)
    assert row["status"] == "rejected" and row["reason"] == "与镇绿化规划重复"


# -- the console, the lists, the demo ---------------------------------------------------------------------------


@pytest.fixture
async def site(agent: EdgeAgent) -> Any:
    store = await WebStore.open(agent.config.data_dir)
    for username, roles, person, villages in (("cunwu", ["village_staff"], None, None), ("zhangwei", ["approver"], "zhangwei", None),
                                              ("chenjing", ["approver"], "chenjing", None), ("waicun", ["village_staff"], None, ["白石村"])):  # fmt: skip
        await seed_account(store, agent, username, roles, person, villages)
    ledger = LedgerReader(agent.config.data_dir)
    transport = httpx.ASGITransport(app=create_app(Console(agent, store, WebSettings(enabled=True)), ledger))
    clients = [httpx.AsyncClient(transport=transport, base_url="http://console.test") for _ in range(5)]
    apis = [Api(c) for c in clients]
    for api, name in zip(apis, ("cunwu", "zhangwei", "chenjing", "waicun"), strict=False):
        await api.login(name)
    yield apis
    for c in clients:
        await c.aclose()
    await ledger.close()
    await store.close()


async def flash(api: Api, r: httpx.Response) -> str:
    assert r.status_code == 303, r.text
    return (await api.client.get(r.headers["location"])).text


async def test_the_path_in_the_console_and_who_may_not(agent: EdgeAgent, site: Any) -> None:
    cunwu, zhangwei, chenjing, waicun, visitor = site
    await deliver(agent, catalogue_document())
    form = {"name": "西岙自然村道路硬化", "category": "道路", "place": "西岙自然村", "scope": "硬化村道 300 米",
            "code0": "R01", "quantity0": "1200", "code1": "R02", "quantity1": "600", "price1": "86", "reason1": ""}  # fmt: skip
    before = await agent.ledger.size()
    assert "单价高于指导价 85.50 元，须写明理由" in await flash(
        cunwu, await cunwu.post("/small_project/projects", data=form)
    )
    assert (await waicun.post("/small_project/projects", data={**form, "reason1": "山路二次转运"})).status_code == 403
    assert (await waicun.client.get("/small_project")).status_code == 403
    assert (await zhangwei.post("/small_project/projects", data={**form, "reason1": "山路二次转运"})).status_code == 403
    assert (await visitor.client.get("/small_project")).status_code == 303
    assert await agent.ledger.size() == before
    page = await flash(cunwu, await cunwu.post("/small_project/projects", data={**form, "reason1": "山路二次转运"}))
    assert "已申报工程 GC-00001" in page and "⚑ 1 行高于指导价" in page and "195,600.00" in page
    inbox = (await zhangwei.client.get("/inbox")).text
    assert "限额工程：西岙自然村道路硬化" in inbox
    assert "顺序审批，应由" in (await chenjing.client.get("/small_project/p/GC-00001")).text
    assert "应由 zhangwei 先审批" in await flash(
        chenjing, await chenjing.post("/small_project/p/GC-00001/decide", data={"decision": "approve"})
    )
    assert "等待下一位审批" in await flash(
        zhangwei, await zhangwei.post("/small_project/p/GC-00001/decide", data={"decision": "approve"})
    )
    assert "审批通过" in await flash(
        chenjing, await chenjing.post("/small_project/p/GC-00001/decide", data={"decision": "approve"})
    )
    assert (
        await cunwu.post(
            "/small_project/p/GC-00001/recommend",
            data={"contractor_id": "C01", "contractor_name": "湖州第1建筑工程队", "village_value": VILLAGE_VALUE},
        )
    ).status_code == 303
    assert 'id="reveal-form"' not in (await cunwu.client.get("/small_project/p/GC-00001")).text  # not fixed yet
    await deliver(agent, fixed_document("GC-00001"))
    assert "与推荐时提交的承诺不符" in await flash(
        cunwu, await cunwu.post("/small_project/p/GC-00001/reveal", data={"village_value": VILLAGE_VALUE + "改"})
    )
    assert "已公布村随机值" in await flash(
        cunwu, await cunwu.post("/small_project/p/GC-00001/reveal", data={"village_value": VILLAGE_VALUE})
    )
    record = draw_record()
    await deliver(agent, draw_document("GC-00001", record))
    page = (await cunwu.client.get("/small_project/p/GC-00001")).text
    assert 'id="quoting"' in page and "乡镇抽取" in page and "open-form" not in page  # the village opens nothing
    public = await visitor.client.get("/small_project/p/GC-00001/draw.json")
    assert public.status_code == 200 and rules.verify_draw(public.json())[1] == []
    invited = (await row_of(agent, "GC-00001"))["invited"]
    amounts = [("C01", 19_000_000), (record["drawn"][0], 18_800_050)]
    assert await deliver(agent, opened_document("GC-00001", invited, amounts, budget_fen=19_560_000)) == (1, 0)
    assert "188,000.50" in (await cunwu.client.get("/small_project/p/GC-00001")).text
    page = await flash(
        cunwu,
        await cunwu.post("/small_project/p/GC-00001/complete", data={"accepted_on": "2026-10-20", "settled": "186000"}),
    )
    assert "较预算节约 9,600.00 元" in page
    exported = await zhangwei.client.get("/exports/small_project/projects.csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "工程名称", "类别"] and rows[1][7] == "已竣工结算" and rows[1][14] == "186,000.00"
    board = (await visitor.client.get("/board")).text
    assert "限额工程公示" in board and "西岙自然村道路硬化" in board and "186,000.00" in board and "cunwu" not in board


async def test_the_demo_seeds_once_and_its_draw_re_runs(agent: EdgeAgent) -> None:
    await demo.seed(agent)
    first = await agent.ledger.size()
    await demo.seed(agent)
    assert await agent.ledger.size() == first
    async with agent.recorder.step():
        rows = {r["name"]: r for r in await P.projects(agent.db.conn)}
    assert {r["status"] for r in rows.values()} == {"completed", "approved", "pending"}
    done = rows["西岙自然村道路硬化"]
    assert rules.verify_draw(done["draw"])[1] == [] and done["settled_fen"] == 20_688_000
    ditch = rows["村口排水沟改造"]  # waits for the township's draw (the central's demo carries it on)
    assert ditch["flagged"] == 1 and ditch["recommended"]["id"] == demo.DEMO_SUPPLIER["id"]


async def test_a_replayed_draw_is_refused_and_a_guessed_project_is_not_found(agent: EdgeAgent, site: Any) -> None:
    cunwu, zhangwei, _, _, visitor = site
    project_id = await approved_project(agent)
    await recommend_and_reveal(agent, project_id)
    document = draw_document(project_id, draw_record())
    assert await deliver(agent, document) == (1, 0)
    assert await deliver(agent, document) == (0, 1)  # the same document again: refused, on record
    assert (await row_of(agent, project_id))["status"] == "drawn"
    before = await agent.ledger.size()
    assert (await cunwu.client.get("/small_project/p/GC-99999")).status_code == 404
    assert (await visitor.client.get("/small_project/p/GC-99999/draw.json")).status_code == 404
    assert (await zhangwei.post("/small_project/p/GC-99999/decide", data={"decision": "approve"})).status_code == 404
    assert (
        await cunwu.post(
            f"/small_project/p/{project_id}/recommend",
            data={"contractor_id": "C02", "contractor_name": "x", "village_value": VILLAGE_VALUE},
        )
    ).status_code == 303
    assert await agent.ledger.size() == before


def _png() -> bytes:
    """A real photo-sized PNG (a site photo stands in), encoded by OpenCV."""
    picture = np.full((120, 160, 3), (40, 120, 200), dtype=np.uint8)
    ok, data = cv2.imencode(".png", picture)
    assert ok
    return data.tobytes()


PNG_BYTES = _png()


async def test_the_works_steps_go_on_the_notice_with_their_photos_in_order(agent: EdgeAgent, site: Any) -> None:
    cunwu, zhangwei, _, _, visitor = site
    project_id = await approved_project(agent)
    await recommend_and_reveal(agent, project_id)
    record = draw_record()
    await deliver(agent, draw_document(project_id, record))
    invited = (await row_of(agent, project_id))["invited"]
    await deliver(agent, opened_document(project_id, invited, [("C01", 19_000_000)], hotline="0572-2345678"))
    path = f"/small_project/p/{project_id}/progress"

    async def show(api: Api, stage: str, name: str, data: bytes, note: str = "合同已签，金额 190,000.00 元") -> httpx.Response:
        return await api.post(path, data={"stage": stage, "day": "2026-08-10", "note": note},
                              files={"file": (name, data, "image/png")})  # fmt: skip

    before = await agent.ledger.size()
    assert "请先公示签订的合同" in await flash(cunwu, await show(cunwu, "start", "开工.png", PNG_BYTES))
    assert "不能公示“结算”" in await flash(cunwu, await show(cunwu, "settlement", "结算.png", PNG_BYTES))
    assert "不是" in await flash(cunwu, await show(cunwu, "contract", "合同.png", b"MZ\x90\x00 not a picture"))
    assert (await show(zhangwei, "contract", "合同.png", PNG_BYTES)).status_code == 403  # an approver files nothing
    assert await agent.ledger.size() == before
    assert "已公示“签订合同”" in await flash(cunwu, await show(cunwu, "contract", "合同.png", PNG_BYTES))
    assert "已公示" in await flash(cunwu, await show(cunwu, "contract", "合同2.png", PNG_BYTES))  # twice: refused
    assert "已公示“开工”" in await flash(cunwu, await show(cunwu, "start", "开工.png", PNG_BYTES, "8 月 10 日开工"))
    assert "已公示“施工进度”" in await flash(cunwu, await show(cunwu, "progress", "进度.png", PNG_BYTES, "路基完成"))
    async with agent.recorder.step():
        shown = await P.progress_of(agent.db.conn, project_id)
    assert [s["stage"] for s in shown] == ["contract", "start", "progress"]
    notice = await visitor.client.get(f"/small_project/p/{project_id}/notice")  # no login
    assert notice.status_code == 200 and "监督热线" in notice.text and "路基完成" in notice.text
    photo = await visitor.client.get(f"/small_project/p/{project_id}/files/{shown[0]['sha256']}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png" and photo.content == PNG_BYTES
    assert (await visitor.client.get(f"/small_project/p/{project_id}/files/{'0' * 64}")).status_code == 404
    assert (await visitor.client.get(f"/small_project/p/{project_id}/files/..%2F..%2Fsecrets")).status_code == 404
    board = (await visitor.client.get("/board")).text
    assert "限额工程进度：西岙自然村道路硬化" in board and f"/small_project/p/{project_id}/notice" in board


async def test_the_next_approver_is_pushed_and_the_filer_hears_the_outcome(agent: EdgeAgent) -> None:
    await deliver(agent, catalogue_document())
    filer = actor(agent, "wangfang", "applicant", "approver")
    start = await agent.ledger.size()
    project_id = await desk.file_project(agent, filer, draft("道路"))
    await desk.decide(agent, actor(agent, "zhangwei"), project_id, True)
    await desk.decide(agent, actor(agent, "chenjing"), project_id, True)
    told = []
    async with agent.recorder.step():
        for entry in await agent.ledger.entries(start):
            told += [(n.event, n.people) for n in await SMALL_PROJECT.notices(agent, entry)]  # type: ignore[misc]
    assert told == [("awaiting_approval", ("zhangwei",)), ("awaiting_approval", ("chenjing",)),
                    ("approved", ("wangfang",))]  # fmt: skip
