"""Labour dispatch's main path in Debian's Chromium on a 360-px phone: the person in charge files an order, the
village head signs it, the week's plan is drafted and approved at the committee meeting, the job is dispatched by
rotation, attendance is taken on the phone, the pay list is checked by the lead, approved and paid by finance by bank
transfer, and the notice board shows it with nothing personal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import chromium, fits, phone, serve_console
from test_work_order import ACCOUNT, catalogue, id_number, register, work_order_config
from web_support import seed_account

from edge.agent import EdgeAgent
from edge.modules import PARTS
from edge.web.store import WebStore

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
ACCOUNTS = (("liming", ["applicant"], "liming"), ("zhangwei", ["approver"], "zhangwei"),
            ("zhaolei", ["approver"], "zhaolei"), ("chenjing", ["approver"], "chenjing"))  # fmt: skip


async def _ready(agent: EdgeAgent) -> None:
    """Four accounts, four cleaners in the pool (one a relative of the applicant), and the township's guide-price
    catalogue, so 限额工程 can take a job offered from here."""
    store = await WebStore.open(agent.config.data_dir)
    for username, roles, person in ACCOUNTS:
        await seed_account(store, agent, username, roles, person, None)
    await store.close()
    for n in range(1, 5):
        await register(agent, n, relatives=["liming"] if n == 1 else None)
    await catalogue(agent)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serve_console(lambda: EdgeAgent.open(work_order_config(tmp_path), parts=PARTS), _ready) as console:
        yield console.url


def test_order_signed_planned_dispatched_attended_paid_and_published_on_a_phone(served: str) -> None:
    with chromium() as browser:
        # the person in charge fills in the form
        liming = phone(browser, served, "liming")
        liming.goto(served + "/work_order")
        fits(liming)
        liming.click("#new-order summary")
        liming.fill("#order-form input[name=content]", "红丰路落叶清扫")
        liming.select_option("#order-form select[name=trade]", "cleaning")
        liming.fill("#order-form input[name=headcount]", "2")
        liming.fill("#order-form input[name=place]", "红丰路一组")
        liming.fill("#order-form input[name=start]", "2026-11-02")
        liming.fill("#order-form input[name=end]", "2026-11-03")
        liming.fill("#order-form input[name=rate]", "160")
        liming.click("#file-order")
        assert liming.locator("#order-status").inner_text() == "待村主要负责人签批"
        order_url = liming.url
        order_id = order_url.rsplit("/", 1)[1]
        assert "¥640.00" in liming.locator("main").inner_text()  # 160 × 2 people × 2 days

        # the village head signs it from the 待审批 inbox
        head = phone(browser, served, "zhangwei")
        head.goto(served + "/inbox")
        head.click(f"a[href='/work_order/orders/{order_id}']")
        head.click("#approve-order")
        assert head.locator("#order-status").inner_text() == "已批准"

        # the week's plan: drafted from the signed orders, approved at the committee meeting, frozen
        liming.goto(served + "/work_order/plans/2026-W45")
        liming.click("#draft-plan")
        assert "草拟" in liming.locator("#plan-status").inner_text() and order_id in liming.locator("#plan-lines").inner_text()
        head.goto(served + "/work_order/plans/2026-W45")
        head.fill("#approve-plan-form input[name=meeting_day]", "2026-11-02")
        head.fill("#approve-plan-form input[name=attendees]", "张伟、陈静、赵磊、李明")
        head.fill("#approve-plan-form textarea[name=minutes]", "同意本周落叶清扫用工计划")
        head.click("#approve-plan")
        assert "冻结" in head.locator("#plan-status").inner_text()
        fits(head)

        # dispatch by rotation: the applicant's relative (工人1) is passed over
        liming.goto(order_url)
        liming.click("#dispatch-order")
        sent = liming.locator("#dispatched").inner_text()
        assert "工人2、工人3" in sent and "工人1（申请人亲属回避）" in sent

        # attendance on the phone: day one both full, day two one of them half
        liming.click("#save-attendance")
        liming.fill("#attendance-form input[name=day]", "2026-11-03")
        liming.select_option("#attendance-form select[name=w-W003]", "half")
        liming.click("#save-attendance")
        assert "工人3 半天" in liming.locator("#attendance").inner_text()
        fits(liming)
        liming.click("#file-pay")
        assert liming.locator("#pay-status").inner_text() == "待审核"
        assert "¥560.00" in liming.locator("#pay").inner_text()  # 2 + 1.5 days at ¥160

        # checked by the supervising lead, approved by finance, paid by bank transfer
        lead = phone(browser, served, "zhaolei")
        lead.goto(order_url)
        lead.click("#approve-pay")
        finance = phone(browser, served, "chenjing")
        finance.goto(order_url)
        finance.click("#approve-pay")
        assert finance.locator("#pay-status").inner_text() == "已批准待转账"
        finance.fill("#paid-form input[name=transfer_ref]", "NB202611050001")
        finance.click("#record-paid")
        assert finance.locator("#pay-status").inner_text() == "已转账"
        SHOTS.mkdir(parents=True, exist_ok=True)
        finance.screenshot(path=str(SHOTS / "phone-work-order.png"), full_page=True)

        # published: the pool, the dispatch with who was passed over, attendance and the pay list
        visitor = phone(browser, served)  # no login: the board is public
        visitor.goto(served + "/board")
        board = visitor.locator("main").inner_text()
        assert "劳务工资发放表" in board and "出勤表" in board and "工人2" in board and "¥320.00" in board
        assert "1385710" not in board and id_number(1) not in board and ACCOUNT not in board
        fits(visitor)


def test_a_job_of_thirty_thousand_is_offered_to_small_projects_with_its_content_place_and_amount(served: str) -> None:
    with chromium() as browser:
        liming = phone(browser, served, "liming")
        liming.goto(served + "/work_order")
        liming.click("#new-order summary")
        liming.fill("#order-form input[name=content]", "村口排水沟清淤")
        liming.fill("#order-form input[name=headcount]", "30")
        liming.fill("#order-form input[name=place]", "村口至文化礼堂")
        liming.fill("#order-form input[name=start]", "2026-11-02")
        liming.fill("#order-form input[name=end]", "2026-11-02")
        liming.fill("#order-form input[name=rate]", "1000")
        liming.click("#file-order")
        assert "¥30,000.00" in liming.locator("#over-limit").inner_text()
        fits(liming)
        liming.click("#offer-small-project")
        assert liming.url.split("?")[0] == served + "/small_project"
        form = liming.locator("#file-form")
        assert form.is_visible()  # the filing form is open, with what was typed carried over
        assert form.locator("input[name=name]").input_value() == "村口排水沟清淤"
        assert form.locator("input[name=place]").input_value() == "村口至文化礼堂"
        assert "村口排水沟清淤" in form.locator("textarea[name=scope]").input_value()
        assert "30,000.00 元" in liming.locator("#prefill-amount").inner_text()
        fits(liming)
        assert liming.locator("#projects").inner_text().strip() == "暂无工程。"  # nothing filed until the clerk submits
