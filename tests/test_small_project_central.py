"""限额工程 at the central, over the real sync: a township officer publishes the guide-price catalogue from a CSV;
it comes down to the township's village as a signed document and is the catalogue a project is priced from. Bad
files, another township's officer, a county officer and a reused version are refused and publish nothing.
The township's contractor pool and its blacklist (decisions; only the township's own officer acts); the village's
projects going up; the draw fixed, revealed, re-run by the rules and the CLI, and accepted by the village's edge,
whose quotes step is then open. SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import re
from datetime import date, datetime, timedelta
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from tables_support import xlsx
import pytest_asyncio
from central_accounts_support import OTHER_TOWNSHIP, PASSWORD, PNG, Central, Clock, csrf_of, login, staff
from central_support import COUNTY, TOWNSHIP, db_url, enrol, store  # noqa: F401 - fixtures
from edge_support import write_config

from central.accounts.demo import DemoSite, ensure_demo_accounts
from central.accounts.store import AccountStore
from central.app import create_app
from central.db import documents
from central.decisions.log import DecisionLog
from central.db import metadata
from central.modules.small_project import CENTRAL_SMALL_PROJECT, pool, projects, quotes
from central.modules.small_project import demo as central_demo
from central.store import CentralStore, Principal
from edge.agent import EdgeAgent
from edge.kernel.accounts import Actor
from edge.kernel.config import CentralSettings, load_config
from edge.kernel.sync import SyncClient
from edge.ledger import Entry
from edge.ledger.checkpoint import Checkpoint
from edge.modules.small_project import SMALL_PROJECT, desk, rules
from edge.modules.small_project import demo as edge_demo
from edge.modules.small_project import projection as P
from edge.modules.small_project.cli import register
from edge.modules.small_project.rules import BillLine, commitment_of
from edge.modules.small_project.settings import SECTION
from edge.seal.part import SEAL

EDGE = "qinglian-cun"
#: 道路 and 绿化 approved in the village only; 水利 then by two township officers at the central, in order.
ROUTES = """
[[small_project.routes]]
name = "道路"
categories = ["道路", "绿化"]
approvers = ["zhangwei"]

