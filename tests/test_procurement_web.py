"""The procurement module through the village console: purchases recorded (an invoice under the console's
upload limits), an offline purchase refused with the purchases that add up (on record), an override with a
written reason and a second approver (never the one who asked), a demand through the village's approval and
up to the township, the award coming down, contract, delivery checked against the demand, payment, the
notice board and the exports; hostile input changes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_support import DEVICE, config_for
from web_support import Api, seed_account

from edge.agent import EdgeAgent
from edge.kernel.websettings import WebSettings
from edge.modules import PARTS
from edge.modules.procurement import PROCUREMENT
from edge.modules.procurement import kinds as K
from edge.seal.keystore import DeviceIdentity
from edge.web.app import create_app
from edge.web.demo import sample_png
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim import flash

WITH_PROCUREMENT = PARTS if PROCUREMENT in PARTS else (*PARTS, PROCUREMENT)
ACCOUNTS = (
    ("kuaiji", ["village_staff"], None), ("liming", ["applicant"], "liming"), ("zhangwei", ["approver"], "zhangwei"),
    ("chenjing", ["approver", "applicant"], "chenjing"), ("jiandu", ["supervisor"], None),
    ("waicun", ["village_staff"], None),  # an account of another village (白马村)
)  # fmt: skip


@pytest.fixture
async def site(tmp_path: Path) -> Any:
    flash.prepare(tmp_path / "board")
    ident = flash.read_identity(tmp_path / "board")
    assert ident is not None
    agent = await EdgeAgent.open(config_for(tmp_path, "socket://127.0.0.1:9", ident.device_id), parts=WITH_PROCUREMENT)
    await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
    store = await WebStore.open(agent.config.data_dir)
    for username, roles, person in ACCOUNTS:
        villages = {"jiandu": ["*"], "waicun": ["白马村"]}.get(username)
        await seed_account(store, agent, username, roles, person, villages)
    ledger = LedgerReader(agent.config.data_dir)
    settings = WebSettings(enabled=True, upload_quota_bytes=4096)  # small: the quota is tested below
    transport = httpx.ASGITransport(app=create_app(Console(agent, store, settings), ledger))
    apis = {}
    for username, _, _ in ACCOUNTS:
        api = Api(httpx.AsyncClient(transport=transport, base_url="http://console.test"))
        await api.login(username)
        apis[username] = api
    visitor = httpx.AsyncClient(transport=transport, base_url="http://console.test")
    yield agent, apis, visitor
    for api in apis.values():
        await api.client.aclose()
    await visitor.aclose()
    await ledger.close()
    await store.close()
    await agent.close()


def purchase_form(
    day: str, price: str, category: str = "办公用品", channel: str = "offline", project: str = "", **more: str
) -> dict[str, str]:
    return {"day": day, "channel": channel, "category": category, "project": project, "supplier": "兴华文具店",
            "line-1-name": "打印纸", "line-1-unit": "箱", "line-1-quantity": "1", "line-1-price": price, **more}  # fmt: skip


async def entries(agent: EdgeAgent, kind: str) -> list[Any]:
    size = await agent.recorder.ledger.size()
    return [e for e in await agent.recorder.ledger.entries(0, size) if e.kind == kind]


async def test_offline_purchases_add_up_to_a_refusal_then_an_override_by_a_second_approver(site: Any) -> None:
    agent, apis, _ = site
    kuaiji, liming, zhangwei = apis["kuaiji"], apis["liming"], apis["zhangwei"]
    invoice = {"invoice": ("fapiao.png", sample_png(), "image/png")}
    first = await kuaiji.post("/procurement/purchases/new", data=purchase_form("2026-03-31", "3000.00"), files=invoice)
    assert first.status_code == 303 and first.headers["location"] == "/procurement/purchases/CG-00001"
    page = await kuaiji.client.get("/procurement/purchases/CG-00001")
    assert "¥3,000.00" in page.text and "fapiao.png" in page.text
    sha = (await entries(agent, K.PURCHASE_RECORDED))[0].body["invoice"]["sha256"]
    assert (await kuaiji.client.get(f"/procurement/files/{sha}")).content == sample_png()

    # 4,999.99 in the two months: recorded.
    ok = await kuaiji.post("/procurement/purchases/new", data=purchase_form("2026-05-31", "1999.99"))
    assert ok.status_code == 303
    # One more fen, on the window's last day: refused, with the purchases that add up, and on record.
    refused = await liming.post("/procurement/purchases/new", data=purchase_form("2026-05-31", "0.01"))
    assert refused.status_code == 409
    assert "不能登记为线下采购" in refused.text and "¥5,000.00" in refused.text
    assert "CG-00001" in refused.text and "CG-00002" in refused.text and "2026-03-31 至 2026-05-31" in refused.text
    [refusal] = await entries(agent, K.PURCHASE_REFUSED)
    assert refusal.body["groups"][0]["ids"] == ["CG-00001", "CG-00002", "本次"] and refusal.body["account"] == "liming"
    # The day after the window: a new window, recorded.
    later = await kuaiji.post("/procurement/purchases/new", data=purchase_form("2026-06-01", "0.01"))
    assert later.status_code == 303

    # An override: a reason is required, then it waits for a second approver.
    short = await liming.post(
        "/procurement/purchases/new", data=purchase_form("2026-05-31", "0.01", action="override", override_reason="急")
    )
    assert short.status_code == 400 and "至少 10 个字" in short.text
    asked = await liming.post(
        "/procurement/purchases/new",
        data=purchase_form(
            "2026-05-31", "0.01", action="override", override_reason="换届选举材料本周必须打印，平台来不及供货"
        ),
    )
    assert asked.status_code == 303 and asked.headers["location"] == "/procurement/overrides/LW-00001"
    inbox = (await zhangwei.client.get("/api/inbox")).json()
    assert [(i["part"], i["id"], i["your_turn"]) for i in inbox] == [("procurement", "LW-00001", True)]
    approved = await zhangwei.post("/procurement/overrides/LW-00001/approve")
    assert approved.status_code == 303
    [flagged] = [e for e in await entries(agent, K.PURCHASE_RECORDED) if e.body["override"]]
    assert flagged.body["id"] == "CG-00004" and flagged.body["override"]["approvers"] == ["zhangwei"]
    assert flagged.body["account"] == "liming" and flagged.body["amount_fen"] == 1
    listing = await kuaiji.client.get("/procurement")
    assert "例外登记" in listing.text
    # A platform purchase is never refused.
    platform = await kuaiji.post(
        "/procurement/purchases/new", data=purchase_form("2026-05-01", "9000.00", channel="platform")
    )
    assert platform.status_code == 303


async def test_nobody_approves_their_own_override_and_a_reader_records_nothing(site: Any) -> None:
    agent, apis, _ = site
    chenjing, zhangwei, jiandu = apis["chenjing"], apis["zhangwei"], apis["jiandu"]
    assert (
        await chenjing.post("/procurement/purchases/new", data=purchase_form("2026-03-01", "5000.00"))
    ).status_code == 409
    asked = await chenjing.post(
        "/procurement/purchases/new",
        data=purchase_form(
            "2026-03-01", "5000.00", action="override", override_reason="抢险物资，必须当天买到，已报镇里备案"
        ),
    )
    assert asked.status_code == 303
    own = await chenjing.post("/procurement/overrides/LW-00001/approve")
    assert own.status_code == 409 and "不能审批自己申请的例外登记" in own.text
    [refused] = await entries(agent, f"{K.OVERRIDE}.approval_refused")
    assert (refused.body["person"], refused.body["reason"]) == ("chenjing", "self_approval")
    assert (await jiandu.post("/procurement/overrides/LW-00001/approve")).status_code == 403
    assert (
        await jiandu.post("/procurement/purchases/new", data=purchase_form("2026-03-01", "1.00"))
    ).status_code == 403
    rejected = await zhangwei.post("/procurement/overrides/LW-00001/reject", data={"reason": "应走平台"})
    assert rejected.status_code == 303
    assert await entries(agent, K.PURCHASE_RECORDED) == []


HOSTILE = [
    ("line-1-price", "1e20", "金额格式错误"), ("line-1-price", "-5", "金额应大于 0"), ("line-1-price", "0.001", "最多两位小数"),
    ("line-1-price", "NaN", "金额格式错误"), ("line-1-quantity", "1.5", "整数"), ("line-1-quantity", "99999999", "整数"),
    ("day", "2026-02-30", "不存在"), ("day", "2999-01-01", "不能晚于今天"), ("channel", "cash", "采购方式"),
    ("supplier", "", "请填写供应商"), ("supplier", "兴华\x00文具店", "控制字符"), ("category", "办公耗材", "请选择物品类别"),
    ("line-1-price", "100000001", "超过"),
    ("project", "长" * 61, "过长"),
]  # fmt: skip


async def test_hostile_input_gets_a_clear_message_and_changes_nothing(site: Any) -> None:
    agent, apis, _ = site
    before = await agent.recorder.ledger.size()
    for field, value, message in HOSTILE:
        answer = await apis["kuaiji"].post(
            "/procurement/purchases/new", data={**purchase_form("2026-03-01", "10.00"), field: value}
        )
        assert (answer.status_code, message in answer.text) == (400, True), (field, value)
    assert await agent.recorder.ledger.size() == before


async def test_an_upload_is_held_to_the_console_limits(site: Any) -> None:
    agent, apis, _ = site
    kuaiji = apis["kuaiji"]
    before = await agent.recorder.ledger.size()
    fake = await kuaiji.post(
        "/procurement/purchases/new",
        data=purchase_form("2026-03-01", "10.00"),
        files={"invoice": ("a.png", b"MZ\x90\x00evil", "image/png")},
    )
    assert fake.status_code == 400 and "不是 PNG 图片" in fake.text
    big = sample_png(200, 200) + b"\x00" * 5000  # over the test's 4 KB daily quota
    over = await kuaiji.post(
        "/procurement/purchases/new",
        data=purchase_form("2026-03-01", "10.00"),
        files={"invoice": ("b.png", big, "image/png")},
    )
    assert over.status_code == 400 and "超出每日上传限额" in over.text
    assert await agent.recorder.ledger.size() == before
    assert (await kuaiji.client.get("/procurement/files/" + "0" * 64)).status_code == 404


async def test_a_demand_goes_up_the_award_comes_down_and_the_deal_is_carried_through(site: Any) -> None:
    agent, apis, visitor = site
    liming, chenjing, zhangwei = apis["liming"], apis["chenjing"], apis["zhangwei"]
    demand = {"title": "文化礼堂桌椅", "category": "其他", "project": "文化礼堂", "place": "青莲村文化礼堂", "delivery_date": "2099-01-01",
              "line-1-name": "会议桌", "line-1-unit": "张", "line-1-quantity": "10", "line-1-price": "1200",
              "line-2-name": "折叠椅", "line-2-unit": "把", "line-2-quantity": "80", "line-2-price": "90"}  # fmt: skip
    filed = await liming.post("/procurement/demands/new", data=demand)
    assert filed.status_code == 303 and filed.headers["location"] == "/procurement/demands/XQ-00001"
    page = await zhangwei.client.get("/procurement/demands/XQ-00001")
    assert "¥19,200.00" in page.text and 'id="approve"' in page.text
    assert (await zhangwei.post("/procurement/demands/XQ-00001/approve")).status_code == 303
    [up] = await entries(agent, K.DEMAND_SUBMITTED)
    assert (
        up.body["village"] == "测试村"
        and up.body["demand"]["ceiling_fen"] == 1_920_000
        and up.body["approvers"] == ["zhangwei"]
    )
    assert "已报送乡镇" in (await liming.client.get("/procurement/demands/XQ-00001")).text

    # No contract before an award; then the award comes down (as the central's document is recorded).
    early = await liming.post(
        "/procurement/demands/XQ-00001/step/contract", data={"contract_no": "HT-1", "day": "2026-01-05"}
    )
    assert early.status_code == 303
    assert await entries(agent, K.CONTRACT_SIGNED) == []
    async with agent.recorder.step():
        await agent.recorder.record(K.AWARD, {
            "demand_id": "XQ-00001", "award_id": "A-1", "supplier": {"id": "s-1", "name": "诚信家具厂"}, "amount_fen": 1_700_000,
            "lines": [{"line": 1, "unit_fen": 110_000}, {"line": 2, "unit_fen": 7_500}], "bids": 2, "document": {"id": "d-1"},
        })  # fmt: skip
    assert "诚信家具厂" in (await liming.client.get("/procurement/demands/XQ-00001")).text
    assert (
        await liming.post(
            "/procurement/demands/XQ-00001/step/contract", data={"contract_no": "HT-1", "day": "2026-01-05"}
        )
    ).status_code == 303
    # A short delivery fails acceptance; the full one passes and becomes a platform purchase.
    await liming.post(
        "/procurement/demands/XQ-00001/step/delivery",
        data={"received-1": "10", "received-2": "79", "day": "2026-01-06"},
    )
    short = (await entries(agent, K.DELIVERY_CHECKED))[-1].body
    assert (short["passed"], short["message"]) == (False, "验收不合格：折叠椅 需求 80，到货 79")
    await liming.post(
        "/procurement/demands/XQ-00001/step/delivery",
        data={"received-1": "10", "received-2": "80", "day": "2026-01-07"},
    )
    [bought] = await entries(agent, K.PURCHASE_RECORDED)
    assert (bought.body["channel"], bought.body["amount_fen"], bought.body["demand_id"]) == (
        "platform",
        1_700_000,
        "XQ-00001",
    )
    # Payment: never more than the award.
    over = await liming.post(
        "/procurement/demands/XQ-00001/step/payment", data={"amount": "17000.01", "day": "2026-01-08"}
    )
    assert over.status_code == 303 and await entries(agent, K.PAYMENT_RECORDED) == []
    await liming.post("/procurement/demands/XQ-00001/step/payment", data={"amount": "17000.00", "day": "2026-01-08"})
    assert "已付款" in (await chenjing.client.get("/procurement/demands/XQ-00001")).text

    # The notice board, with no login, and the staff exports.
    board = await visitor.get("/board")
    assert (
        "村级采购清单" in board.text
        and "平台采购成交" in board.text
        and "诚信家具厂" in board.text
        and "¥2,200.00" in board.text
    )
    exported = await apis["jiandu"].client.get("/exports/procurement/purchases.csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "采购日期", "类别"] and rows[1][0] == "CG-00001" and rows[1][7] == "平台采购"
    assert (await apis["jiandu"].client.get("/exports/procurement/deals.xlsx")).content.startswith(b"PK")


async def test_a_document_for_an_unknown_demand_is_an_anomaly_and_changes_nothing(site: Any) -> None:
    agent, _, _ = site
    async with agent.recorder.step():
        entry = await agent.recorder.record(
            K.AWARD, {"demand_id": "XQ-99999", "supplier": {"name": "x"}, "amount_fen": 1}
        )
    anomalies = await agent.db.projection_anomalies()
    assert [a["entry"] for a in anomalies] == [entry.index]


async def test_the_demo_seeds_every_page_once(site: Any) -> None:
    agent, apis, visitor = site
    assert PROCUREMENT.demo is not None
    await PROCUREMENT.demo(agent)
    size = await agent.recorder.ledger.size()
    await PROCUREMENT.demo(agent)  # a second run adds nothing
    assert await agent.recorder.ledger.size() == size
    assert len(await entries(agent, K.PURCHASE_REFUSED)) == 1 and len(await entries(agent, K.PURCHASE_RECORDED)) == 6
    zhangwei = apis["zhangwei"]
    assert [i["id"] for i in (await zhangwei.client.get("/api/inbox")).json() if i["part"] == "procurement"] == [
        "LW-00001",
        "XQ-00001",
    ]
    overview = await zhangwei.client.get("/procurement")
    assert overview.status_code == 200 and "被拒的线下采购" in overview.text
    for path in (
        "/procurement/overrides/LW-00001",
        *(f"/procurement/demands/XQ-0000{n}" for n in (1, 2, 3)),
        *(f"/procurement/purchases/CG-0000{n}" for n in range(1, 7)),
        "/procurement/purchases/new",
        "/procurement/demands/new",
    ):
        page = await apis["liming"].client.get(path)
        assert page.status_code == 200, path
    assert "已付款" in (await zhangwei.client.get("/procurement/demands/XQ-00003")).text
    assert "党群服务中心空调采购" in (await visitor.get("/board")).text


async def test_another_village_s_account_sees_and_does_nothing_here(site: Any) -> None:
    agent, apis, _ = site
    assert (
        await apis["kuaiji"].post("/procurement/purchases/new", data=purchase_form("2026-03-01", "10.00"))
    ).status_code == 303
    before = await agent.recorder.ledger.size()
    other = apis["waicun"]
    for path in (
        "/procurement",
        "/procurement/purchases/CG-00001",
        "/procurement/purchases/new",
        "/procurement/demands/new",
    ):
        assert (await other.client.get(path)).status_code == 403, path
    assert (
        await other.post("/procurement/purchases/new", data=purchase_form("2026-03-02", "10.00"))
    ).status_code == 403
    assert (await other.post("/procurement/demands/new", data={"title": "x"})).status_code in (400, 403)
    assert await agent.recorder.ledger.size() == before
