"""The monthly tender by itself (issue 18): a county officer sets the schedule once; on its day the timer gathers
the waiting plans into the month's tender and announces it; when the window ends it opens the tender, or waits,
saying which banks' scores are missing; a pass repeated, or a restart after days down, neither doubles nor skips
a step. On SQLite and PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from central_support import COUNTY, VILLAGE, db_url, store  # noqa: F401 - fixtures
from sqlalchemy import select
from test_competitive_deposit_tender import (  # noqa: F401 - site is a fixture
    CLOSES,
    OPENS,
    START,
    TENDER,
    Site,
    csrf,
    enrolled_village,
    place,
    plan,
    score,
    shown,
    site,
    view,
)

from central.app import create_app
from central.modules.competitive_deposit import CENTRAL_COMPETITIVE_DEPOSIT
from central.modules.competitive_deposit import schedule as S
from central.modules.competitive_deposit import tender as T
from central.modules.competitive_deposit.tables import lots, tenders

DAY = 86_400
TIMER = f"timer:{COUNTY}"


async def set_schedule(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    data = {"day": "2", "window_days": "5", "rate_points": "80", "sign_days": "3", "csrf": await csrf(client), **fields}
    return await client.post("/m/competitive_deposit/schedule", data=data)


async def run(site: Site, at: float) -> S.Pass:
    site.clock.now = at
    return await S.run_due(site.store, site.decisions, datetime.fromtimestamp(at, UTC))


async def two_plans(site: Site) -> httpx.AsyncClient:
    """Two villages' plans waiting, and the county's schedule: gathered on the 2nd, five days to bid."""
    await enrolled_village(site, "village-a", VILLAGE)
    await enrolled_village(site, "village-b", "黄岭村")
    await plan(site, "village-a", VILLAGE, "CD-2026-001", 320_000_000)
    await plan(site, "village-b", "黄岭村", "CD-2026-001", 500_000_000, term=24)
    officer = await site.as_user("county1")
    assert (await set_schedule(officer)).status_code == 303
    return officer


async def status_of(site: Site, tender_id: str = TENDER) -> str | None:
    async with site.store.db.reader.connect() as conn:
        row = (await conn.execute(select(tenders.c.status).where(tenders.c.tender_id == tender_id))).first()
    return None if row is None else row.status


async def test_the_timer_gathers_on_the_day_and_opens_when_the_window_ends_or_waits_for_the_scores(site: Site) -> None:
    officer = await two_plans(site)
    (decided,) = await site.decisions_of(S.SCHEDULE)
    assert decided.body["actor"] == "county_officer:county1" and decided.body["decision"] == {
        "level": "county", "scope": COUNTY, "day": 2, "window_days": 5, "closes_at": "17:00", "rate_points": "80",
        "sign_days": 3}  # fmt: skip
    assert "现行日程：每月 2 日汇总" in shown(await view(officer, "/m/competitive_deposit/tenders"))
    assert "待招标的存放计划 2 个 每月 2 日自动汇总发起" in shown(await view(officer, "/work"))

    # 2026-12-01 23:59 in Shanghai is the day before: nothing; 12-02 00:00 is the day: the month's tender.
    assert await run(site, START + 16 * 3600 - 60) == S.Pass()
    done = await run(site, START + 16 * 3600)
    assert done.announced == [TENDER] and done.opened == []
    (announced,) = await site.decisions_of(T.TENDER)
    body = announced.body["decision"]
    assert announced.body["actor"] == TIMER and [lot["village"] for lot in body["lots"]] == [VILLAGE, "黄岭村"]
    # It opens when gathered and closes at 17:00 five days later (2026-12-07 17:00 in Shanghai).
    assert body["bid_window"] == {"opens_at": "2026-12-01T16:00:00+00:00", "closes_at": "2026-12-07T09:00:00+00:00"}
    assert await run(site, START + 17 * 3600) == S.Pass()  # once a month, however often the timer looks

    ruian, xiaoshan = await site.as_user("ruian-bank"), await site.as_user("xiaoshan-bank")
    site.clock.now = OPENS
    assert (await place(ruian, 1, "1.85")).status_code == 303
    assert (await place(xiaoshan, 1, "1.95")).status_code == 303
    assert (await place(xiaoshan, 2, "2.00")).status_code == 303
    assert await run(site, CLOSES - 1) == S.Pass()  # the last second of the window: not yet
    waits = await run(site, CLOSES)
    assert waits.opened == [] and "瑞安农商银行、萧山农商银行" in waits.waiting[TENDER]
    assert await status_of(site) == "bidding" and await site.decisions_of(T.RESULT) == []
    page = shown(await view(officer, f"/m/competitive_deposit/tenders/{TENDER}"))
    assert "待录入以下银行的经营状况和支农评分后自动开标：瑞安农商银行、萧山农商银行" in page
    assert "待录入评分：瑞安农商银行、萧山农商银行" in shown(await view(officer, "/work"))
    assert (await score(officer, "ruian-bank", "9", "9")).status_code == 303
    waits = await run(site, CLOSES + 60)
    assert waits.opened == [] and "萧山农商银行" in waits.waiting[TENDER] and "瑞安" not in waits.waiting[TENDER]
    assert (await score(officer, "xiaoshan-bank", "8", "8")).status_code == 303

    opened = await run(site, CLOSES + 120)
    assert opened.opened == [TENDER] and opened.waiting == {}
    (result,) = await site.decisions_of(T.RESULT)
    assert result.body["actor"] == TIMER and result.body["decision"]["notice_date"] == "2026-12-07"
    # Lot 1: 80 × 1.85 / 1.95 + 18 = 93.90 for ruian, 80 + 16 = 96.00 for xiaoshan; lot 2 xiaoshan alone.
    assert [[(r["bank"], r["score"]) for r in lot["ranking"]] for lot in result.body["decision"]["lots"]] == [
        [("xiaoshan-bank", "96.00"), ("ruian-bank", "93.90")], [("xiaoshan-bank", "96.00")]]  # fmt: skip
    awards = await site.decisions_of(T.AWARD)
    assert [(e.body["village"], e.body["actor"], e.body["decision"]["rate_percent"]) for e in awards] == [
        ("village-a", TIMER, "1.95"), ("village-b", TIMER, "2.00")]  # fmt: skip
    assert await run(site, CLOSES + 180) == S.Pass()  # opened once
    assert len(await site.decisions_of(T.RESULT)) == 1 and len(await site.decisions_of(T.AWARD)) == 2
    assert "萧山农商银行 1.95 80.00 8 8 96.00" in shown(await view(ruian, f"/m/competitive_deposit/tenders/{TENDER}"))


async def test_a_month_without_plans_gets_no_tender_and_a_plan_coming_later_is_gathered_then(site: Site) -> None:
    officer = await site.as_user("county1")
    assert (await set_schedule(officer)).status_code == 303
    assert await run(site, START + 2 * DAY) == S.Pass()
    await enrolled_village(site, "village-a", VILLAGE)
    await plan(site, "village-a", VILLAGE, "CD-2026-001", 320_000_000)
    done = await run(site, START + 3 * DAY)  # 12-04: after the day, the month has no tender yet
    assert done.announced == [TENDER]
    (announced,) = await site.decisions_of(T.TENDER)
    assert announced.body["decision"]["bid_window"]["closes_at"] == "2026-12-09T09:00:00+00:00"


async def test_an_officer_opening_first_leaves_the_timer_nothing(site: Site) -> None:
    officer = await two_plans(site)
    await run(site, START + DAY)
    site.clock.now = CLOSES  # no bids: nothing to score; the officer presses the button before the timer looks
    opened = await officer.post(f"/m/competitive_deposit/tenders/{TENDER}/open", data={"csrf": await csrf(officer)})
    assert opened.status_code == 303
    assert await run(site, CLOSES + 60) == S.Pass()
    (result,) = await site.decisions_of(T.RESULT)
    assert result.body["actor"] == "county_officer:county1"
    async with site.store.db.reader.connect() as conn:  # no bid on either lot: both fail, their plans wait again
        assert [r.status for r in await conn.execute(select(lots.c.status).order_by(lots.c.lot))] == ["failed", "failed"]


async def test_the_schedule_is_an_officers_and_refuses_bad_input_in_chinese(site: Site) -> None:
    officer = await site.as_user("county1")
    for fields, why in (
        ({"day": "29"}, "每月汇总日应为 1 到 28 日"),
        ({"day": "0"}, "每月汇总日应为 1 到 28 日"),
        ({"day": "２"}, "每月汇总日应为 1 到 28 日"),
        ({"window_days": "16"}, "报价期应为 1 到 15 天"),
        ({"rate_points": "81"}, "利率分值应为 1 到 80 的整数"),
        ({"sign_days": "0"}, "签约期限应为 1 到 30 天"),
    ):
        answer = await set_schedule(officer, **fields)
        assert answer.status_code == 400 and why in answer.text, fields
    bank = await site.as_user("ruian-bank")  # a bank does not set when it is tendered
    assert (await set_schedule(bank)).status_code == 403
    forged = await officer.post("/m/competitive_deposit/schedule", data={"day": "2", "window_days": "5", "csrf": "x" * 43})
    assert forged.status_code == 403
    assert await site.decisions_of(S.SCHEDULE) == []
    assert (await set_schedule(officer, day="28")).status_code == 303  # the last day every month has
    assert (await set_schedule(officer, day="1", window_days="15", rate_points="60")).status_code == 303  # replaces it
    assert [e.body["decision"]["day"] for e in await site.decisions_of(S.SCHEDULE)] == [28, 1]
    async with site.store.db.reader.connect() as conn:
        row = await S.schedule_of(conn, COUNTY)
    assert (row.day, row.window_days, row.rate_points) == (1, 15, "60")


async def test_the_timer_runs_with_the_central_and_catches_up_after_a_restart(site: Site) -> None:
    officer = await two_plans(site)
    # The central was down on the 2nd; it starts on the 9th: its first pass gathers the month's tender.
    site.clock.now = START + 8 * DAY
    async with site.app.router.lifespan_context(site.app):
        assert await status_of(site) == "bidding"
    (announced,) = await site.decisions_of(T.TENDER)
    closes = announced.body["decision"]["bid_window"]["closes_at"]
    assert closes == "2026-12-14T09:00:00+00:00"  # 12-09 + 5 days, 17:00
    ruian = await site.as_user("ruian-bank")
    site.clock.now = START + 9 * DAY
    assert (await place(ruian, 1, "1.85")).status_code == 303
    assert (await score(officer, "ruian-bank", "9", "9")).status_code == 303
    # Down again over the window's end; the central that starts next (a new app over the same store) opens it.
    site.clock.now = START + 20 * DAY
    again = create_app(site.store, parts=(CENTRAL_COMPETITIVE_DEPOSIT,), decisions=site.decisions)
    again.state.shell.clock = site.clock
    async with again.router.lifespan_context(again):
        assert await status_of(site) == "opened"
    (result,) = await site.decisions_of(T.RESULT)
    assert result.body["actor"] == TIMER and result.body["decision"]["notice_date"] == "2026-12-21"