[[small_project.routes]]
name = "水利"
categories = ["水利"]
approvers = ["zhangwei"]
township = ["zhenshen", "zhenzhang"]
"""
CSV = (
    "编号,名称,单位,单价(元)\nDL-01,C25 混凝土路面（厚 20cm）,平方米,120.00\nDL-02,花岗岩路缘石安装,米,85.50\n".encode(
        "utf-8-sig"
    )
)


@dataclasses.dataclass
class Site:
    store: CentralStore
    app: Any
    agent: EdgeAgent
    client: SyncClient
    decisions: DecisionLog

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://central")


@pytest_asyncio.fixture
async def site(store: CentralStore, tmp_path: Path) -> AsyncIterator[Site]:  # noqa: F811
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    app = create_app(store, parts=(CENTRAL_SMALL_PROJECT,), decisions=decisions)
    key = decisions.public_key()["public_key"]
    path = write_config(tmp_path / "village", "socket://127.0.0.1:9")
    path.write_text(path.read_text(encoding="utf-8") + ROUTES, encoding="utf-8")
    config = load_config(path, [SECTION])
    config = dataclasses.replace(config, central=CentralSettings("http://central", EDGE, decision_key=key))
    agent = await EdgeAgent.open(config, parts=(SEAL, SMALL_PROJECT))
    await enrol(store, EDGE, agent.config.data_dir)

    async def record(kind: str, body: dict[str, Any]) -> Entry:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    client = SyncClient(agent.ledger, "http://central", EDGE, transport=httpx.ASGITransport(app=app), record=record,
                        decision_key=key, document_kinds=SMALL_PROJECT.from_central)  # fmt: skip
    for username, role, scope in (("zhenshen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}"),
                                  ("zhenzhang", "township_officer", f"township:{COUNTY}/{TOWNSHIP}"),
                                  ("zhenwai", "township_officer", f"township:{COUNTY}/{TOWNSHIP}"),
                                  ("pushen", "township_officer", f"township:{COUNTY}/{OTHER_TOWNSHIP}"),
                                  ("xianjian", "county_officer", f"county:{COUNTY}")):  # fmt: skip
        await staff(Central(store, app, Clock()), username, role, scope)
    try:
        yield Site(store, app, agent, client, decisions)
    finally:
        await client.stop()
        await agent.close()
        await decisions.close()


async def post(
    client: httpx.AsyncClient, data: bytes, version: str = "2026-下半年", token: str | None = None,
    filename: str = "目录.csv",
) -> httpx.Response:  # fmt: skip
    form = {
        "version": version,
        "effective": "2026-07-01",
        "csrf": token if token is not None else await csrf_of(client, "/m/small_project"),
    }
    return await client.post("/m/small_project/catalogues", data=form, files={"file": (filename, data, "text/csv")})


async def test_the_catalogue_is_also_read_from_an_xlsx_and_a_bad_one_publishes_nothing(site: Site) -> None:
    async with site.http() as officer:
        assert (await login(officer, "zhenshen")).status_code == 303
        header = ("编号", "名称", "单位", "单价(元)")
        for data, says in ((b"PK\x03\x04 not a zip", "已损坏"), (xlsx(("code", "name")), "表头"),
                           (xlsx(header, ("DL-01", "路面", "平方米", "一百")), "第 2 行单价"),
                           (xlsx(header, ("DL-01", "路面", "平方米", 0.001)), "第 2 行单价")):  # fmt: skip
            refused = await post(officer, data, filename="目录.xlsx")
            assert refused.status_code == 400 and says in refused.text
        assert await queued(site) == 0
        good = xlsx(header, ("DL-01", "C25 混凝土路面", "平方米", 120), ("DL-02", "路缘石", "米", 85.5), (None, None))
        assert (await post(officer, good, version="2027-上半年", filename="目录.XLSX")).status_code == 303
    down = await site.client.sync_once()
    assert (down.documents_applied, down.documents_refused) == (1, 0)
    async with site.agent.recorder.step():
        catalogue = await P.current_catalogue(site.agent.db.conn)
    assert catalogue is not None and catalogue.version == "2027-上半年"
    assert (catalogue.items["DL-01"].price_fen, catalogue.items["DL-02"].price_fen) == (12_000, 8_550)


async def queued(site: Site) -> int:
    async with site.store.db.reader.connect() as conn:
        return len((await conn.execute(documents.select())).all())


async def test_a_csv_saved_by_excel_in_gbk_is_read_and_a_broken_one_is_refused_in_chinese(site: Site) -> None:
    """Excel in China saves CSV as GBK; a file with NUL bytes (binary, or UTF-16) or a quote left open is
    refused with its reason in Chinese (the catalogue's own CSV reading let csv's error through as a 500)."""
    async with site.http() as officer:
        assert (await login(officer, "zhenshen")).status_code == 303
        for data, says in (("编号,名称\x00".encode(), "二进制"), ("编号,名称,单位,单价(元)\nDL-01,\"路面,平方米,12\n".encode(), "第 2 行")):
            refused = await post(officer, data)
            assert refused.status_code == 400 and says in refused.text, refused.text
            said = re.search(r'<p class="error">(.*?)</p>', refused.text)
            assert said is not None and re.search(r"[A-Za-z]{4,}", said.group(1)) is None, said  # no library English
        assert await queued(site) == 0
        gbk = "编号,名称,单位,单价(元)\r\nDL-01,C25 混凝土路面,平方米,120\r\n".encode("gbk")
        assert (await post(officer, gbk)).status_code == 303
    assert await queued(site) > 0


async def test_a_township_publishes_its_catalogue_and_the_village_prices_from_it(site: Site) -> None:
    async with site.http() as officer, site.http() as other, site.http() as county:
        for client, username in ((officer, "zhenshen"), (other, "pushen"), (county, "xianjian")):
            assert (await login(client, username)).status_code == 303
        assert 'id="publish-form"' in (await officer.get("/m/small_project")).text
        assert 'id="publish-form"' not in (await county.get("/m/small_project")).text
        # Refused, and nothing published: a county officer, no CSRF token, bad files.
        assert (await post(county, CSV, token="")).status_code == 403
        assert (await post(officer, CSV, token="wrong")).status_code == 403
        for bad, says in ((b"code,name\n1,2\n", "表头"), ("编号,名称,单位,单价(元)\nDL-01,路面,平方米,1e3\n".encode(), "第 2 行单价"),
                          ("编号,名称,单位,单价(元)\nDL-01,路面,平方米,1\nDL-01,又一个,米,2\n".encode(), "编号 DL-01 重复"), (b"\xff\xfe", "文字编码")):  # fmt: skip
            refused = await post(officer, bad)
            assert refused.status_code == 400 and says in refused.text
        assert await queued(site) == 0
        assert (await post(officer, CSV)).status_code == 303
        assert (await post(officer, CSV)).status_code == 409  # the same version again
        page = (await officer.get("/m/small_project")).text
        assert "<td>2026-下半年</td><td>2026-07-01</td><td>2</td><td>1</td><td>zhenshen</td>" in page
        assert "2026-下半年" not in (await other.get("/m/small_project")).text  # another township's
        assert (await post(other, CSV, version="浦阳-1")).status_code == 303  # a township without villages here
    assert await queued(site) == 1
    down = await site.client.sync_once()
    assert (down.documents_applied, down.documents_refused) == (1, 0)
    async with site.agent.recorder.step():
        catalogue = await P.current_catalogue(site.agent.db.conn)
    assert catalogue is not None and catalogue.version == "2026-下半年" and catalogue.items["DL-02"].price_fen == 8_550
    clerk = Actor("cunwu", None, frozenset({"village_staff"}))
    draft = desk.ProjectDraft("西岙自然村道路硬化", "道路", "西岙自然村", "硬化村道", (BillLine("DL-01", "100"),))
    project_id = await desk.file_project(site.agent, clerk, draft)
    async with site.agent.recorder.step():
        row = await P.project(site.agent.db.conn, project_id)
    assert row is not None and row["catalogue_version"] == "2026-下半年" and row["total_fen"] == 1_200_000


# -- the contractor pool, the projects going up, the draw ------------------------------------------------------

#: Unified social credit codes whose check characters hold (made for these tests).
C1, C2, C3, C4, C5 = ("91330109MA2B00001A", "91330109MA2B00002D", "91330109MA2B00003G", "91330109MA2B00004K",
                      "91330109MA2B00005N")  # fmt: skip
VALUE = "河上镇 2026-12-03 掷骰 3-6-1-4-4-2"  # the township's value, kept secret until the reveal
VILLAGE_VALUE = "青莲村村民代表 掷骰 2-5-5-1-6-3"  # the village's, committed with its recommendation


async def form(client: httpx.AsyncClient, path: str, page: str, **data: str) -> httpx.Response:
    return await client.post(path, data={**data, "csrf": await csrf_of(client, page)})


async def add(client: httpx.AsyncClient, name: str, code: str, categories: str) -> httpx.Response:
    return await form(
        client, "/m/small_project/pool", "/m/small_project/pool", name=name, code=code, categories=categories
    )


async def blacklist(client: httpx.AsyncClient, code: str, reason: str, lift: bool = False) -> httpx.Response:
    action = "unblacklist" if lift else "blacklist"
    return await form(client, f"/m/small_project/pool/{code}/{action}", "/m/small_project/pool", reason=reason)


async def supplier(site: Site, client: httpx.AsyncClient) -> None:
    """An approved supplier of the county, logged in on ``client``."""
    accounts = AccountStore(site.store.db)
    made = await accounts.apply(kind="supplier", username="jiancai", password=PASSWORD, org_name="建材有限公司",
                                credit_code=C5, county=COUNTY, contact_name="王经理", contact_phone="13812345678",
                                categories=["建材五金"], licence=PNG)  # fmt: skip
    await accounts.decide("county", COUNTY, made.id, True, "", "xianjian")
    assert (await login(client, "jiancai")).status_code == 303


async def decided(site: Site, kind: str) -> list[Entry]:
    return await site.decisions.ledger.entries_of_kind(kind)


async def test_the_pool_and_its_blacklist_are_the_township_officer_s(site: Site) -> None:
    async with site.http() as officer, site.http() as other, site.http() as county, site.http() as seller:
        for client, username in ((officer, "zhenshen"), (other, "pushen"), (county, "xianjian")):
            assert (await login(client, username)).status_code == 303
        await supplier(site, seller)
        assert (await add(officer, "湖州路桥建设有限公司", C1.lower(), "道路、水利")).status_code == 303
        # Refused and not registered: a bad code (check character), a duplicate, no category, a control character.
        for code, name, categories, status, says in ((C1[:-1] + "B", "某公司", "道路", 400, "校验位"),
                                                     (C1, "又一家", "道路", 409, "已在本乡镇库中"),
                                                     (C2, "某公司", " 、", 400, "工程类别"),
                                                     (C2, "某\x1b公司", "道路", 400, "控制字符")):  # fmt: skip
            refused = await add(officer, name, code, categories)
            assert refused.status_code == status and says in refused.text
        # Not the township's officer: a county officer and a supplier are refused; another township's officer
        # registers into their own pool only, and finds no contractor of ours to blacklist.
        assert (await add(county, "县里加的", C2, "道路")).status_code == 403
        assert (await blacklist(county, C1, "围标串标被查实")).status_code == 403
        token = await csrf_of(seller, "/work")  # the supplier's own session token: the refusal is the role's
        for path, data in (("/m/small_project/pool", {"name": "自己", "code": C5, "categories": "道路"}),
                           (f"/m/small_project/pool/{C1}/blacklist", {"reason": "供应商想拉黑对手"}),
                           (f"/m/small_project/projects/{EDGE}/GC-00001/draw", {"commitment": "0" * 64})):  # fmt: skip
            refused = await seller.post(path, data={**data, "csrf": token})
            assert refused.status_code == 403 and "无权" in refused.text
        assert (await seller.get("/m/small_project/pool")).status_code == 303  # not a page of a supplier's
        assert (await blacklist(other, C1, "围标串标被查实")).status_code == 404
        assert (await add(other, "浦阳建设", C3, "房建")).status_code == 303
        no_token = await officer.post("/m/small_project/pool", data={"name": "无令牌", "code": C4, "categories": "道路",
                                                                     "csrf": "wrong"})  # fmt: skip
        assert no_token.status_code == 403
        # The blacklist needs a reason, and is a decision; lifting it too.
        assert (await blacklist(officer, C1, "差")).status_code == 400
        assert (await blacklist(officer, C1, "2026 年 9 月围标串标被查实")).status_code == 303
        assert (await blacklist(officer, C1, "再列一次")).status_code == 409
        ours = (await officer.get("/m/small_project/pool")).text
        assert "黑名单：2026 年 9 月围标串标被查实" in ours and "浦阳建设" not in ours
        assert "湖州路桥建设有限公司" not in (await other.get("/m/small_project/pool")).text
        assert "湖州路桥建设有限公司" in (await county.get("/m/small_project/pool")).text  # the county reads
        assert (await blacklist(officer, C1, "申诉成立，撤销处理", lift=True)).status_code == 303
    registered = await decided(site, "small_project.contractor")
    assert [e.body["decision"]["id"] for e in registered] == [C1, C3]
    assert (
        registered[0].body["decision"]["categories"] == ["水利", "道路"] and registered[0].body["actor"] == "zhenshen"
    )
    assert [e.body["decision"]["reason"] for e in await decided(site, "small_project.blacklisted")] == [
        "2026 年 9 月围标串标被查实"
    ]
    assert len(await decided(site, "small_project.unblacklisted")) == 1
    assert await queued(site) == 0  # none of it goes down to a village


def run_cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="qinglian")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["projects", *argv])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = args.func(args)
    return code, out.getvalue()


async def village_project(site: Site, recommended: str) -> str:
    """The village files 道路 project and approves it, with its recommended contractor; synced up."""
    clerk = Actor("cunwu", None, frozenset({"village_staff"}))
    draft = desk.ProjectDraft("西岙自然村道路硬化", "道路", "西岙自然村", "硬化村道", (BillLine("DL-01", "100"),))
    project_id = await desk.file_project(site.agent, clerk, draft)
    await site.client.sync_once()
    approver = Actor("acct-zhangwei", site.agent.config.people["zhangwei"], frozenset({"approver"}))
    assert await desk.decide(site.agent, approver, project_id, True) is True
    await desk.recommend(site.agent, clerk, project_id, recommended, "湖州路桥建设有限公司", VILLAGE_VALUE)
    await site.client.sync_once()
    return project_id


async def village_reveals(site: Site, project_id: str) -> None:
    """The fixing comes down; the village reveals its value, which goes up."""
    down = await site.client.sync_once()
    assert down.documents_applied >= 1
    await desk.reveal_value(site.agent, Actor("cunwu", None, frozenset({"village_staff"})), project_id, VILLAGE_VALUE)
    await site.client.sync_once()


async def test_a_village_project_goes_up_the_township_draws_and_the_village_applies_the_draw(
    site: Site, tmp_path: Path
) -> None:
    async with site.http() as officer, site.http() as other, site.http() as county, site.http() as visitor:
        for client, username in ((officer, "zhenshen"), (other, "pushen"), (county, "xianjian")):
            assert (await login(client, username)).status_code == 303
        assert (await post(officer, CSV)).status_code == 303
        await site.client.sync_once()  # the catalogue comes down
        for name, code, categories in (("湖州路桥建设有限公司", C1, "道路"), ("吴兴水利工程有限公司", C2, "道路、水利"),
                                       ("织里建设有限公司", C3, "道路"), ("八里店园林有限公司", C4, "道路、绿化")):  # fmt: skip
            assert (await add(officer, name, code, categories)).status_code == 303
        project_id = await village_project(site, C1)
        # The township sees the project approved, with the village's contractor, awaiting its draw.
        assert "待抽取承包商：" in (await officer.get("/work")).text
        assert "待抽取承包商：" not in (await other.get("/work")).text
        page = (await officer.get("/m/small_project/projects")).text
        assert f"{project_id} 西岙自然村道路硬化" in page and "已批准，待抽取" in page and f"（{C1}）" in page
        assert project_id in (await county.get("/m/small_project/projects")).text
        assert project_id not in (await other.get("/m/small_project/projects")).text
        fix = f"/m/small_project/projects/{EDGE}/{project_id}/draw"
        page_path = "/m/small_project/projects"
        # The village's recommended contractor blacklisted: no draw until the village recommends another.
        assert (await blacklist(officer, C1, "围标串标被查实，列入黑名单")).status_code == 303
        refused = await form(officer, fix, page_path, commitment=commitment_of(VALUE))
        assert refused.status_code == 409 and "请村重新推荐" in refused.text
        assert (await blacklist(officer, C1, "申诉成立，撤销处理", lift=True)).status_code == 303
        # Three qualified for 道路 besides the recommended; a blacklisted one is not eligible: with two of them
        # blacklisted too few are left and the draw is refused.
        assert (await blacklist(officer, C4, "资质过期，列入黑名单")).status_code == 303
        assert (await blacklist(officer, C3, "转包被查实，列入黑名单")).status_code == 303
        too_few = await form(officer, fix, page_path, commitment=commitment_of(VALUE))
        assert too_few.status_code == 400 and "不足 2 家" in too_few.text
        assert (await blacklist(officer, C3, "整改到位，移出黑名单", lift=True)).status_code == 303
        # Not this township's officer; a bad commitment.
        assert (await form(other, fix, page_path, commitment=commitment_of(VALUE))).status_code == 404
        assert (await form(county, fix, page_path, commitment=commitment_of(VALUE))).status_code == 403
        assert (await form(officer, fix, page_path, commitment="12ab")).status_code == 400
        assert not await decided(site, "small_project.draw_fixed")
        assert (await form(officer, fix, page_path, commitment=commitment_of(VALUE))).status_code == 303
        assert (await form(officer, fix, page_path, commitment=commitment_of("另一个值另一个值"))).status_code == 409
        (fixed_entry,) = await decided(site, "small_project.draw_fixed")
        assert fixed_entry.body["decision"]["project_id"] == project_id and fixed_entry.body["village"] == EDGE
        draw_id = _draw_id((await officer.get(page_path)).text)
        # Published before the reveal: the pool, its hash, the recommended, the commitment and the root; no seed.
        before = (await visitor.get(f"/m/small_project/draws/{draw_id}.json")).json()
        assert before["status"] == "fixed" and "seed" not in before and "drawn" not in before
        assert before["fixed"]["commitment"] == commitment_of(VALUE) == fixed_entry.body["decision"]["commitment"]
        assert before["fixed"]["village_commitment"] == commitment_of(VILLAGE_VALUE)
        assert fixed_entry.body["decision"]["village_commitment"] == commitment_of(VILLAGE_VALUE)
        assert (
            before["pool_hash"]
            == rules.pool_hash(rules.parse_pool(before["pool"]))
            == fixed_entry.body["decision"]["pool_hash"]
        )
        assert {c["id"]: c["blacklisted"] for c in before["pool"]} == {C1: False, C2: False, C3: False, C4: True}
        size = fixed_entry.index + 1
        signed = Checkpoint.from_dict(before["fixed"]["checkpoint"])  # signed by the central's published key
        assert signed.tree_size == size and signed.root_hash == await site.decisions.ledger.root_hash(size)
        assert signed.verify(site.decisions.ledger.public_key)
        # The reveal: another township's officer, and a value that is not the committed one, are refused.
        assert "待公布随机值：" in (await officer.get("/work")).text
        assert (await visitor.get(f"/m/small_project/draws/{'0' * 32}.json")).status_code == 404  # a guessed id
        reveal = f"/m/small_project/draws/{draw_id}/reveal"
        assert (await form(county, reveal, page_path, value=VALUE)).status_code == 403
        assert (await form(other, reveal, page_path, value=VALUE)).status_code == 404
        wrong = await form(officer, reveal, page_path, value=VALUE + "改")
        assert wrong.status_code == 400 and "承诺值不符" in wrong.text
        waiting = await form(officer, reveal, page_path, value=VALUE)  # the village has not revealed yet
        assert waiting.status_code == 409 and "村尚未公布其随机值" in waiting.text
        assert await queued(site) == 2  # the catalogue and the fixing
        await village_reveals(site, project_id)
        assert (await form(officer, reveal, page_path, value=VALUE)).status_code == 303
        assert (await form(officer, reveal, page_path, value=VALUE)).status_code == 409
        record = (await visitor.get(f"/m/small_project/draws/{draw_id}.json")).json()
    # Anyone re-runs it: the rules and the CLI; the seed is the sources' and the sources are the published ones.
    result, problems = rules.verify_draw(record)
    assert problems == [] and sorted(result.drawn) == [C2, C3] and result.eligible == (C2, C3)
    assert record["seed_sources"] == [
        f"village:{VILLAGE_VALUE}",
        f"township:{VALUE}",
        f"checkpoint:{size}:{signed.root_hash.hex()}",
    ]
    assert record["seed"] == rules.combine_seed(record["seed_sources"])
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    assert run_cli("verify-draw", str(path))[0] == 0
    path.write_text(json.dumps({**record, "drawn": record["drawn"][::-1]}, ensure_ascii=False), encoding="utf-8")
    assert run_cli("verify-draw", str(path))[0] == 1
    (drawn_entry,) = await decided(site, "small_project.drawn")
    assert drawn_entry.body["village"] == EDGE and drawn_entry.body["decision"] == {"project_id": project_id, "record": {
        k: record[k] for k in ("pool", "recommended", "category", "seed", "seed_sources", "pool_hash", "drawn")}}  # fmt: skip
    # Down to the village: its edge re-runs the draw and accepts it; the contractors now quote at the township.
    down = await site.client.sync_once()
    assert (down.documents_applied, down.documents_refused) == (1, 0)
    async with site.agent.recorder.step():
        row = await P.project(site.agent.db.conn, project_id)
    assert row is not None and row["status"] == "drawn" and [c["id"] for c in row["invited"]] == [C1, *record["drawn"]]
    await site.client.sync_once()  # the edge's drawn entry goes up
    async with site.http() as officer:
        assert (await login(officer, "zhenshen")).status_code == 303
        assert "报价中" in (await officer.get("/m/small_project/projects")).text
        assert "待发出报价邀请：" in (await officer.get("/work")).text
    async with site.store.db.reader.connect() as conn:
        states = (await conn.execute(documents.select())).all()
    assert sorted(d.status for d in states) == ["applied"] * 3  # the catalogue, the fixing, the draw


def _draw_id(page: str) -> str:
    found = re.search(r"/m/small_project/draws/([0-9a-f]{32})\.json", page)
    assert found is not None, page[:500]
    return found.group(1)


async def test_a_project_the_village_rejected_goes_up_rejected_and_awaits_no_draw(site: Site) -> None:
    async with site.http() as officer:
        assert (await login(officer, "zhenshen")).status_code == 303
        assert (await post(officer, CSV)).status_code == 303
        await site.client.sync_once()
        clerk = Actor("cunwu", None, frozenset({"village_staff"}))
        draft = desk.ProjectDraft("村委会门前排水沟", "水利", "村委会", "疏通并加盖", (BillLine("DL-02", "30"),))
        project_id = await desk.file_project(site.agent, clerk, draft)
        await site.client.sync_once()
        pending = (await officer.get("/m/small_project/projects")).text
        assert f"{project_id} 村委会门前排水沟" in pending and "村审批中" in pending and "2,565.00" in pending
        approver = Actor("acct-zhangwei", site.agent.config.people["zhangwei"], frozenset({"approver"}))
        assert await desk.decide(site.agent, approver, project_id, False, "与排涝规划重复，暂缓") is False
        await site.client.sync_once()
        page = (await officer.get("/m/small_project/projects")).text
        assert "已驳回" in page and "待抽取" not in page and "待抽取承包商" not in (await officer.get("/work")).text
        refused = await form(officer, f"/m/small_project/projects/{EDGE}/{project_id}/draw", "/m/small_project/projects",
                             commitment=commitment_of(VALUE))  # fmt: skip
        assert refused.status_code == 409 and "已驳回" in refused.text


# -- sealed quotes and the opening -----------------------------------------------------------------------------

#: Quotes no other figure of the test shares, so finding their digits anywhere means a quote leaked.
HIGH, LOW = "11876.54", "10987.65"
HOTLINE = "0572-2345678"  # the township's supervision hotline ("121")


async def contractors_as_suppliers(site: Site) -> dict[str, httpx.AsyncClient]:
    """Each of the five contractors with an approved supplier account under its credit code, logged in."""
    accounts = AccountStore(site.store.db)
    clients = {}
    for n, code in enumerate((C1, C2, C3, C4, C5), 1):
        made = await accounts.apply(kind="supplier", username=f"chengbao{n}", password=PASSWORD, org_name=f"承包商{n}",
                                    credit_code=code, county=COUNTY, contact_name="王经理", contact_phone="13812345678",
                                    categories=["建材五金"], licence=PNG)  # fmt: skip
        await accounts.decide("county", COUNTY, made.id, True, "", "xianjian")
        client = site.http()
        assert (await login(client, f"chengbao{n}")).status_code == 303
        clients[code] = client
    return clients


async def everything_stored(site: Site, tmp_path: Path) -> str:
    """Every row of every table of the central's database, and the decision log's files, as text."""
    async with site.store.db.reader.connect() as conn:
        tables = [str((await conn.execute(t.select())).all()) for t in metadata.sorted_tables]
    files = [p.read_bytes().decode("latin-1") for p in (tmp_path / "central").rglob("*") if p.is_file()]
    return "\n".join(tables + files)


async def test_three_sealed_quotes_no_one_reads_before_the_opening_and_the_village_gets_the_award(
    site: Site, tmp_path: Path
) -> None:
    clock = Clock()
    site.app.state.shell.clock = clock
    async with site.http() as officer, site.http() as other, site.http() as county, site.http() as visitor:
        for client, username in ((officer, "zhenshen"), (other, "pushen"), (county, "xianjian")):
            assert (await login(client, username)).status_code == 303
        assert (await post(officer, CSV)).status_code == 303
        await site.client.sync_once()
        for name, code in (("湖州路桥建设有限公司", C1), ("吴兴水利工程有限公司", C2), ("织里建设有限公司", C3),
                           ("八里店园林有限公司", C4), ("妙西建设有限公司", C5)):  # fmt: skip
            assert (await add(officer, name, code, "道路")).status_code == 303
        project_id = await village_project(site, C1)
        page_path = "/m/small_project/projects"
        fix = f"/m/small_project/projects/{EDGE}/{project_id}/draw"
        assert (await form(officer, fix, page_path, commitment=commitment_of(VALUE))).status_code == 303
        draw_id = _draw_id((await officer.get(page_path)).text)
        await village_reveals(site, project_id)
        invite = f"/m/small_project/draws/{draw_id}/invite"
        assert (await form(officer, invite, page_path, hours="2", hotline=HOTLINE)).status_code == 409  # not drawn yet
        assert (await form(officer, f"/m/small_project/draws/{draw_id}/reveal", page_path, value=VALUE)).status_code == 303
        drawn = (await visitor.get(f"/m/small_project/draws/{draw_id}.json")).json()["drawn"]
        left_out = next(c for c in (C2, C3, C4, C5) if c not in drawn)
        # The window: the township's own officer only, 1 to 240 whole hours.
        assert (await form(county, invite, page_path, hours="2", hotline=HOTLINE)).status_code == 403
        assert (await form(other, invite, page_path, hours="2", hotline=HOTLINE)).status_code == 404
        for bad in ("0", "241", "1.5", "二"):
            assert (await form(officer, invite, page_path, hours=bad, hotline=HOTLINE)).status_code == 400
        assert (await form(officer, invite, page_path, hours="2", hotline="热线")).status_code == 400
        assert (await form(officer, invite, page_path, hours="2", hotline=HOTLINE)).status_code == 303
        assert (await form(officer, invite, page_path, hours="3", hotline=HOTLINE)).status_code == 409
        assert "待开标：" in (await officer.get("/work")).text
        (quoting,) = await decided(site, "small_project.quoting")
        assert [c["id"] for c in quoting.body["decision"]["invited"]] == [C1, *drawn]

        suppliers = await contractors_as_suppliers(site)
        try:
            recommended, first, second = suppliers[C1], suppliers[drawn[0]], suppliers[drawn[1]]
            page = "/m/small_project/quotes"

            async def quote(client: httpx.AsyncClient, amount: str) -> httpx.Response:
                return await form(client, f"/m/small_project/quotes/{draw_id}", page, amount=amount)

            assert "西岙自然村道路硬化" not in (await suppliers[left_out].get(page)).text
            assert 'class="stack quote-form"' in (await recommended.get(page)).text
            assert (await quote(recommended, HIGH)).status_code == 303
            assert (await quote(recommended, "100")).status_code == 409  # once only
            assert (await quote(first, "一万")).status_code == 400
            assert (await quote(first, LOW)).status_code == 303
            # A rival not drawn, an officer: refused. One blacklisted after the draw: refused, nothing kept.
            refused = await quote(suppliers[left_out], "9000")
            assert refused.status_code == 403 and "不是本工程邀请的报价人" in refused.text
            token = await csrf_of(officer, page_path)
            assert (await officer.post(f"/m/small_project/quotes/{draw_id}", data={"amount": "1", "csrf": token})).status_code == 403
            assert (await blacklist(officer, drawn[1], "查实挂靠资质，列入黑名单")).status_code == 303
            banned = await quote(second, "9500")
            assert banned.status_code == 403 and "黑名单" in banned.text
            assert (await blacklist(officer, drawn[1], "申诉成立，撤销处理", lift=True)).status_code == 303

            # Before the opening no one reads a quote: not the officer's pages, not the public record, not a
            # rival's or the quoter's own page, not the database or the decision log on disk (ciphertext only).
            seen = [(await officer.get(page_path)).text, (await county.get(page_path)).text,
                    (await visitor.get(f"/m/small_project/draws/{draw_id}.json")).text,
                    *[(await c.get(page)).text for c in suppliers.values()],
                    await everything_stored(site, tmp_path)]  # fmt: skip
            for text in seen:
                for figure in (HIGH, LOW, "11,876.54", "10,987.65", "1187654", "1098765"):
                    assert figure not in text
            assert "已收到 2 家" in seen[0]
            assert (await visitor.get(f"/m/small_project/draws/{draw_id}.json")).json()["quoting"]["count"] == 2
            async with site.store.db.reader.connect() as conn:
                kept = (await conn.execute(quotes.sealed.select())).all()
            assert sorted(k.contractor for k in kept) == sorted([C1, drawn[0]]) and all(k.ciphertext for k in kept)

            opening = f"/m/small_project/draws/{draw_id}/open"
            early = await form(officer, opening, page_path, observer="白石村 李主任")
            assert early.status_code == 409 and "前不能开标" in early.text
            clock.now += 2 * 3600  # the window closes
            late = await quote(second, "9500")
            assert late.status_code == 409 and "截止" in late.text
            assert (await form(other, opening, page_path, observer="白石村 李主任")).status_code == 404
            assert (await form(officer, opening, page_path, observer=" ")).status_code == 400
            assert (await form(officer, opening, page_path, observer="白石村 李主任")).status_code == 303
            assert (await form(officer, opening, page_path, observer="白石村 李主任")).status_code == 409
            assert "10,987.65" in (await first.get(page)).text
        finally:
            for client in suppliers.values():
                await client.aclose()
        public = (await visitor.get(f"/m/small_project/draws/{draw_id}.json")).json()["quoting"]["opening"]
    # Anyone holding the log opens each sealed quote with the key published at the opening, and checks its digest.
    (opened,) = await decided(site, "small_project.opened")
    result = opened.body["decision"]
    assert opened.body["village"] == EDGE and public == result and result["observer"] == "白石村 李主任"
    key = bytes.fromhex(result["key"])
    for entry in await decided(site, "small_project.quote"):
        sealed = entry.body["decision"]
        amount = quotes.open_quote(key, draw_id, sealed["contractor"], argparse.Namespace(**sealed))
        assert {"contractor": sealed["contractor"], "amount_fen": amount} in [
            {k: q[k] for k in ("contractor", "amount_fen")} for q in result["quotes"]]
    assert result["winner"] == {"id": drawn[0], "name": result["quotes"][1]["name"], "amount_fen": 1_098_765}
    # Down to the village (the draw, the invitation, the opening): its edge re-checks the opening by the rule and
    # records the award; it goes back up.
    down = await site.client.sync_once()
    assert (down.documents_applied, down.documents_refused) == (3, 0)
    async with site.agent.recorder.step():
        window = await P.quoting_of(site.agent.db.conn, project_id)
    assert window is not None and window["closes_at"] == quoting.body["decision"]["closes_at"] and window["hotline"] == HOTLINE
    async with site.agent.recorder.step():
        row = await P.project(site.agent.db.conn, project_id)
    assert row is not None and row["status"] == "awarded" and row["winner"]["amount_fen"] == 1_098_765
    assert row["observer"] == "白石村 李主任"
    await site.client.sync_once()
    await supervised(site, clock, project_id)


async def supervised(site: Site, clock: Clock, project_id: str) -> None:
    """"121" on an awarded project: the two township checks drawn verifiably, done by the drawn inspectors on
    their days; a hotline complaint; all down to the village's notice board with the hotline and the observer."""
    names = ("zhenshen", "zhenzhang", "zhenwai", "pushen")
    clients = {name: site.http() for name in names}
    try:
        for name, client in clients.items():
            assert (await login(client, name)).status_code == 303
        officer, page_path = clients["zhenshen"], "/m/small_project/projects"
        assert "已定标" in (await officer.get(page_path)).text
        fix = f"/m/small_project/projects/{EDGE}/{project_id}/checks"
        value = "河上镇 检查 掷骰 6-6-2-1-3-5"
        assert (await form(clients["pushen"], fix, page_path, commitment=commitment_of(value), first="2027-01-10",
                           last="2027-01-20")).status_code == 404  # fmt: skip
        for first, last in (("2027-01-10", "2027-01-10"), ("2027-01-10", "2028-01-11"), ("2027-1-10", "2027-01-20")):
            assert (await form(officer, fix, page_path, commitment=commitment_of(value), first=first,
                               last=last)).status_code == 400  # fmt: skip
        assert (await form(officer, fix, page_path, commitment=commitment_of(value), first="2027-01-10",
                           last="2027-01-20")).status_code == 303  # fmt: skip
        check_id = re.search(r"/m/small_project/checks/([0-9a-f]{32})\.json", (await officer.get(page_path)).text)
        assert check_id is not None
        record_path = f"/m/small_project/checks/{check_id.group(1)}.json"
        async with site.http() as visitor:
            before = (await visitor.get(record_path)).json()
            assert before["inspectors"] == ["zhenshen", "zhenwai", "zhenzhang"] and len(before["days"]) == 11
            assert "checks" not in before and "seed" not in before
            reveal = f"/m/small_project/checks/{check_id.group(1)}/reveal"
            assert (await form(officer, reveal, page_path, value=value + "改")).status_code == 400
            assert (await form(officer, reveal, page_path, value=value)).status_code == 303
            assert "checks" not in (await visitor.get(record_path)).json()  # not announced before they are done
            (drawn_entry,) = await decided(site, "small_project.checks_drawn")
            drawn = drawn_entry.body["decision"]
            assert drawn["seed"] == rules.combine_seed(drawn["seed_sources"])
            assert [(c["inspector"], c["day"]) for c in drawn["checks"]] == rules.draw_checks(
                before["inspectors"], before["days"], drawn["seed"])  # fmt: skip
            done = f"/m/small_project/checks/{check_id.group(1)}/done"
            (one, two) = drawn["checks"]
            wrong = next(n for n in ("zhenshen", "zhenzhang", "zhenwai") if n != one["inspector"])
            refused = await form(clients[wrong], done, page_path, no="1", findings="路面厚度抽检合格")
            assert refused.status_code == 403 and "不是您" in refused.text
            assert "随机检查：" in (await clients[one["inspector"]].get("/work")).text

            async def new_day(day: str, hour: str) -> None:
                # The drawn days fall before or after the test's clock; a session of another day may have
                # lapsed (8 idle hours), so each inspector logs in again on the day.
                clock.now = datetime.fromisoformat(f"{day}T{hour}:00:00+08:00").timestamp()
                for name, client in clients.items():
                    assert (await login(client, name)).status_code == 303

            await new_day((date.fromisoformat(one["day"]) - timedelta(days=1)).isoformat(), "08")
            early = await form(clients[one["inspector"]], done, page_path, no="1", findings="路面厚度抽检合格")
            assert early.status_code == 409 and "未到" in early.text
            for check, n in ((one, "1"), (two, "2")):
                await new_day(check["day"], "09")
                assert (await form(clients[check["inspector"]], done, page_path, no=n,
                                   findings=f"第{n}次：路面厚度抽检合格")).status_code == 303  # fmt: skip
            after = (await visitor.get(record_path)).json()
            assert [d["no"] for d in after["done"]] == [1, 2] and after["checks"] == drawn["checks"]
        complaint = f"/m/small_project/projects/{EDGE}/{project_id}/complaint"
        assert (await form(clients["pushen"], complaint, page_path, summary="施工占道影响通行")).status_code == 404
        assert (await form(officer, complaint, page_path, summary="施工夜间噪音扰民", anonymous="1")).status_code == 303
    finally:
        for client in clients.values():
            await client.aclose()
    down = await site.client.sync_once()
    assert (down.documents_applied, down.documents_refused) == (3, 0)
    async with site.agent.recorder.step():
        records = await P.supervision(site.agent.db.conn, project_id)
    assert [r["kind"] for r in records] == ["hotline", "check", "check", "complaint"]
    assert records[0]["text"] == HOTLINE and records[3]["who"] == "匿名"
    board = await SMALL_PROJECT.publishes(site.agent.db.conn, "测试村")  # type: ignore[misc]
    (watch,) = [b for b in board if b.title == "限额工程“121”监督"]
    ((name, observer, checks, complaints),) = watch.rows
    assert observer == "白石村 李主任" and checks.count("路面厚度抽检合格") == 2
    assert complaints.endswith("（匿名）施工夜间噪音扰民")



