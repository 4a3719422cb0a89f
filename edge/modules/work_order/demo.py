"""`make demo`'s labour dispatch: a believable week of a village, seeded through the module's own desk.

Sixteen workers of eight groups in four trades (one blacklisted by the committee, one away ill, one a
declared relative of the person who files the orders), this week's orders signed by the village head, the
week's plan approved at the committee meeting, three dispatches by rotation (one worker refusing), the
attendance of two of them, and one pay list checked, approved, paid by bank transfer and published. A
second run adds nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from edge.kernel.accounts import host_operator
import edge.modules.work_order.desk as desk
import edge.modules.work_order.projection as Q
from edge.modules.work_order.rules import id_check_digit, week_of
from edge.modules.work_order.settings import officers

# name, trade, group (each group is its area's: 一组 works 红丰一片, ...)
WORKERS = (
    ("沈阿大", "cleaning", 1), ("钱桂英", "cleaning", 2), ("孙建国", "cleaning", 3), ("周小妹", "cleaning", 4),
    ("吴金根", "cleaning", 5), ("郑爱华", "cleaning", 6), ("冯根宝", "cleaning", 7), ("陈月娥", "cleaning", 8),
    ("褚国强", "water_electric", 1), ("卫志明", "water_electric", 3), ("蒋海峰", "water_electric", 5), ("韩立新", "water_electric", 7),
    ("杨木生", "carpentry", 2), ("朱长林", "carpentry", 6), ("秦水根", "painting", 4), ("许彩凤", "painting", 8),
)  # fmt: skip
GROUPS = "一二三四五六七八"


def _id_number(n: int) -> str:
    first = f"33011019{70 + n % 20:02d}0{1 + n % 9}1{n % 10}{n:03d}"
    return first + id_check_digit(first)


async def seed(host: Any) -> None:
    who = officers(host.config)
    head = host.config.person(who.head)
    lead, finance = host.config.person(who.lead), host.config.person(who.finance)
    staff = next((p for p in host.config.people.values() if p.id not in (who.head, who.lead, who.finance)), lead)
    account = host_operator()
    monday = desk.today()
    monday -= timedelta(days=monday.weekday())
    week = week_of(monday)
    async with host.recorder.step():
        if await Q.workers(host.db.conn):
            return
        for n, (name, trade, group) in enumerate(WORKERS, 1):
            await desk.register_worker(host, staff, account, {
                "name": name, "trade": trade, "area": f"红丰{GROUPS[group - 1]}片", "group": f"{GROUPS[group - 1]}组",
                "phone": f"1385710{n:04d}", "id_number": _id_number(n), "bank_account": f"62284803{n:011d}",
                "relatives": [staff.id] if name == "周小妹" else [],
            })  # fmt: skip
        await desk.set_status(host, head, account, "W002", {"status": "blacklisted", "reason": "两委会决定：多次出工不出力，清扫不达标"})
        away = {"status": "unavailable", "reason": "住院治疗", "from": monday.isoformat(), "to": (monday + timedelta(days=13)).isoformat()}
        await desk.set_status(host, staff, account, "W006", away)
        day = monday.isoformat
        jobs = (
            {"content": "红丰路及村口落叶清扫", "trade": "cleaning", "headcount": "3", "place": "红丰路一组至三组", "rate": "160",
             "start": day(), "end": (monday + timedelta(days=1)).isoformat()},
            {"content": "文化礼堂照明线路检修", "trade": "water_electric", "headcount": "2", "place": "村文化礼堂", "rate": "280",
             "start": (monday + timedelta(days=1)).isoformat(), "end": (monday + timedelta(days=1)).isoformat()},
            {"content": "河道沿岸垃圾清理", "trade": "cleaning", "headcount": "2", "place": "红丰港五组段", "rate": "160",
             "start": (monday + timedelta(days=3)).isoformat(), "end": (monday + timedelta(days=3)).isoformat()},
        )  # fmt: skip
        orders = [await desk.file_order(host, staff, account, job) for job in jobs]
        for order_id in orders:
            await desk.decide_order(host, head, account, order_id, True)
        await desk.draft_plan(host, staff, account, week)
        minutes = "审议本周用工计划三项：落叶清扫、礼堂线路检修、河道清理，按公开轮派顺序派工，同意。"
        meeting = {"meeting_day": day(), "attendees": f"{head.name}、{lead.name}、{finance.name}、{staff.name}", "minutes": minutes}
        await desk.approve_plan(host, head, account, week, meeting)
        await desk.dispatch(host, staff, account, orders[0])
        await desk.dispatch(host, staff, account, orders[1], refused=["W010"])
        await desk.dispatch(host, staff, account, orders[2])
        for order_id, first, days in ((orders[0], monday, 2), (orders[1], monday + timedelta(days=1), 1)):
            sent = await Q.dispatch(host.db.conn, order_id)
            assert sent is not None
            for d in range(days):
                on = first + timedelta(days=d)
                if on > desk.today():
                    break  # a demo run early in the week: attendance only for the days that have come
                marks = {w: "full" for w in sent["workers"]}
                if d == 1:
                    marks[sent["workers"][-1]] = "half"
                await desk.record_attendance(host, staff, account, order_id, on.isoformat(), marks)
        pay_id = await desk.file_pay(host, staff, account, orders[0])
        await desk.decide_pay(host, lead, account, pay_id, True)
        await desk.decide_pay(host, finance, account, pay_id, True)
        await desk.record_paid(host, finance, account, pay_id, "bank", f"NB{monday:%Y%m%d}0001")
