"""户主大会 in the console: who may do what (village staff act, a supervisor reads and records the township's
talk, another village's account and an applicant get nothing), the QR sign-in path with forged and replayed
tokens, the printed sheet, the notice board with rates and no personal data, the exports."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest
from edge_support import writer  # noqa: F401  (a fixture)
from web_support import Api, seed_account

from edge.agent import EdgeAgent
from edge.kernel.websettings import WebSettings
from edge.modules.household_assembly import rules, store, tokens
from edge.modules.household_assembly.demo import seed
from edge.web.app import create_app
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore

PHONE = "13912345678"
ACCOUNTS = (
    ("zhoumin", ["village_staff"], None, None), ("sunli", ["village_staff"], None, None),
    ("jiandu", ["supervisor"], None, ["*"]), ("waicun", ["village_staff"], None, ["别的村"]),
    ("liming", ["applicant"], "liming", None),
)  # fmt: skip


@pytest.fixture
async def site(writer: EdgeAgent) -> Any:  # noqa: F811
    store_ = await WebStore.open(writer.config.data_dir)
    for username, roles, person, villages in ACCOUNTS:
        await seed_account(store_, writer, username, roles, person, villages)
    ledger = LedgerReader(writer.config.data_dir)
    transport = httpx.ASGITransport(app=create_app(Console(writer, store_, WebSettings(enabled=True)), ledger))
    clients = [httpx.AsyncClient(transport=transport, base_url="http://console.test") for _ in ACCOUNTS]
    apis = {a[0]: Api(c) for a, c in zip(ACCOUNTS, clients, strict=True)}
    for name, api in apis.items():
        assert (await api.login(name)).status_code == 200
    visitor = httpx.AsyncClient(transport=transport, base_url="http://console.test")
    yield apis, visitor
    for c in (*clients, visitor):
        await c.aclose()
    await ledger.close()
    await store_.close()


def register_csv(n: int) -> bytes:
    rows = ["户号,户主,人数,承包组,电话"] + [f"H{i:03d},户主{i},3,{i % 3 + 1}组,{PHONE}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


async def form(api: Api, path: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
    """A form post as the page sends it (the CSRF token in the form), then the page it leads to."""
    r = await api.client.post(path, data={"csrf_token": api.csrf, **(data or {})}, **kw)
    assert r.status_code == 303, r.text
    return await api.client.get(r.headers["location"])


async def test_staff_run_a_meeting_and_others_are_kept_out(site: Any, writer: EdgeAgent) -> None:  # noqa: F811
    apis, visitor = site
    zhou, sun, jiandu, waicun, liming = (apis[n] for n in ("zhoumin", "sunli", "jiandu", "waicun", "liming"))
    page = await form(zhou, "/household_assembly/register", files={"file": ("名册.csv", register_csv(30), "text/csv")})
    assert "新增或变更 30 户" in page.text and 'href="/household_assembly" class="on">户主大会</a>' in page.text
    page = await form(
        zhou, "/household_assembly/register", files={"file": ("名册.xlsx", b"not a zip", "application/octet-stream")}
    )
    assert "无法读取 XLSX 文件" in page.text
    page = await form(
        zhou,
        "/household_assembly/meetings",
        {"held_on": "2030-12-20", "place": "文化礼堂", "items": "垃圾分类\n", "cadres": "沈国华\n金建平"},
    )
    assert "已创建会议 HA-2030" in page.text and "表彰先进" in page.text and "垃圾分类" in page.text
    size = await writer.ledger.size()

    # Out of scope, or without a role here: no page, no step, nothing recorded.
    for api in (waicun, liming):
        assert (await api.client.get("/household_assembly")).status_code == 403
        r = await api.client.post(
            "/household_assembly/HA-2030/signin", data={"csrf_token": api.csrf, "household": "H001"}
        )
        assert r.status_code == 403
    assert (await visitor.get("/household_assembly")).status_code == 303  # to the login
    # A supervisor reads but does not run the meeting.
    assert (await jiandu.client.get("/household_assembly/HA-2030")).status_code == 200
    assert (
        await jiandu.client.post(
            "/household_assembly/HA-2030/signin", data={"csrf_token": jiandu.csrf, "household": "H001"}
        )
    ).status_code == 403
    # A form without the CSRF token changes nothing.
    assert (await zhou.client.post("/household_assembly/HA-2030/signin", data={"household": "H001"})).status_code == 403
    assert await writer.ledger.size() == size

    # The printed sheet: one QR code per household, each leading to its own signed scan page.
    sheet = await zhou.client.get("/household_assembly/HA-2030/sheet")
    urls = dict(re.findall(r'id="qr-(H\d+)" data-url="([^"]+)"', sheet.text))
    assert len(urls) == 30 and sheet.text.count("<svg") == 30
    key = tokens.token_key(writer)
    assert (
        urls["H001"]
        == f"http://console.test/household_assembly/HA-2030/scan/H001?t={tokens.sign(key, 'HA-2030', 'H001')}"
    )
    scan = await zhou.client.get(urls["H001"].removeprefix("http://console.test"))
    assert "确认签到" in scan.text and "户主1" in scan.text
    page = await form(
        zhou, "/household_assembly/HA-2030/scan/H001", {"t": tokens.sign(key, "HA-2030", "H001"), "proxy": "户主1之子"}
    )
    assert "H001 扫码签到成功" in page.text and "委托 户主1之子" in page.text
    replay = await zhou.client.get(urls["H001"].removeprefix("http://console.test"))
    assert "已签到" in replay.text and "确认签到" not in replay.text
    forged = await zhou.client.get(f"/household_assembly/HA-2030/scan/H002?t={tokens.sign(key, 'HA-2030', 'H001')}")
    assert "二维码无效" in forged.text and "确认签到" not in forged.text
    page = await form(zhou, "/household_assembly/HA-2030/scan/H002", {"t": tokens.sign(key, "HA-2031", "H002")})
    assert "二维码无效" in page.text
    page = await form(zhou, "/household_assembly/HA-2030/signin", {"household": "H002"})
    assert "H002 已签到" in page.text and "到会率 <b>6.67%</b>" in page.text
    page = await form(zhou, "/household_assembly/HA-2030/signin", {"household": "H002"})
    assert "每户只签到一次" in page.text
    found = await zhou.client.get("/household_assembly/HA-2030/signin", params={"q": "户主1"})
    assert 'id="h-H010"' in found.text and 'id="h-H002"' not in found.text
    page = await form(zhou, "/household_assembly/HA-2030/notices", {"household": ["H003", "H004"], "channel": "sms"})
    assert "已记录通知 2 户" in page.text and "尚未通知到的户（28）" in page.text
    screen = await jiandu.client.get("/household_assembly/HA-2030/screen")
    assert 'id="screen-rate">6.67%' in screen.text

    # Two tellers' sheets, then the results; the supervisor records the flagged cadre's talk.
    tally = {
        "sheet": "1",
        "t0_0": "2",
        "t0_1": "0",
        "t0_2": "0",
        "t1_0": "0",
        "t1_1": "1",
        "t1_2": "1",
        "t2_0": "2",
        "t2_1": "0",
        "t2_2": "0",
    }
    assert "待另一名计票人复核" in (await form(zhou, "/household_assembly/HA-2030/tally", tally)).text
    assert "须由另一名计票人复核" in (await form(zhou, "/household_assembly/HA-2030/tally", tally)).text
    assert "两次录入一致" in (await form(sun, "/household_assembly/HA-2030/tally", tally)).text
    page = await form(zhou, "/household_assembly/HA-2030/publish")
    assert "评议结果已公布：到会率 6.67%" in page.text and "50.00% ⚠" in page.text
    assert "约谈 金建平 的记录" in (await jiandu.client.get("/household_assembly/HA-2030")).text
    assert (
        "约谈已记录"
        in (await form(jiandu, "/household_assembly/HA-2030/talks", {"cadre": "金建平", "note": "镇纪委约谈"})).text
    )
    assert (
        await zhou.client.post(
            "/household_assembly/HA-2030/talks", data={"csrf_token": zhou.csrf, "cadre": "金建平", "note": "x"}
        )
    ).status_code == 403

    # The board: attendance and satisfaction rates, no phone, no household's vote.
    board = await visitor.get("/board")
    assert "2030 年户主大会到会率与满意率" in board.text and "6.67%" in board.text and PHONE not in board.text
    assert "户主1" not in board.text
    # Staff downloads: the register without phone numbers, the sign-ins.
    register = await jiandu.client.get("/exports/household_assembly/households.csv")
    rows = list(csv.reader(io.StringIO(register.content.decode("utf-8-sig"))))
    assert rows[0] == ["户号", "户主", "人数", "承包组"] and len(rows) == 31 and PHONE not in register.text
    signins = list(
        csv.reader(
            io.StringIO(
                (await jiandu.client.get("/exports/household_assembly/signins.csv")).content.decode("utf-8-sig")
            )
        )
    )
    assert [(r[1], r[4], r[5]) for r in signins[1:]] == [("H001", "扫码", "户主1之子"), ("H002", "名单勾选", "")]


async def test_the_demo_pages_render(site: Any, writer: EdgeAgent) -> None:  # noqa: F811
    apis, visitor = site
    await seed(writer)
    async with writer.recorder.step():
        meetings = await store.meetings(writer.db.conn)
    last, this = meetings[1]["id"], meetings[0]["id"]
    home = await apis["zhoumin"].client.get("/household_assembly")
    assert "240 户" in home.text and "逾期" in home.text and "三组机耕路硬化 800 米" in home.text
    held = await apis["jiandu"].client.get(f"/household_assembly/{last}")
    assert "81.25%" in held.text and "约谈 金建平" in held.text and "路基完成" in held.text
    ahead = await apis["zhoumin"].client.get(f"/household_assembly/{this}")
    assert "尚未通知到的户（20）" in ahead.text and "文明家庭" in ahead.text
    # This year's meeting opens with the report on last year's commitments.
    report = ahead.text.split('id="earlier-commitments"')[1].split("</section>")[0]
    assert "三组机耕路硬化 800 米" in report and "逾期" in report and "路基完成" in report and "100%" in report
    board = (await visitor.get("/board")).text
    assert (
        f"{meetings[1]['year']} 年户主大会到会率与满意率" in board
        and rules.WORK in board
        and "户主大会承诺事项及进度" in board
    )