# -- the township's approval steps --------------------------------------------------------------------------------


async def test_the_township_steps_follow_the_village_s_in_the_route_s_order_and_come_down(site: Site) -> None:
    clients = {name: site.http() for name in ("zhenshen", "zhenzhang", "zhenwai", "pushen", "xianjian")}
    try:
        for name, client in clients.items():
            assert (await login(client, name)).status_code == 303
        first, second, bystander = clients["zhenshen"], clients["zhenzhang"], clients["zhenwai"]
        assert (await post(first, CSV)).status_code == 303
        await site.client.sync_once()
        clerk = Actor("cunwu", None, frozenset({"village_staff"}))
        draft = desk.ProjectDraft("村委会门前排水沟", "水利", "村委会", "疏通并加盖", (BillLine("DL-02", "30"),))
        project_id = await desk.file_project(site.agent, clerk, draft)
        await site.client.sync_once()
        page_path = "/m/small_project/projects"
        step = f"/m/small_project/projects/{EDGE}/{project_id}/step"
        # Before the village approved it, no township step.
        assert (await form(first, step, page_path, decision="approve")).status_code == 409
        approver = Actor("acct-zhangwei", site.agent.config.people["zhangwei"], frozenset({"approver"}))
        assert await desk.decide(site.agent, approver, project_id, True) is True
        await site.client.sync_once()
        page = (await first.get(page_path)).text
        assert "乡镇审批中" in page and "乡镇审批：zhenshen → zhenzhang" in page and 'step-form"' in page
        assert "待乡镇审批：" in (await first.get("/work")).text
        assert "待乡镇审批：" not in (await second.get("/work")).text  # not their turn yet
        assert 'step-form"' not in (await second.get(page_path)).text
        # Out of order, off the route, another township, the county, no reason to reject: refused, nothing decided.
        early = await form(second, step, page_path, decision="approve")
        assert early.status_code == 409 and "应由 zhenshen 先审批" in early.text
        off = await form(bystander, step, page_path, decision="approve")
        assert off.status_code == 403 and "不在本工程类别的乡镇审批路线上" in off.text
        assert (await form(clients["pushen"], step, page_path, decision="approve")).status_code == 404
        assert (await form(clients["xianjian"], step, page_path, decision="approve")).status_code == 403
        assert (await form(first, step, page_path, decision="reject", reason="不")).status_code == 400
        assert not await decided(site, "small_project.township_step")
        assert (await form(first, step, page_path, decision="approve")).status_code == 303
        again = await form(first, step, page_path, decision="approve")
        assert again.status_code == 409 and "已审批过" in again.text
        assert "待乡镇审批：" in (await second.get("/work")).text
        assert (await form(second, step, page_path, decision="approve")).status_code == 303
        steps = await decided(site, "small_project.township_step")
        assert [(e.body["decision"]["approver"], e.body["decision"]["final"], e.body["village"]) for e in steps] == [
            ("zhenshen", False, EDGE), ("zhenzhang", True, EDGE)]  # fmt: skip
        # Down to the village: both applied in order; approved there, and then here when its entries come up.
        down = await site.client.sync_once()
        assert (down.documents_applied, down.documents_refused) == (2, 0)
        async with site.agent.recorder.step():
            row = await P.project(site.agent.db.conn, project_id)
            done = await P.township_steps(site.agent.db.conn, project_id)
        assert row is not None and row["status"] == "approved" and [s["approver"] for s in done] == ["zhenshen", "zhenzhang"]
        await site.client.sync_once()
        assert "已批准" in (await first.get(page_path)).text
        # A second project the first township officer rejects, with its reason: rejected in the village too.
        draft = desk.ProjectDraft("西岙排涝渠", "水利", "西岙", "新建排涝渠", (BillLine("DL-02", "10"),))
        other = await desk.file_project(site.agent, clerk, draft)
        assert await desk.decide(site.agent, approver, other, True) is True
        await site.client.sync_once()
        other_step = f"/m/small_project/projects/{EDGE}/{other}/step"
        assert (await form(first, other_step, page_path, decision="reject", reason="与镇排涝规划重复")).status_code == 303
        assert (await form(second, other_step, page_path, decision="approve")).status_code == 409
        await site.client.sync_once()
        async with site.agent.recorder.step():
            row = await P.project(site.agent.db.conn, other)
        assert row is not None and row["status"] == "rejected" and row["reason"] == "与镇排涝规划重复"
    finally:
        for client in clients.values():
            await client.aclose()


