"""``make demo`` shows the central halves with sample data, seeded through their own steps and agreeing with the
village's: suppliers (one near the blacklist line), the village's street-lamp demand open with bids, its
air-conditioner demand awarded at the central and the signed award carried on to payment at the village; the
deposit tender of last month finished with its published scores and ranking (its award signed at the village)
and this month's open; the village's ditch in the township's sealed-quote round, the demo supplier invited with
the two drawn contractors' quotes in; run twice on the same data (SQLite), the second run adds nothing, and the central's
decision log still verifies."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

import httpx
from edge_support import qinglian, serve_demo, stop_demo


def _kinds(ledger: Path, prefix: str) -> dict[str, int]:
    """How many entries of each of a part's kinds a ledger holds."""
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT kind, count(*) FROM entries WHERE kind LIKE ? GROUP BY kind", (f"{prefix}.%",))
        return dict(rows.fetchall())


def _page(client: httpx.Client, username: str, password: str, path: str) -> str:
    """``path`` as ``username`` sees it, logged in through the form as a browser would."""
    client.cookies.clear()
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]*)"', form.text)
    assert token is not None
    reply = client.post("/login", data={"username": username, "password": password, "csrf": token.group(1)})
    assert reply.status_code == 303, (username, reply.text[:300])
    page = client.get(path)
    assert page.status_code == 200, (username, path)
    return page.text


def _demand(text: str, title: str) -> str:
    """One demand's card on the township's page."""
    start = text.index(title)
    return text[start : start + 1500]


