"""The whistleblower pages: the public clue page (no login, no cookie, nothing from elsewhere, no address or
user agent kept), receipt codes that cannot be guessed (the same answer for any wrong code, a rate limit per
client), and the team's console: who may see and do what, the head's unlock, the board and the exports."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from web_support import Api
from whistleblower_support import PASSPHRASE, Clock, found_in, open_agent, seed_team, set_up_station

from edge.kernel.websettings import WebSettings
from edge.modules.whistleblower.keyring import Unlocked
from edge.web.app import create_app
from edge.web.demo import sample_png
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore

SECRET = "村主任在防汛物资发放时把二十箱方便面拉回了自家小卖部"
CLIENT = ("203.0.113.77", 40404)  # a documentation address: it must not be in any file afterwards
AGENT = "Mozilla/5.0 (Linux; Android 14; TestPhone Build/XYZ-7781) Hostile-UA-4711"


@pytest.fixture
async def site(tmp_path: Path) -> Any:
    clock = Clock()
    agent = await open_agent(tmp_path, X25519PrivateKey.generate(), clock)
    await set_up_station(agent)
    store = await WebStore.open(agent.config.data_dir)
    await seed_team(store, agent)
    ledger = LedgerReader(agent.config.data_dir)
    app = create_app(Console(agent, store, WebSettings(enabled=True)), ledger)
    villager = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=CLIENT),
        base_url="http://console.test",
        headers={"user-agent": AGENT},
    )
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("198.51.100.9", 1)), base_url="http://console.test"
    )
    staff = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") for _ in range(3)
    ]
    yield agent, villager, other, staff
    for c in (villager, other, *staff):
        await c.aclose()
    await ledger.close()
    await store.close()
    await agent.close()


def code_on(page: str) -> str:
    match = re.search(r'id="receipt-code">([0-9 ]+)<', page)
    assert match, page
    return match.group(1)


def sessions(folder: Path) -> int:
    with sqlite3.connect(folder / "web.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


async def test_the_public_page_keeps_no_trace_of_the_villager(site: Any, tmp_path: Path) -> None:
    agent, villager, _, _ = site
    before = sessions(agent.config.data_dir)
    form = await villager.get("/whistleblower/report")
    assert form.status_code == 200 and "set-cookie" not in form.headers
    # Everything the page loads or sends to is on this host.
    for url in re.findall(r'(?:src|href|action)="([^"]*)"', form.text):
        assert url.startswith("/") and not url.startswith("//"), url
    assert (
        "default-src 'self'" in form.headers["content-security-policy"]
        and '<meta name="referrer" content="no-referrer">' in form.text
    )
    filed = await villager.post("/whistleblower/report", data={"text": SECRET})
    assert filed.status_code == 200 and "set-cookie" not in filed.headers
    code = code_on(filed.text)
    assert len(code.replace(" ", "")) == 20
    followed = await villager.post("/whistleblower/follow", data={"code": code})
    assert followed.status_code == 200 and "已收到" in followed.text and "set-cookie" not in followed.headers
    assert sessions(agent.config.data_dir) == before  # no session row was made
    for needle in (CLIENT[0], "Hostile-UA-4711", SECRET, code.replace(" ", "")):
        assert found_in(tmp_path, needle.encode()) == [], needle
    # Another site's form cannot file in a villager's name.
    forged = await villager.post("/whistleblower/report", data={"text": "伪造"}, headers={"origin": "http://evil.test"})
    assert forged.status_code == 403


async def test_a_guessed_receipt_code_fails_and_says_nothing(site: Any) -> None:
    _, villager, other, _ = site
    guess = "12345678901234567890"
    empty = await other.post("/whistleblower/follow", data={"code": guess})  # before any clue exists
    code = code_on((await villager.post("/whistleblower/report", data={"text": SECRET})).text)
    wrong = await other.post("/whistleblower/follow", data={"code": guess})
    assert empty.status_code == wrong.status_code == 404
    assert empty.text == wrong.text and "查询码不正确" in wrong.text and SECRET not in wrong.text
    # A near miss (one digit off) is as wrong as any other code.
    digits = code.replace(" ", "")
    near = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    assert (await other.post("/whistleblower/follow", data={"code": near})).text == wrong.text
    # Ten tries per client in fifteen minutes: the eleventh is refused even with the right code.
    for _ in range(6):  # three tries above, six here
        assert (await other.post("/whistleblower/follow", data={"code": guess})).status_code == 404
    assert (await other.post("/whistleblower/follow", data={"code": digits})).status_code == 200  # the tenth
    limited = await other.post("/whistleblower/follow", data={"code": digits})
    assert limited.status_code == 429 and "过于频繁" in limited.text
    # The limit is per client: the villager still follows their clue.
    assert (await villager.post("/whistleblower/follow", data={"code": code})).status_code == 200


async def test_the_team_works_the_loop_in_the_console(site: Any) -> None:
    _, villager, _, (head_c, liaison_c, outsider_c) = site
    code = code_on(
        (
            await villager.post(
                "/whistleblower/report", data={"text": SECRET, "name": "李秀英", "phone": "139-5771-2345"}
            )
        ).text
    )
    head, liaison, outsider = Api(head_c), Api(liaison_c), Api(outsider_c)
    for api, name in ((head, "zhoujian"), (liaison, "wuxia"), (outsider, "outsider")):
        assert (await api.login(name)).status_code == 200
    assert (await outsider.client.get("/whistleblower")).status_code == 403  # not on the roster
    page = await liaison.client.get("/whistleblower")
    assert page.status_code == 200 and "WB-2026-0001" in page.text and SECRET not in page.text
    clue = await liaison.client.get("/whistleblower/clues/WB-2026-0001")
    assert SECRET not in clue.text and "内容已加密" in clue.text
    assert (await liaison.post("/whistleblower/clues/WB-2026-0001/acknowledge")).status_code == 403
    assert (await head.post("/whistleblower/clues/WB-2026-0001/acknowledge")).status_code == 303
    # Locked, the head reads nothing either; a wrong passphrase unlocks nothing.
    assert SECRET not in (await head.client.get("/whistleblower/clues/WB-2026-0001")).text
    assert (await head.post("/whistleblower/unlock", data={"passphrase": "wrong-passphrase"})).status_code == 400
    assert (await head.post("/whistleblower/unlock", data={"passphrase": PASSPHRASE})).status_code == 303
    opened = await head.client.get("/whistleblower/clues/WB-2026-0001")
    assert SECRET in opened.text and "李秀英" in opened.text
    # The unlock is the head's session's: the liaison's page stays sealed.
    assert SECRET not in (await liaison.client.get("/whistleblower/clues/WB-2026-0001")).text
    assert (
        await head.post(
            "/whistleblower/meetings/review",
            data={
                "held_on": "2026-03-05",
                "attendees": ["zhoujian", "wuxia"],
                "clues": ["WB-2026-0001"],
                "minutes": "交吴霞核实",
            },
        )
    ).status_code == 303
    assert (await head.post("/whistleblower/clues/WB-2026-0001/verify", data={"text": "属实"})).status_code == 303
    assert (
        await head.post(
            "/whistleblower/clues/WB-2026-0001/resolve",
            data={"outcome": "confirmed", "solved": "1", "text": "物资已追回"},
        )
    ).status_code == 303
    assert (
        await head.post("/whistleblower/clues/WB-2026-0001/feedback", data={"text": "物资已追回，感谢监督"})
    ).status_code == 303
    status = await villager.post("/whistleblower/follow", data={"code": code})
    assert "已反馈" in status.text and "物资已追回，感谢监督" in status.text
    # A Q&A meeting's summary goes on the board, with counts; no clue's content, no reporter.
    assert (
        await head.post(
            "/whistleblower/meetings/qa",
            data={
                "held_on": "2026-03-28",
                "attendees": ["zhoujian"],
                "villagers": "35",
                "questions": "5",
                "answered": "5",
                "summary": "答复防汛物资发放问题",
            },
        )
    ).status_code == 303
    board = await villager.get("/board")
    assert "廉情吹哨工作情况（按年）" in board.text and "答复防汛物资发放问题" in board.text
    assert "<th>走访户数</th>" in board.text
    assert SECRET not in board.text and "李秀英" not in board.text and "set-cookie" not in board.headers
    exported = await liaison.client.get("/exports/whistleblower/clues.csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[1][:3] == ["WB-2026-0001", "群众网上举报", "已反馈"] and SECRET not in exported.content.decode(
        "utf-8-sig"
    )


async def test_an_admin_saves_the_roster_and_hears_what_is_missing(site: Any) -> None:
    _, _, _, (admin_c, head_c, _) = site
    admin, head = Api(admin_c), Api(head_c)
    await admin.login("admin")
    await head.login("zhoujian")
    short = "站长 zhoujian 周建 老党员\n联络员 wuxia 吴霞 村务监督委员会委员\n廉情信息员 zhengli 郑丽 村民代表"
    refused = await admin.post("/whistleblower/station", data={"name": "测试村监察工作联络站", "roster": short})
    assert refused.status_code == 400 and "联络员应为 2 名（现有 1 名）" in refused.text
    assert (await head.post("/whistleblower/station", data={"name": "x", "roster": short})).status_code == 403
    full = short + "\n联络员 sunqiang 孙强 村民代表"
    assert (
        await admin.post("/whistleblower/station", data={"name": "测试村监察工作联络站", "roster": full})
    ).status_code == 303


async def test_attachments_open_only_with_the_unlocked_key(site: Any) -> None:
    _, villager, _, (head_c, liaison_c, _) = site
    picture = sample_png(40, 30)
    filed = await villager.post(
        "/whistleblower/report", data={"text": SECRET}, files={"files": ("现场.png", picture, "image/png")}
    )
    assert filed.status_code == 200
    refused = await villager.post(
        "/whistleblower/report",
        data={"text": SECRET},
        files={"files": ("x.html", b"<script>alert(1)</script>", "image/png")},
    )
    assert refused.status_code == 400 and "不是照片" in refused.text
    head, liaison = Api(head_c), Api(liaison_c)
    await head.login("zhoujian")
    await liaison.login("wuxia")
    path = "/whistleblower/clues/WB-2026-0001/attachments/0"
    assert (await head.client.get(path)).status_code == 403  # locked
    await head.post("/whistleblower/unlock", data={"passphrase": PASSPHRASE})
    got = await head.client.get(path)
    assert got.status_code == 200 and got.content == picture and got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("attachment")
    assert (await liaison.client.get(path)).status_code == 403  # the head's session only
    assert (await head.client.get("/whistleblower/clues/WB-2026-0001/attachments/1")).status_code == 404
    # Any member may hand a clue straight to the township; once.
    assert (await liaison.post("/whistleblower/clues/WB-2026-0001/escalate")).status_code == 303
    assert (await liaison.post("/whistleblower/clues/WB-2026-0001/escalate")).status_code == 400
    await head.post("/whistleblower/lock")
    assert (await head.client.get(path)).status_code == 403


def test_an_unlocked_key_expires_with_its_minutes() -> None:
    now = [0.0]
    unlocked = Unlocked(minutes=30, clock=lambda: now[0])
    key = X25519PrivateKey.generate()
    unlocked.unlock("session-a", key)
    now[0] = 30 * 60 - 0.001
    assert unlocked.key("session-a") is key and unlocked.key("session-b") is None
    now[0] = 30 * 60
    assert unlocked.key("session-a") is None


async def test_the_reporter_and_the_head_exchange_messages_by_code(site: Any) -> None:
    _, villager, _, (head_c, _, _) = site
    code = code_on((await villager.post("/whistleblower/report", data={"text": SECRET})).text)
    sent = await villager.post("/whistleblower/follow/message", data={"code": code, "text": "补充：还有五箱矿泉水"})
    assert sent.status_code == 200 and "留言已送达联络站" in sent.text and "（已加密送达联络站）" in sent.text
    assert (
        await villager.post("/whistleblower/follow/message", data={"code": "1" * 20, "text": "冒充"})
    ).status_code == 404
    head = Api(head_c)
    await head.login("zhoujian")
    await head.post("/whistleblower/unlock", data={"passphrase": PASSPHRASE})
    assert "补充：还有五箱矿泉水" in (await head.client.get("/whistleblower/clues/WB-2026-0001")).text
    assert (
        await head.post("/whistleblower/clues/WB-2026-0001/reply", data={"text": "请问是哪天拉走的？"})
    ).status_code == 303
    status = await villager.post("/whistleblower/follow", data={"code": code})
    assert "联络站留言" in status.text and "请问是哪天拉走的？" in status.text