# -- make demo ------------------------------------------------------------------------------------------------


async def test_the_central_demo_builds_the_township_s_pool_and_catalogue_from_what_the_village_sent_up(
    site: Site,
) -> None:
    await ensure_demo_accounts(AccountStore(site.store.db), COUNTY, TOWNSHIP, PASSWORD)
    await edge_demo.seed(site.agent)
    await site.client.sync_once()
    demo_site = DemoSite(site.store, site.decisions, COUNTY, TOWNSHIP, EDGE, PASSWORD)
    sizes = []
    for _ in range(2):  # a second run adds nothing
        await central_demo.seed(demo_site)
        sizes.append(await site.decisions.ledger.size())
    assert sizes[0] == sizes[1]
    async with site.store.db.reader.connect() as conn:
        contractors = await pool.pool_of(conn, COUNTY, TOWNSHIP)
        states = {r["name"]: r["status"] for r in await projects.listed(conn, Principal("all", "all"))}
    # The twelve of the village's record and the contractor it recommended for its ditch (the demo supplier's).
    assert len(contractors) == 13 and [c.name for c in contractors if c.blacklisted] == ["湖州市妙西兴旺土石方有限公司"]
    assert states == {"文化礼堂周边绿化": "pending", "村口排水沟改造": "approved", "西岙自然村道路硬化": "completed"}
    down = await site.client.sync_once()
    assert (down.documents_applied, down.documents_refused) == (2, 0)  # the catalogue and the ditch's fixed draw
    async with site.agent.recorder.step():
        held = await P.current_catalogue(site.agent.db.conn)
    assert held is not None and held.version == "2026-12" and held.items["DL-01"].price_fen == 12_000
    # The village reveals its value once the fixing is down; the township then draws and invites, the two drawn quote.
    await edge_demo.seed(site.agent)
    await site.client.sync_once()
    await central_demo.seed(demo_site)
    size = await site.decisions.ledger.size()
    await central_demo.seed(demo_site)
    assert await site.decisions.ledger.size() == size
    async with site.store.db.reader.connect() as conn:
        invited = await quotes.invitations(conn, await demo_site.principal("lvshan"))
    assert [(i["name"], i["status"], i["quoted_at"]) for i in invited] == [("村口排水沟改造", "quoting", None)]
    down = await site.client.sync_once()
    assert (down.documents_applied, down.documents_refused) == (2, 0)  # the draw and the invitation