def test_the_demo_shows_the_central_halves_once(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    counts = []
    for run in range(2):
        log = tmp_path / f"demo-{run}.log"
        proc, text = serve_demo(data, log)
        try:
            central = re.search(r"central store: (http://127\.0\.0\.1:\d+)/", text)
            assert central is not None, text
            password = json.loads((data / "demo-accounts.json").read_text(encoding="utf-8"))["password"]
            with httpx.Client(base_url=central.group(1), timeout=15) as client:
                suppliers = _page(client, "xianguan", password, "/m/procurement/suppliers")
                near = suppliers[suppliers.index('id="credit-huaxin"') :][:200]  # its credit card
                assert "萧山华鑫家电有限公司" in near and "82.5 分" in near and "黑名单" not in near
                for org in ("绿山办公用品有限公司", "绍兴诚信电器有限公司", "杭州明亮照明工程有限公司"):
                    assert org in suppliers
                township = _page(client, "hezhen", password, "/m/procurement")
                assert "竞价中" in _demand(township, "村道亮化路灯采购")
                assert "已定标" in _demand(township, "党群服务中心空调采购")
                tenders = _page(client, "lvshan", password, "/m/procurement/tenders")  # the demo supplier may bid
                assert "村道亮化路灯采购" in tenders and "¥30,800.00" in tenders
                assert re.search(r'class="bidders">2</span>', tenders), tenders
                deals = _page(client, "xianguan", password, "/m/procurement/deals")
                assert "绍兴诚信电器有限公司" in deals and "12,360.00" in deals
                splits = _page(client, "hezhen", password, "/m/procurement/splits")  # the village's purchases, flagged
                assert "同一项目累计" in splits and "“村道亮化”" in splits and "¥5,350.00" in splits
                goods = _page(client, "hezhen", password, "/m/procurement/catalogue")  # the suppliers' prices
                assert "太阳能路灯 6 米灯杆" in goods and "¥1,520.00/套" in goods and "杭州明亮照明工程有限公司" in goods
                with sqlite3.connect(f"file:{data / 'central' / 'central.sqlite3'}?mode=ro", uri=True) as conn:
                    tenders_by_status = dict(conn.execute("SELECT status, tender_id FROM competitive_deposit_tenders"))
                finished = _page(client, "xianguan", password, f"/m/competitive_deposit/tenders/{quote(tenders_by_status['opened'], safe='')}")
                ranked = re.findall(r"<tr><td>(\d)</td><td>([^<]+)</td>.*?<td>([\d.]+)</td></tr>", finished, re.S)
                assert ranked == [("1", "杭州银行萧山支行", "96.00"), ("2", "萧山农村商业银行河上支行", "94.10"),
                                  ("3", "中国农业银行萧山分行", "91.65")], finished  # fmt: skip
                bank = _page(client, "nongshang", password, "/m/competitive_deposit/tenders")  # the demo bank
                assert tenders_by_status["bidding"] in bank and "未开标" in bank
                projects = _page(client, "hezhen", password, "/m/small_project/projects")  # the township's round
                ditch = _demand(projects, "村口排水沟改造")
                assert "村推荐：绿山办公用品有限公司" in ditch and "抽取记录" in ditch, ditch
                assert "密封报价中" in ditch and "已收到 2 家" in ditch, ditch
                invited = _page(client, "lvshan", password, "/m/small_project/quotes")  # the demo supplier, invited
                assert "村口排水沟改造" in invited and "预算 68,100.00 元" in invited and "提交密封报价" in invited
        finally:
            stop_demo(proc, log)
        village = _kinds(data / "ledger.sqlite3", "procurement") | _kinds(data / "ledger.sqlite3", "competitive_deposit")
        decisions = data / "central" / "decisions" / "ledger.sqlite3"
        small = (_kinds(decisions, "small_project"), _kinds(data / "ledger.sqlite3", "small_project"))
        counts.append((_kinds(decisions, "procurement"), _kinds(decisions, "competitive_deposit"), village, small))
    assert counts[0] == counts[1]  # the second run added nothing, at either half
    central_kinds, deposit, village, (township, at_village) = counts[0]
    # The quoting project's round is the township's own: fixed, drawn, invited, two sealed quotes in, and the
    # village revealed its value between (the settled project's documents are still the village demo's stand-ins).
    assert {k: township[k] for k in ("small_project.draw_fixed", "small_project.drawn", "small_project.quoting",
                                     "small_project.quote")} == {"small_project.draw_fixed": 1, "small_project.drawn": 1,
                                                                 "small_project.quoting": 1, "small_project.quote": 2}  # fmt: skip
    assert at_village["small_project.village_revealed"] == 2 and at_village["small_project.quoting"] == 2  # both projects
    with sqlite3.connect(f"file:{data / 'ledger.sqlite3'}?mode=ro", uri=True) as conn:
        quoting = [json.loads(b) for (b,) in conn.execute("SELECT body FROM entries WHERE kind = 'small_project.quoting'")]
    real = [q for q in quoting if q["document"]["id"] != "demo"]
    assert len(real) == 1 and real[0]["document"]["signature"] and real[0]["hotline"] == "0572-2345678"
    assert real[0]["invited"][0]["name"] == "绿山办公用品有限公司" and len(real[0]["invited"]) == 3
    assert deposit == {
        "competitive_deposit.tender": 2, "competitive_deposit.bid": 5, "competitive_deposit.scores": 3,
        "competitive_deposit.result": 1, "competitive_deposit.award": 1,
    }  # fmt: skip
    assert village["competitive_deposit.award"] == 1 and village["competitive_deposit.signed"] == 1
    assert central_kinds == {
        "procurement.credit_deducted": 4, "procurement.demand_approved": 2, "procurement.bid": 5, "procurement.award": 1,
        "procurement.catalogue_listed": 6,
    }  # fmt: skip
    # The village's award is the central's signed document (no stand-in), and the deal went on to its payment.
    assert village["procurement.award"] == 1 and village["procurement.payment_recorded"] == 1
    with sqlite3.connect(f"file:{data / 'ledger.sqlite3'}?mode=ro", uri=True) as conn:
        (body,) = conn.execute("SELECT body FROM entries WHERE kind = 'procurement.award'").fetchone()
    award = json.loads(body)
    assert award["supplier"]["name"] == "绍兴诚信电器有限公司" and award["amount_fen"] == 1_236_000
    assert award["document"]["id"] != "demo" and award["document"]["signature"]
    verified = qinglian("ledger", "verify", "--data", str(data / "central" / "decisions"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
