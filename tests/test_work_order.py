"""Labour dispatch on a real edge agent (ledger + working database): the pool with sealed personal numbers, orders
signed by the head through the routing desk, the 30,000 yuan limit, the week's plan and the emergency path, dispatch
by rotation (a relative passed over, a refuser), the cursor surviving a replay from the ledger, attendance and pay on
a month of orders, bank transfer only; the console's pages, exports and notice board; the CLI contract."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_support import qinglian, write_config
from web_support import Api, seed_account

from edge.agent import EdgeAgent
from edge.kernel.config import EdgeConfig, load_config
from edge.kernel.db import DB_FILENAME
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.websettings import WebSettings
from edge.modules import PARTS
from edge.modules.work_order import WORK_ORDER, desk
from edge.modules.work_order import kinds as K
from edge.modules.work_order import projection as Q
from edge.modules.work_order.rules import id_check_digit, week_of
from edge.web.app import create_app
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore

ACCOUNT = "host:test"
MONDAY = date(2026, 11, 2)  # weeks W45..W48 for a month of orders


def work_order_config(folder: Path, more: str = "") -> EdgeConfig:
    path = write_config(folder, "socket://127.0.0.1:9")
    with path.open("a", encoding="utf-8") as f:
        f.write('\n[work_order]\nhead = "zhangwei"\nlead = "zhaolei"\nfinance = "chenjing"\n' + more)
    return load_config(path, [WORK_ORDER.config] if WORK_ORDER.config else [])


def id_number(n: int) -> str:
    first = f"3301101985030{n:04d}"
    return first + id_check_digit(first)


def bank(n: int) -> str:
    return f"6228480399{n:09d}"


@pytest.fixture
async def agent(tmp_path: Path) -> Any:
    a = await EdgeAgent.open(work_order_config(tmp_path), parts=PARTS)
    yield a
    await a.close()


def who(agent: EdgeAgent, person: str) -> Any:
    return agent.config.person(person)


async def register(agent: EdgeAgent, n: int, trade: str = "cleaning", relatives: list[str] | None = None) -> str:
    form = {"name": f"工人{n}", "trade": trade, "area": "红丰一片", "group": f"{n % 8 + 1}组", "phone": f"1385710{n:04d}",
            "id_number": id_number(n), "bank_account": bank(n), "relatives": relatives or []}  # fmt: skip
    async with agent.recorder.step():
        return await desk.register_worker(agent, who(agent, "liming"), ACCOUNT, form)


def job(day: date, days: int = 1, headcount: int = 2, rate: str = "160", trade: str = "cleaning", **extra: str) -> dict[str, Any]:
    end = day + timedelta(days=days - 1)
    return {"content": "村道清扫", "trade": trade, "headcount": str(headcount), "place": "红丰路", "rate": rate,
            "start": day.isoformat(), "end": end.isoformat(), **extra}  # fmt: skip


async def step(agent: EdgeAgent, fn: Any, *args: Any, **kw: Any) -> Any:
    async with agent.recorder.step():
        return await fn(agent, *args, **kw)


async def planned(agent: EdgeAgent, day: date, **kw: Any) -> str:
    """An order filed by liming, signed by the head, in its week's approved plan."""
    order_id = await step(agent, desk.file_order, who(agent, "liming"), ACCOUNT, job(day, **kw))
    await step(agent, desk.decide_order, who(agent, "zhangwei"), ACCOUNT, order_id, True)
    week = (await step(agent, lambda a: Q.order(a.db.conn, order_id)))["week"]
    await step(agent, desk.draft_plan, who(agent, "liming"), ACCOUNT, week)
    meeting = {"meeting_day": day.isoformat(), "attendees": "张伟、陈静、赵磊", "minutes": "同意本周用工计划"}
    await step(agent, desk.approve_plan, who(agent, "zhangwei"), ACCOUNT, week, meeting)
    return str(order_id)


# -- the pool -------------------------------------------------------------------------------------------------


async def test_personal_numbers_are_sealed_in_the_ledger_and_the_database_and_open_on_this_edge(agent: EdgeAgent) -> None:
    w = await register(agent, 1)
    raw = b"".join(p.read_bytes() for p in agent.config.data_dir.rglob("*") if p.is_file())
    assert id_number(1).encode() not in raw and bank(1).encode() not in raw
    async with agent.recorder.step():
        row = await Q.one(agent.db.conn, "SELECT * FROM wo_workers WHERE id = ?", (w,))
        seal = await desk.sealer(agent)
    assert row is not None and seal.open(w, "id_number", row["id_sealed"]) == id_number(1)
    assert seal.open(w, "bank_account", row["bank_sealed"]) == bank(1)
    with pytest.raises(Exception, match="无法解开"):  # a sealed number copied onto another worker's row does not open
        seal.open("W999", "id_number", row["id_sealed"])
    with pytest.raises(InputError, match="已登记"):  # the same person twice, found by the keyed digest
        await register(agent, 1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("id_number", "330110198503000011", "校验位"), ("bank_account", "12", "银行账号"), ("phone", "12345", "联系电话"),
     ("trade", "plumbing", "工种"), ("name", "", "姓名"), ("name", "长" * 21, "过长"), ("area", "a\x00b", "控制字符"),
     ("relatives", ["nobody"], "亲属")],
)  # fmt: skip
async def test_a_bad_registration_changes_nothing(agent: EdgeAgent, field: str, value: Any, message: str) -> None:
    form = {"name": "工人", "trade": "cleaning", "area": "一片", "group": "一组", "phone": "13857100001",
            "id_number": id_number(1), "bank_account": bank(1), field: value}  # fmt: skip
    size = await agent.ledger.size()
    with pytest.raises(InputError, match=message):
        await step(agent, desk.register_worker, who(agent, "liming"), ACCOUNT, form)
    async with agent.recorder.step():
        assert await Q.workers(agent.db.conn) == []
    assert await agent.ledger.size() == size


