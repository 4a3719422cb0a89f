"""Two steps racing on one tender, on PostgreSQL (its writers run at once; SQLite's take turns): the award while a
late bid is moving the window's end, and a bid just after the old end while another moves it. Each step locks the
tender's row first, so the second waits for the first and judges the window the first left: the award is refused
until the new end, and the second bid is taken. Without the lock the award read the old end and took the tender
from under the late bid, and the second bid was refused by an end that no longer held."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from central_accounts_support import CODES, PASSWORD, PNG
from central_support import COUNTY, TOWNSHIP, db_url, store  # noqa: F401 - fixtures
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

import central.modules.procurement.kinds as K
from central.accounts.store import AccountStore
from central.db import edges as edges_table
from central.decisions.delivery import EntryContext
from central.decisions.log import DecisionLog
from central.modules.procurement.bidding import EXTEND, WINDOW
from central.modules.procurement.review import received, review
from central.modules.procurement.creditdesk import deduct, reinstate
from central.modules.procurement.tender import award, bid, seen_by
from central.store import CentralStore, Principal, Refusal
from edge.ledger import Entry
from edge.ledger.keys import public_key_pem

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

EDGE, DEMAND = "qinglian-cun", "XQ-00001"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CLOSE = T0 + WINDOW
OFFICER = Principal("township", f"{COUNTY}/{TOWNSHIP}", "镇审核员", "township_officer", "zhenshen")


def supplier(username: str) -> Principal:
    return Principal("self", username, f"{username} 有限公司", "supplier", username)


async def open_tender(store: CentralStore, log: DecisionLog, opened: datetime = T0) -> None:
    """Two qualified suppliers of COUNTY (wenju, jiancai) and one demand of its village (DEMAND, 其他, ceiling
    12,000.00), approved by its township at ``opened``."""
    accounts = AccountStore(store.db)
    for username, code in (("wenju", CODES[0]), ("jiancai", CODES[1])):
        made = await accounts.apply(kind="supplier", username=username, password=PASSWORD, org_name=f"{username} 有限公司",
                                    credit_code=code, county=COUNTY, contact_name="王经理", contact_phone="13812345678",
                                    categories=["其他"], licence=PNG)  # fmt: skip
        await accounts.decide("county", COUNTY, made.id, True, "", "xianjian")
    key = public_key_pem(Ed25519PrivateKey.generate().public_key()).decode()
    await store.enrol_edge(EDGE, "青莲村", TOWNSHIP, COUNTY, key)
    demand = {"id": DEMAND, "title": "文化礼堂桌椅", "category": "其他", "project": "", "place": "礼堂", "delivery_date": "2099-01-10",
              "ceiling_fen": 1_200_000, "documents": [], "lines": [{"name": "会议桌", "spec": "", "unit": "张", "quantity": 10, "ceiling_unit_fen": 120_000}]}  # fmt: skip
    async with store.db.writer.begin() as conn:
        edge = (await conn.execute(edges_table.select().where(edges_table.c.edge_id == EDGE))).first()
        entry = Entry(7, "2026-12-01T00:00:00Z", K.DEMAND_SUBMITTED, {"demand_id": DEMAND, "demand": demand}, b"", b"")
        await received(EntryContext(conn, log.decide), edge, entry)
        await review(conn, log, OFFICER, EDGE, DEMAND, True, now=opened)


@pytest_asyncio.fixture
async def decisions(store: CentralStore, tmp_path: Path) -> AsyncIterator[DecisionLog]:
    """The tender open from T0 until CLOSE (the default terms)."""
    log = await DecisionLog.open(tmp_path / "central", store.db)
    await open_tender(store, log)
    try:
        yield log
    finally:
        await log.close()


async def offer(store: CentralStore, log: DecisionLog, conn: Any, username: str, fen: int, at: datetime) -> Any:
    application = await AccountStore(store.db).application_of(username)
    return await bid(conn, log, supplier(username), application, EDGE, DEMAND, fen, at)


async def behind(store: CentralStore, first: Callable[[Any], Awaitable[Any]], second: Awaitable[Any]) -> Any:
    """Hold ``first`` (a step in a write transaction) uncommitted, start ``second``, let the first commit once
    ``second`` waits on a lock (or has finished: then it did not wait), and return what ``second`` came to."""
    async with store.db.writer.begin() as conn:
        await first(conn)
        racing = asyncio.ensure_future(second)
        while not racing.done():
            async with store.db.reader.connect() as watch:
                waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                if (await watch.execute(text(waiting))).scalar_one():
                    break
            await asyncio.sleep(0.01)
    return await asyncio.gather(racing, return_exceptions=True)


async def behind_open_late_bid(store: CentralStore, log: DecisionLog, second: Awaitable[Any]) -> Any:
    """``second`` racing wenju's bid a minute before CLOSE (moving the end)."""
    return await behind(store, lambda conn: offer(store, log, conn, "wenju", 1_100_000, CLOSE - timedelta(minutes=1)), second)