async def test_statuses_unavailable_needs_reason_and_dates_blacklist_needs_a_committee_member(agent: EdgeAgent) -> None:
    w = await register(agent, 1)
    with pytest.raises(InputError, match="原因"):
        await step(agent, desk.set_status, who(agent, "liming"), ACCOUNT, w, {"status": "unavailable", "from": "2026-11-02", "to": "2026-11-03"})
    with pytest.raises(InputError, match="早于"):
        await step(agent, desk.set_status, who(agent, "liming"), ACCOUNT, w, {"status": "unavailable", "reason": "外出", "from": "2026-11-03", "to": "2026-11-02"})
    with pytest.raises(Refused, match="两委会"):
        await step(agent, desk.set_status, who(agent, "liming"), ACCOUNT, w, {"status": "blacklisted", "reason": "出工不出力"})
    with pytest.raises(InputError, match="理由"):
        await step(agent, desk.set_status, who(agent, "zhangwei"), ACCOUNT, w, {"status": "blacklisted"})
    with pytest.raises(NotFound):
        await step(agent, desk.set_status, who(agent, "zhangwei"), ACCOUNT, "W404", {"status": "available"})
    await step(agent, desk.set_status, who(agent, "zhangwei"), ACCOUNT, w, {"status": "blacklisted", "reason": "两委会决定：出工不出力"})
    async with agent.recorder.step():
        row = (await Q.workers(agent.db.conn))[0]
    assert (row["status"], row["status_reason"], row["status_by"]) == ("blacklisted", "两委会决定：出工不出力", "zhangwei")


# -- orders, the limit, the plan ----------------------------------------------------------------------------------


async def test_an_order_of_thirty_thousand_yuan_is_sent_to_small_projects(agent: EdgeAgent) -> None:
    liming = who(agent, "liming")
    with pytest.raises(Refused) as err:
        await step(agent, desk.file_order, liming, ACCOUNT, job(MONDAY, headcount=30, rate="1000"))
    assert err.value.code == "over_limit" and "限额工程" in err.value.message
    order_id = await step(agent, desk.file_order, liming, ACCOUNT, job(MONDAY, headcount=30, rate="999.99"))
    async with agent.recorder.step():
        o = await Q.order(agent.db.conn, order_id)
    assert o is not None and o["amount_fen"] == 2_999_970 and o["status"] == "pending"


async def catalogue(agent: EdgeAgent) -> None:
    """The township's guide-price catalogue at the village (as the small-project demo records it), so 限额工程's
    filing form is there to take an offered job."""
    from edge.modules.small_project import demo as small_demo
    from edge.modules.small_project import desk as small_desk
    from edge.modules.small_project import kinds as small_kinds

    await small_desk.record_demo_document(agent, small_kinds.CATALOGUE, small_demo.CATALOGUE)


async def test_a_job_of_thirty_thousand_is_offered_to_small_projects_prefilled_and_nothing_filed(agent: EdgeAgent) -> None:
    from edge.modules.small_project import projection as small_projects

    await catalogue(agent)
    store = await WebStore.open(agent.config.data_dir)
    await seed_account(store, agent, "liming", ["applicant"], "liming", None)
    ledger = LedgerReader(agent.config.data_dir)
    transport = httpx.ASGITransport(app=create_app(Console(agent, store, WebSettings(enabled=True)), ledger))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            staff = Api(c)
            await staff.login("liming")
            before = await agent.ledger.size()
            big = job(MONDAY, headcount=30, rate="1000", content="村口<b>排水沟</b>清淤", place="村口至文化礼堂")  # ¥30,000.00
            refused = await c.post("/work_order/orders", data={"csrf_token": staff.csrf, **big})
            assert refused.status_code == 409 and "请按限额工程申报" in refused.text and "¥30,000.00" in refused.text
            assert "<b>排水沟</b>" not in refused.text  # what was typed is escaped, here and on the form
            offer = re.search(r'href="(/small_project\?[^"]+)" id="offer-small-project"', refused.text)
            assert offer is not None and await agent.ledger.size() == before  # refused: no order, nothing filed
            form = (await c.get(html.unescape(offer[1]))).text
            assert '<details class="card" id="file-details" open>' in form
            assert 'name="name" maxlength="60" required value="村口&lt;b&gt;排水沟&lt;/b&gt;清淤"' in form
            assert 'name="place" maxlength="60" required value="村口至文化礼堂"' in form
            assert "由派工单转来：村口&lt;b&gt;排水沟&lt;/b&gt;清淤（村口至文化礼堂，估算 ¥30,000.00）</textarea>" in form
            assert "转来的估算金额 30,000.00 元" in form
            async with agent.recorder.step():
                assert await small_projects.projects(agent.db.conn) == [] and await Q.orders(agent.db.conn) == []
            assert await agent.ledger.size() == before
            # 29,999.70 (the largest a form can reach below the limit: ¥999.99 × 30 people × 1 day) stays here
            kept = await c.post("/work_order/orders", data={"csrf_token": staff.csrf, **job(MONDAY, headcount=30, rate="999.99")})
            assert kept.status_code == 303 and kept.headers["location"].startswith("/work_order/orders/WO-")
            # a hand-made query with a bad amount prefills the texts only, and a plain visit opens nothing
            odd = (await c.get("/small_project", params={"name": "x" * 80, "amount": "1e9"})).text
            assert f'value="{"x" * 60}"' in odd and "转来的估算金额" not in odd
            assert 'id="file-details">' in (await c.get("/small_project")).text
    finally:
        await ledger.close()
        await store.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [({"rate": "1e20"}, "日工资"), ({"rate": "-5"}, "日工资"), ({"rate": "2000.01"}, "日工资"), ({"headcount": "0"}, "人数"),
     ({"headcount": "x"}, "人数"), ({"start": "2026-13-01"}, "日期"), ({"content": ""}, "用工内容")],
)  # fmt: skip
async def test_hostile_numbers_in_an_order_are_refused(agent: EdgeAgent, change: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        await step(agent, desk.file_order, who(agent, "liming"), ACCOUNT, job(MONDAY) | change)


async def test_the_head_signs_through_the_routing_desk_and_never_their_own_order(agent: EdgeAgent) -> None:
    with pytest.raises(InputError) as err:
        await step(agent, desk.file_order, who(agent, "zhangwei"), ACCOUNT, job(MONDAY))
    assert err.value.code == "route_impossible"
    order_id = await step(agent, desk.file_order, who(agent, "liming"), ACCOUNT, job(MONDAY))
    with pytest.raises(Refused) as refused:
        await step(agent, desk.decide_order, who(agent, "chenjing"), ACCOUNT, order_id, True)
    assert refused.value.code == "not_on_route"
    await step(agent, desk.decide_order, who(agent, "zhangwei"), ACCOUNT, order_id, True)
    with pytest.raises(Refused):
        await step(agent, desk.decide_order, who(agent, "zhangwei"), ACCOUNT, order_id, True)
    kinds = [e.kind for e in await agent.ledger.entries()]
    assert kinds.count(K.APPROVAL_REFUSED) == 2 and kinds.count(K.APPROVED) == 1


async def test_an_unplanned_order_is_refused_and_the_emergency_path_is_flagged_for_the_next_meeting(agent: EdgeAgent) -> None:
    for n in range(1, 5):
        await register(agent, n)
    liming, head = who(agent, "liming"), who(agent, "zhangwei")
    unplanned = await step(agent, desk.file_order, liming, ACCOUNT, job(MONDAY))
    await step(agent, desk.decide_order, head, ACCOUNT, unplanned, True)
    with pytest.raises(Refused, match="尚未经两委会审定"):
        await step(agent, desk.dispatch, liming, ACCOUNT, unplanned)
    await planned(agent, MONDAY + timedelta(days=1))  # the week's plan: drafted with both, then approved
    # once the plan is frozen, a new order in that week is refused unless it comes by the emergency path
    with pytest.raises(Refused) as frozen:
        await step(agent, desk.file_order, liming, ACCOUNT, job(MONDAY + timedelta(days=2)))
    assert frozen.value.code == "plan_frozen"
    with pytest.raises(InputError, match="紧急用工理由"):
        await step(agent, desk.file_order, liming, ACCOUNT, job(MONDAY + timedelta(days=2), emergency="1"))
    urgent = await step(agent, desk.file_order, liming, ACCOUNT, job(MONDAY + timedelta(days=2), emergency="1", emergency_reason="暴雨后排水沟清淤"))
    with pytest.raises(Refused, match="不能派工"):  # the head's approval comes first
        await step(agent, desk.dispatch, liming, ACCOUNT, urgent)
    await step(agent, desk.decide_order, head, ACCOUNT, urgent, True)
    sent = await step(agent, desk.dispatch, liming, ACCOUNT, urgent)
    assert len(sent["workers"]) == 2
    # the next week's meeting takes note of it
    async with agent.recorder.step():
        assert [o["id"] for o in await Q.unreviewed_emergencies(agent.db.conn)] == [urgent]
    await planned(agent, MONDAY + timedelta(days=7))
    async with agent.recorder.step():
        o = await Q.order(agent.db.conn, urgent)
        plan = await Q.plan(agent.db.conn, "2026-W46")
    assert o is not None and plan is not None and o["reviewed_week"] == "2026-W46" and plan["emergencies"] == [urgent]


async def test_an_order_signed_after_the_draft_stays_outside_the_approved_plan(agent: EdgeAgent) -> None:
    for n in range(1, 4):
        await register(agent, n)
    liming, head = who(agent, "liming"), who(agent, "zhangwei")
    first = await step(agent, desk.file_order, liming, ACCOUNT, job(MONDAY))
    late = await step(agent, desk.file_order, liming, ACCOUNT, job(MONDAY))
    await step(agent, desk.decide_order, head, ACCOUNT, first, True)
    await step(agent, desk.draft_plan, liming, ACCOUNT, "2026-W45")
    await step(agent, desk.decide_order, head, ACCOUNT, late, True)
    with pytest.raises(InputError, match="至少 3 人"):
        await step(agent, desk.approve_plan, head, ACCOUNT, "2026-W45", {"meeting_day": "2026-11-02", "attendees": "张伟、陈静", "minutes": "同意"})
    with pytest.raises(Refused, match="两委会成员"):
        await step(agent, desk.approve_plan, liming, ACCOUNT, "2026-W45", {"meeting_day": "2026-11-02", "attendees": "张伟、陈静、赵磊", "minutes": "同意"})
    await step(agent, desk.approve_plan, head, ACCOUNT, "2026-W45", {"meeting_day": "2026-11-02", "attendees": "张伟、陈静、赵磊", "minutes": "同意"})
    with pytest.raises(Refused, match="冻结"):
        await step(agent, desk.draft_plan, liming, ACCOUNT, "2026-W45")
    with pytest.raises(Refused, match="不在本周已审定的用工计划内"):
        await step(agent, desk.dispatch, liming, ACCOUNT, late)
    assert len((await step(agent, desk.dispatch, liming, ACCOUNT, first))["workers"]) == 2


# -- dispatch ------------------------------------------------------------------------------------------------------


async def test_a_relative_is_passed_over_a_refuser_loses_the_turn_and_the_cursor_survives_a_replay(agent: EdgeAgent, tmp_path: Path) -> None:
    ids = [await register(agent, n, relatives=["liming"] if n == 2 else None) for n in range(1, 6)]
    await register(agent, 9, trade="painting")
    liming = who(agent, "liming")
    first = await planned(agent, MONDAY)
    sent = await step(agent, desk.dispatch, liming, ACCOUNT, first)
    assert sent["workers"] == [ids[0], ids[2]] and sent["skipped"] == [{"worker": ids[1], "reason": "relative"}]
    assert (sent["cursor_before"], sent["cursor_after"]) == (None, 3)
    second = await planned(agent, MONDAY + timedelta(days=7))
    sent = await step(agent, desk.dispatch, liming, ACCOUNT, second, refused=[ids[3]])
    assert sent["workers"] == [ids[4], ids[0]] and sent["skipped"] == [{"worker": ids[3], "reason": "refused"}]
    with pytest.raises(Refused):  # dispatched once only
        await step(agent, desk.dispatch, liming, ACCOUNT, second)
    with pytest.raises(InputError, match="不在此工种名库"):
        third = await planned(agent, MONDAY + timedelta(days=14))
        await step(agent, desk.dispatch, liming, ACCOUNT, third, refused=["W006"])  # the painter is not a cleaner
    # the cursor is a projection of the ledger: rebuilt from it alone, the next dispatch continues the same way
    await agent.close()
    (agent.config.data_dir / DB_FILENAME).unlink()
    for extra in agent.config.data_dir.glob(DB_FILENAME + "-*"):
        extra.unlink()
    again = await EdgeAgent.open(agent.config, parts=PARTS)
    try:
        async with again.recorder.step():
            assert await Q.cursor(again.db.conn, "cleaning") == 1
            seal = await desk.sealer(again)
            row = await Q.one(again.db.conn, "SELECT id_sealed FROM wo_workers WHERE id = ?", (ids[0],))
        assert row is not None and seal.open(ids[0], "id_number", row["id_sealed"]) == id_number(1)
        sent = await step(again, desk.dispatch, liming, ACCOUNT, third)
        assert sent["workers"] == [ids[2], ids[3]] and sent["skipped"] == [{"worker": ids[1], "reason": "relative"}]
    finally:
        await again.close()


async def test_too_few_eligible_workers_refuses_the_dispatch(agent: EdgeAgent) -> None:
    w = await register(agent, 1)
    await register(agent, 2)
    await step(agent, desk.set_status, who(agent, "liming"), ACCOUNT, w, {"status": "unavailable", "reason": "外出", "from": "2026-11-01", "to": "2026-11-30"})
    order_id = await planned(agent, MONDAY)
    with pytest.raises(InputError, match="可派工人不足"):
        await step(agent, desk.dispatch, who(agent, "liming"), ACCOUNT, order_id)
    async with agent.recorder.step():
        assert await Q.dispatch(agent.db.conn, order_id) is None and await Q.cursor(agent.db.conn, "cleaning") is None


# -- attendance and pay ---------------------------------------------------------------------------------------------


async def test_attendance_and_pay_on_a_month_of_orders(agent: EdgeAgent) -> None:
    ids = [await register(agent, n) for n in range(1, 7)]
    liming, lead, finance = who(agent, "liming"), who(agent, "zhaolei"), who(agent, "chenjing")
    paid: dict[str, int] = {}
    for week in range(4):
        day = MONDAY + timedelta(days=7 * week)
        order_id = await planned(agent, day, days=3, headcount=3, rate="160.01")
        sent = await step(agent, desk.dispatch, liming, ACCOUNT, order_id)
        for d in range(3):
            marks = {w: "full" for w in sent["workers"]}
            if d == 2:
                marks[sent["workers"][0]] = "half"
                marks[sent["workers"][1]] = "absent"
            await step(agent, desk.record_attendance, liming, ACCOUNT, order_id, (day + timedelta(days=d)).isoformat(), marks)
        pay_id = await step(agent, desk.file_pay, liming, ACCOUNT, order_id)
        with pytest.raises(Refused) as early:  # finance decides after the lead's check, never before
            await step(agent, desk.decide_pay, finance, ACCOUNT, pay_id, True)
        assert early.value.code == "out_of_order"
        await step(agent, desk.decide_pay, lead, ACCOUNT, pay_id, True)
        with pytest.raises(Refused, match="现金"):
            await step(agent, desk.record_paid, finance, ACCOUNT, pay_id, "cash", "NB0001")
        with pytest.raises(Refused, match="待审核"):
            await step(agent, desk.record_paid, finance, ACCOUNT, pay_id, "bank", "NB000001")
        await step(agent, desk.decide_pay, finance, ACCOUNT, pay_id, True)
        with pytest.raises(Refused, match="财务"):
            await step(agent, desk.record_paid, lead, ACCOUNT, pay_id, "bank", "NB000001")
        with pytest.raises(InputError, match="流水号"):
            await step(agent, desk.record_paid, finance, ACCOUNT, pay_id, "bank", "1;DROP")
        await step(agent, desk.record_paid, finance, ACCOUNT, pay_id, "bank", f"NB2026110{week}01")
        async with agent.recorder.step():
            pay = await Q.pay_of(agent.db.conn, order_id)
        assert pay is not None and pay["status"] == "paid"
        for line in pay["lines"]:
            paid[line["worker"]] = paid.get(line["worker"], 0) + line["amount_fen"]
        # 2.5 days = 400.025 → 400.03; 2 days = 320.02; 3 days = 480.03
        assert sorted(line["amount_fen"] for line in pay["lines"]) == [32_002, 40_003, 48_003]
        assert pay["total_fen"] == 120_008 <= 144_009  # the plan line: 3 × 3 × 160.01
    # six workers, four jobs of three: each worked exactly twice
    assert set(paid) == set(ids)
    async with agent.recorder.step():
        counts = await Q.rows(agent.db.conn, "SELECT workers FROM wo_dispatches")
    assert sorted(sum((c["workers"] for c in counts), [])) == sorted(ids * 2)


async def test_attendance_only_for_the_dispatched_within_the_dates_and_frozen_once_pay_is_filed(agent: EdgeAgent) -> None:
    for n in range(1, 4):
        await register(agent, n)
    liming = who(agent, "liming")
    order_id = await planned(agent, MONDAY, days=2)
    with pytest.raises(Refused, match="尚未派工"):
        await step(agent, desk.record_attendance, liming, ACCOUNT, order_id, "2026-11-02", {})
    sent = await step(agent, desk.dispatch, liming, ACCOUNT, order_id)
    full = {w: "full" for w in sent["workers"]}
    with pytest.raises(InputError, match="派工日期"):
        await step(agent, desk.record_attendance, liming, ACCOUNT, order_id, "2026-11-04", full)
    with pytest.raises(InputError, match="逐一登记"):
        await step(agent, desk.record_attendance, liming, ACCOUNT, order_id, "2026-11-02", full | {"W003": "full"})
    with pytest.raises(InputError, match="全天、半天或缺勤"):
        await step(agent, desk.record_attendance, liming, ACCOUNT, order_id, "2026-11-02", {w: "2" for w in sent["workers"]})
    with pytest.raises(InputError, match="没有出勤"):
        await step(agent, desk.file_pay, liming, ACCOUNT, order_id)
    await step(agent, desk.record_attendance, liming, ACCOUNT, order_id, "2026-11-02", {w: "absent" for w in sent["workers"]})
    await step(agent, desk.record_attendance, liming, ACCOUNT, order_id, "2026-11-02", full)  # a correction replaces the day
    await step(agent, desk.file_pay, liming, ACCOUNT, order_id)
    with pytest.raises(Refused, match="已造册"):
        await step(agent, desk.record_attendance, liming, ACCOUNT, order_id, "2026-11-03", full)
    with pytest.raises(Refused, match="已造册"):
        await step(agent, desk.file_pay, liming, ACCOUNT, order_id)


# -- the console, the board, exports ---------------------------------------------------------------------------------


async def test_the_pages_exports_and_board_show_the_pool_and_pay_without_anything_personal(agent: EdgeAgent) -> None:
    await WORK_ORDER.demo(agent)  # type: ignore[misc]
    await WORK_ORDER.demo(agent)  # type: ignore[misc]  # a second run adds nothing
    async with agent.recorder.step():
        assert len(await Q.workers(agent.db.conn)) == 16 and len(await Q.pays(agent.db.conn, "paid")) == 1
    store = await WebStore.open(agent.config.data_dir)
    for username, roles, person in (("liming", ["applicant"], "liming"), ("zhangwei", ["approver"], "zhangwei")):
        await seed_account(store, agent, username, roles, person, None)
    ledger = LedgerReader(agent.config.data_dir)
    transport = httpx.ASGITransport(app=create_app(Console(agent, store, WebSettings(enabled=True)), ledger))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as visitor, httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            staff = Api(c)
            await staff.login("liming")
            week = week_of(desk.today())
            for path in ("/work_order", "/work_order/workers", "/work_order/orders/" + (await _first_order(agent)), f"/work_order/plans/{week}"):
                page = await c.get(path)
                assert page.status_code == 200, path
            plan = (await c.get(f"/work_order/plans/{week}")).text
            assert "两委会已审定（冻结）" in plan and "红丰路及村口落叶清扫" in plan
            assert (await c.get("/work_order/plans/2026-W99")).status_code == 400
            assert (await c.get("/work_order/orders/WO-none")).status_code == 404
            pool = (await c.get("/work_order/workers")).text
            assert "13857100001" in pool and id_number(1) not in pool  # staff see the phone; the ID only masked
            board = (await visitor.get("/board")).text
            assert "务工人员名库及轮派顺序" in board and "劳务工资发放表" in board and "派工记录" in board
            assert "1385710" not in board and "62284803" not in board and "住院治疗" not in board
            exported = await c.get("/exports/work_order/pay.csv")
            rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
            assert rows[0] == ["派工单", "姓名", "出勤天数", "金额", "发放方式", "转账日期"] and len(rows) == 4
            assert {r[4] for r in rows[1:]} == {"银行转账"}
            for name in ("pool", "plans", "dispatches", "attendance", "figures", "summary"):
                xlsx = await c.get(f"/exports/work_order/{name}.xlsx")
                assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK"), name
            listed = (await visitor.get("/board/work_order/1.csv")).content.decode("utf-8-sig")
            assert listed.startswith("工种,轮派序号,编号,姓名,片区,小组,状态") and "沈阿大" in listed and "1385710" not in listed
            # a cash payment posted by hand is refused with its message, and changes nothing
            refused = await c.post("/work_order/pays/PAY-x/paid", data={"csrf_token": staff.csrf, "method": "cash", "transfer_ref": "x"})
            assert refused.status_code == 404
    finally:
        await ledger.close()
        await store.close()


async def _first_order(agent: EdgeAgent) -> str:
    async with agent.recorder.step():
        return str((await Q.orders(agent.db.conn))[0]["id"])


# -- the command (contract) -------------------------------------------------------------------------------------------


def test_the_dispatch_command_recomputes_a_rotation(tmp_path: Path) -> None:
    pool = {"workers": [
        {"id": "c3", "name": "丙", "trade": "cleaning", "order": 3, "blacklisted": False, "available": True},
        {"id": "c1", "name": "甲", "trade": "cleaning", "order": 1, "blacklisted": False, "available": True},
        {"id": "c2", "name": "乙", "trade": "cleaning", "order": 2, "blacklisted": True, "available": True},
        {"id": "c4", "name": "丁", "trade": "cleaning", "order": 4, "blacklisted": False, "available": False},
        {"id": "e1", "name": "戊", "trade": "water_electric", "order": 1, "blacklisted": False, "available": True},
    ]}  # fmt: skip
    jobs = [{"id": "J1", "trade": "cleaning", "workers": 1}, {"id": "J2", "trade": "cleaning", "workers": 2}, {"id": "J3", "trade": "water_electric", "workers": 1}]
    (tmp_path / "pool.json").write_text(json.dumps(pool), encoding="utf-8")
    (tmp_path / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    out = qinglian("labour", "dispatch", "--pool", str(tmp_path / "pool.json"), "--jobs", str(tmp_path / "jobs.json"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "assignments": [{"job": "J1", "workers": ["c1"]}, {"job": "J2", "workers": ["c3", "c1"]}, {"job": "J3", "workers": ["e1"]}],
        "skipped": [{"job": "J2", "worker": "c2", "reason": "blacklisted"}, {"job": "J2", "worker": "c4", "reason": "unavailable"}],
    }
    (tmp_path / "jobs.json").write_text(json.dumps([{"id": "J9", "trade": "cleaning", "workers": 3}]), encoding="utf-8")
    short = qinglian("labour", "dispatch", "--pool", str(tmp_path / "pool.json"), "--jobs", str(tmp_path / "jobs.json"), "--json")
    assert short.returncode == 2 and "可派工人不足" in short.stderr and short.stdout == ""
    for bad in ('{"workers": [{"id": "x"}]}', "[]", "not json"):
        (tmp_path / "pool.json").write_text(bad, encoding="utf-8")
        failed = qinglian("labour", "dispatch", "--pool", str(tmp_path / "pool.json"), "--jobs", str(tmp_path / "jobs.json"))
        assert failed.returncode == 2 and "错误" in failed.stderr


# -- who may read and act; the officers ------------------------------------------------------------------------------


async def test_another_villages_account_sees_nothing_and_a_reader_without_a_person_changes_nothing(agent: EdgeAgent) -> None:
    await register(agent, 1)
    store = await WebStore.open(agent.config.data_dir)
    await seed_account(store, agent, "waicun", ["village_staff"], None, ["别的村"])
    await seed_account(store, agent, "jiandu", ["supervisor"], None, ["*"])
    ledger = LedgerReader(agent.config.data_dir)
    transport = httpx.ASGITransport(app=create_app(Console(agent, store, WebSettings(enabled=True)), ledger))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as a, httpx.AsyncClient(transport=transport, base_url="http://t") as b:
            outsider, reader = Api(a), Api(b)
            await outsider.login("waicun")
            await reader.login("jiandu")
            assert (await a.get("/work_order/workers")).status_code == 403
            before = await agent.ledger.size()
            filed = await a.post("/work_order/orders", data={"csrf_token": outsider.csrf, **job(MONDAY)})
            assert filed.status_code == 403 and "本村" in filed.text
            page = await b.get("/work_order/workers")
            assert page.status_code == 200 and "工人1" in page.text and id_number(1) not in page.text
            filed = await b.post("/work_order/orders", data={"csrf_token": reader.csrf, **job(MONDAY)})
            assert filed.status_code == 403
            assert await agent.ledger.size() == before
            summary = await b.get("/exports/work_order/summary.csv")
            rows = list(csv.reader(io.StringIO(summary.content.decode("utf-8-sig"))))
            assert rows[1:] == [["派工单", "0"], ["紧急用工单", "0"], ["黑名单人数", "0"], ["可派工人派工次数之差（最多−最少）", "0"], ["已发劳务工资合计", "¥0.00"]]
    finally:
        await ledger.close()
        await store.close()


def test_the_officers_come_from_the_section_or_the_roster_and_are_checked(tmp_path: Path) -> None:
    from edge.kernel.errors import ConfigError
    from edge.modules.work_order.settings import SECTION, Officers, officers

    plain = load_config(write_config(tmp_path / "a", "socket://127.0.0.1:9"), [SECTION])
    assert officers(plain) == Officers(head="wangfang", lead="chenjing", finance="zhangwei")  # the roster's approvers in order
    assert officers(work_order_config(tmp_path / "b")) == Officers(head="zhangwei", lead="zhaolei", finance="chenjing")
    for section, message in (('head = "liming"', "不是名册中的审批人"), ('lead = "zhaolei"\nfinance = "zhaolei"', "同一人"), ('boss = "x"', "未知的键")):
        path = write_config(tmp_path / "c", "socket://127.0.0.1:9")
        with path.open("a", encoding="utf-8") as f:
            f.write(f"\n[work_order]\n{section}\n")
        with pytest.raises(ConfigError, match=message):
            officers(load_config(path, [SECTION]))


STATION = 'station_head = "wangfang"\n[work_order.areas]\n"红丰一片" = "zhaolei"\n"红丰二片" = "chenjing"\n'


def test_the_station_head_and_the_areas_supervisors_come_from_the_section_and_are_checked(tmp_path: Path) -> None:
    from edge.kernel.errors import ConfigError
    from edge.modules.work_order.settings import officers

    found = officers(work_order_config(tmp_path / "a", STATION))
    assert found.station_head == "wangfang" and found.supervisors() == {"红丰一片": "zhaolei", "红丰二片": "chenjing"}
    for more, message in (('station_head = "nobody"\n', "不在名册"), ('[work_order.areas]\n"红丰一片" = "liming"\n', "两委成员"),
                          ('[work_order.areas]\n"红丰一片" = 3\n', "非空字符串")):  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            officers(work_order_config(tmp_path / f"b{len(more)}", more))


async def test_attendance_is_kept_by_the_station_head_or_the_supervisor_of_the_workers_area(tmp_path: Path) -> None:
    agent = await EdgeAgent.open(work_order_config(tmp_path, STATION), parts=PARTS)
    store = await WebStore.open(agent.config.data_dir)
    ledger = LedgerReader(agent.config.data_dir)
    try:
        for n in range(1, 3):
            await register(agent, n)  # both of 红丰一片
        order_id = await planned(agent, MONDAY)
        await step(agent, desk.dispatch, who(agent, "liming"), ACCOUNT, order_id)
        marks = {"W001": "full", "W002": "half"}
        before = await agent.ledger.size()
        for outsider in ("liming", "chenjing"):  # the applicant; a committee member of another area
            with pytest.raises(Refused) as err:
                await step(agent, desk.record_attendance, who(agent, outsider), ACCOUNT, order_id, MONDAY.isoformat(), marks)
            assert err.value.code == "forbidden" and "站长" in err.value.message
        assert await agent.ledger.size() == before
        await step(agent, desk.record_attendance, who(agent, "wangfang"), ACCOUNT, order_id, MONDAY.isoformat(), marks)
        await step(agent, desk.record_attendance, who(agent, "zhaolei"), ACCOUNT, order_id, MONDAY.isoformat(), marks | {"W002": "full"})
        async with agent.recorder.step():
            sheet = await Q.attendance_of(agent.db.conn, order_id)
        assert {(a["worker"], a["half_days"], a["by"]) for a in sheet} == {("W001", 2, "zhaolei"), ("W002", 2, "zhaolei")}
        # the order's page offers the sheet only to those who keep it
        for username, person in (("liming", "liming"), ("wangfang", "wangfang")):
            await seed_account(store, agent, username, ["applicant"], person, None)
        transport = httpx.ASGITransport(app=create_app(Console(agent, store, WebSettings(enabled=True)), ledger))
        for username, form in (("liming", False), ("wangfang", True)):
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                await Api(c).login(username)
                page = (await c.get(f"/work_order/orders/{order_id}")).text
                assert ('id="attendance-form"' in page) is form and ('id="attendance-who"' in page) is not form
    finally:
        await ledger.close()
        await store.close()
        await agent.close()


async def test_a_posted_job_goes_to_the_first_qualified_takers_and_leaves_the_rotation_alone(agent: EdgeAgent) -> None:
    ids = [await register(agent, n, relatives=["liming"] if n == 3 else None) for n in range(1, 5)]
    liming = who(agent, "liming")
    first = await planned(agent, MONDAY)
    sent = await step(agent, desk.dispatch, liming, ACCOUNT, first, takers=[ids[2], ids[3], ids[3], ids[0]])
    assert sent["mode"] == "posted" and sent["workers"] == [ids[3], ids[0]] and sent["skipped"] == [{"worker": ids[2], "reason": "relative"}]
    async with agent.recorder.step():
        assert await Q.cursor(agent.db.conn, "cleaning") is None
    second = await planned(agent, MONDAY + timedelta(days=7))
    assert (await step(agent, desk.dispatch, liming, ACCOUNT, second))["workers"] == [ids[0], ids[1]]


async def test_an_accepted_entry_the_state_cannot_take_is_an_anomaly_and_the_agent_goes_on(agent: EdgeAgent) -> None:
    w = await register(agent, 1)
    async with agent.recorder.step():
        await agent.recorder.record(K.WORKER_STATUS, {"worker_id": "W404", "status": "available", "reason": "", "by": "zhangwei"})
        await agent.recorder.record(K.DISPATCHED, {"order_id": "WO-x"})  # a body missing its fields
        await agent.recorder.record(K.WORKER_REGISTERED, {"worker_id": "W777"})
    anomalies = await agent.db.projection_anomalies()
    assert [a["kind"] for a in anomalies] == [K.WORKER_STATUS, K.DISPATCHED, K.WORKER_REGISTERED]
    await step(agent, desk.set_status, who(agent, "zhangwei"), ACCOUNT, w, {"status": "blacklisted", "reason": "两委会决定"})
    async with agent.recorder.step():
        assert [x["status"] for x in await Q.workers(agent.db.conn)] == ["blacklisted"]


async def test_attendance_is_never_kept_ahead_of_the_work(agent: EdgeAgent) -> None:
    for n in range(1, 3):
        await register(agent, n)
    liming = who(agent, "liming")
    later = date(2099, 11, 2)  # a Monday, far ahead of any run of this test
    order_id = await planned(agent, later)
    sent = await step(agent, desk.dispatch, liming, ACCOUNT, order_id)
    with pytest.raises(InputError) as err:
        await step(agent, desk.record_attendance, liming, ACCOUNT, order_id, later.isoformat(), {w: "full" for w in sent["workers"]})
    assert err.value.code == "future_attendance"


async def test_a_worker_back_from_their_absence_takes_their_turn_again(agent: EdgeAgent) -> None:
    ids = [await register(agent, n) for n in range(1, 4)]
    away = {"status": "unavailable", "reason": "外出务工", "from": "2026-10-20", "to": "2026-11-02"}
    await step(agent, desk.set_status, who(agent, "liming"), ACCOUNT, ids[0], away)
    during = await planned(agent, MONDAY)  # 2026-11-02: still away
    sent = await step(agent, desk.dispatch, who(agent, "liming"), ACCOUNT, during)
    assert sent["workers"] == [ids[1], ids[2]] and sent["skipped"] == [{"worker": ids[0], "reason": "unavailable"}]
    after = await planned(agent, MONDAY + timedelta(days=7))  # back: no one had to set them available again
    assert (await step(agent, desk.dispatch, who(agent, "liming"), ACCOUNT, after, refused=[]))["workers"][0] == ids[0]


def test_the_dispatch_command_is_fair_over_hundreds_of_jobs_and_follows_the_order_field(tmp_path: Path) -> None:
    import random

    rnd = random.Random(7)
    orders = rnd.sample(range(1, 1000), 9)
    workers = [{"id": f"w{i}", "name": f"工人{i}", "trade": "cleaning", "order": o, "blacklisted": i == 4, "available": i != 6}
               for i, o in enumerate(orders)]  # fmt: skip
    rnd.shuffle(workers)
    jobs = [{"id": f"J{n}", "trade": "cleaning", "workers": rnd.randint(1, 7)} for n in range(300)]
    (tmp_path / "pool.json").write_text(json.dumps({"workers": workers}), encoding="utf-8")
    (tmp_path / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    out = qinglian("labour", "dispatch", "--pool", str(tmp_path / "pool.json"), "--jobs", str(tmp_path / "jobs.json"), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    counts = {w["id"]: 0 for w in workers if not w["blacklisted"] and w["available"]}
    for a in result["assignments"]:
        for w in a["workers"]:
            counts[w] += 1
    assert max(counts.values()) - min(counts.values()) <= 1 and sum(counts.values()) == sum(j["workers"] for j in jobs)
    first = min((w for w in workers if w["id"] in counts), key=lambda w: w["order"])
    assert result["assignments"][0]["workers"][0] == first["id"]
    assert {s["reason"] for s in result["skipped"]} == {"blacklisted", "unavailable"}


async def test_hostile_forms_get_a_clear_error_and_change_nothing(agent: EdgeAgent) -> None:
    await WORK_ORDER.demo(agent)  # type: ignore[misc]
    store = await WebStore.open(agent.config.data_dir)
    await seed_account(store, agent, "liming", ["applicant"], "liming", None)
    ledger = LedgerReader(agent.config.data_dir)
    transport = httpx.ASGITransport(app=create_app(Console(agent, store, WebSettings(enabled=True)), ledger))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            staff = Api(c)
            await staff.login("liming")
            order_id = await _first_order(agent)
            before = await agent.ledger.size()
            files = {"refused": ("x.txt", b"W001", "text/plain"), "name": ("n.txt", b"x", "text/plain")}
            for path, data in (
                ("/work_order/workers", {"trade": "cleaning"}), (f"/work_order/orders/{order_id}/dispatch", {}),
                (f"/work_order/orders/{order_id}/attendance", {"day": "2026-13-40"}), ("/work_order/orders", {"rate": "NaN"}),
                ("/work_order/plans/2026-W01/approve", {"meeting_day": "x"}), (f"/work_order/orders/{order_id}/nonsense", {}),
            ):
                r = await c.post(path, data={"csrf_token": staff.csrf, **data}, files=files)
                assert 400 <= r.status_code < 500 and "无法完成" in r.text or r.status_code == 404, (path, r.status_code)
            assert (await c.post("/work_order/orders", data=job(MONDAY))).status_code == 403  # no CSRF token
            assert await agent.ledger.size() == before
    finally:
        await ledger.close()
        await store.close()


# -- the audit: every dispatch recomputed from the ledger alone -------------------------------------------------------


async def test_the_audit_recomputes_every_dispatch_and_finds_one_out_of_turn(agent: EdgeAgent) -> None:
    from edge.modules.work_order.audit import audit

    await WORK_ORDER.demo(agent)  # type: ignore[misc]
    ids = [await register(agent, n) for n in range(40, 43)]
    posted = await step(agent, desk.file_order, who(agent, "liming"), ACCOUNT, job(desk.today(), emergency="1", emergency_reason="台风过境抢险"))
    await step(agent, desk.decide_order, who(agent, "zhangwei"), ACCOUNT, posted, True)
    await step(agent, desk.dispatch, who(agent, "liming"), ACCOUNT, posted, takers=[ids[2], ids[0]])
    clean = audit(await agent.ledger.entries())
    assert clean == {"dispatches": 4, "mismatches": []}
    out = qinglian("labour", "audit", "--data", str(agent.config.data_dir), "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == clean

    # a dispatch written past the desk, hiring a favourite out of turn, is found
    urgent = await step(agent, desk.file_order, who(agent, "liming"), ACCOUNT, job(desk.today(), emergency="1", emergency_reason="积水"))
    await step(agent, desk.decide_order, who(agent, "zhangwei"), ACCOUNT, urgent, True)
    async with agent.recorder.step():
        cursor = await Q.cursor(agent.db.conn, "cleaning")
        await agent.recorder.record(K.DISPATCHED, {
            "order_id": urgent, "trade": "cleaning", "mode": "rotation", "workers": ["W004", "W005"], "skipped": [],
            "cursor_before": cursor, "cursor_after": 5, "applicant": "liming", "by": "liming", "account": ACCOUNT,
        })  # fmt: skip
    found = audit(await agent.ledger.entries())
    assert [m["order_id"] for m in found["mismatches"]] == [urgent]
    assert found["mismatches"][0]["recomputed"]["workers"] != ["W004", "W005"]
    out = qinglian("labour", "audit", "--data", str(agent.config.data_dir))
    assert out.returncode == 1 and urgent in out.stdout
    assert qinglian("labour", "audit", "--data", str(agent.config.data_dir / "nowhere")).returncode == 2