async def test_the_award_waits_for_a_late_bid_and_then_finds_the_window_moved(
    store: CentralStore, decisions: DecisionLog
) -> None:
    async def award_at_the_old_end() -> Any:
        async with store.db.writer.begin() as conn:
            return await award(conn, decisions, OFFICER, EDGE, DEMAND, CLOSE)

    [outcome] = await behind_open_late_bid(store, decisions, award_at_the_old_end())
    assert isinstance(outcome, Refusal) and outcome.code == "still_open", outcome
    async with store.db.reader.connect() as conn:
        seen = await seen_by(conn, "wenju", EDGE, DEMAND)
    assert (seen["status"], seen["rank"], seen["closes_at"]) == ("open", 1, "2026-12-04T09:04:00.000000Z")
    async with store.db.writer.begin() as conn:
        board = await award(conn, decisions, OFFICER, EDGE, DEMAND, CLOSE - timedelta(minutes=1) + EXTEND)
    assert (board.status, board.lowest_fen, board.ranks) == ("awarded", 1_100_000, {"wenju": 1})


async def test_a_bid_after_the_old_end_waits_for_the_late_bid_moving_it_and_is_taken(
    store: CentralStore, decisions: DecisionLog
) -> None:
    async def bid_after_the_old_end() -> Any:
        async with store.db.writer.begin() as conn:
            return await offer(store, decisions, conn, "jiancai", 1_050_000, CLOSE + timedelta(minutes=1))

    [board] = await behind_open_late_bid(store, decisions, bid_after_the_old_end())
    assert not isinstance(board, BaseException), board
    assert (board.lowest_fen, board.bidders, board.ranks) == (1_050_000, 2, {"jiancai": 1, "wenju": 2})
    assert board.closes_at == "2026-12-04T09:06:00.000000Z"  # moved again by the second bid, five minutes on


COUNTY_OFFICER = Principal("county", COUNTY, "县监管", "county_officer", "xianjian")


async def deduct_wenju(store: CentralStore, log: DecisionLog, conn: Any, kind: str) -> Any:
    application = await AccountStore(store.db).application_of("wenju")
    return await deduct(conn, log, COUNTY_OFFICER, application, kind, "中标后拒签合同", "镇审核记录", T0)


async def test_a_bid_racing_its_supplier_s_blacklisting_is_refused_or_withdrawn(
    store: CentralStore, decisions: DecisionLog
) -> None:
    """The blacklisting first (wenju from 80.0 to 77.5): the bid waits for it and is refused. The bid first: the
    blacklisting waits for it and withdraws it with the rest. Never a blacklisted supplier's bid left standing."""
    async with store.db.writer.begin() as conn:
        await deduct_wenju(store, decisions, conn, "refused_to_sign")  # 80.0: still trades
        await offer(store, decisions, conn, "jiancai", 1_150_000, T0 + timedelta(hours=1))

    async def bid_now() -> Any:
        async with store.db.writer.begin() as conn:
            return await offer(store, decisions, conn, "wenju", 1_100_000, T0 + timedelta(hours=2))

    [refused] = await behind(store, lambda conn: deduct_wenju(store, decisions, conn, "late_delivery"), bid_now())
    assert isinstance(refused, Refusal) and "黑名单" in refused.reason, refused
    async with store.db.writer.begin() as conn:  # the county reinstates it (80.0): it bids, racing a new blacklisting
        await reinstate(conn, decisions, COUNTY_OFFICER, await AccountStore(store.db).application_of("wenju"), "整改到位", T0)

    async def blacklist_now() -> Any:
        async with store.db.writer.begin() as conn:
            return await deduct_wenju(store, decisions, conn, "late_delivery")

    [(score, listed)] = await behind(store, lambda conn: offer(store, decisions, conn, "wenju", 1_000_000, T0 + timedelta(hours=3)), blacklist_now())
    assert (score, listed) == (775, True)
    async with store.db.reader.connect() as conn:
        seen = await seen_by(conn, "jiancai", EDGE, DEMAND)
    assert (seen["rank"], seen["lowest_fen"], seen["bidders"]) == (1, 1_150_000, 1)  # wenju's bid withdrawn with it
