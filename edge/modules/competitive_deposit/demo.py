"""`make demo`: accounts of the demo village, their balances imported from statements as a clerk would (one
eligible for competitive deposit, one just under the amount, one just under the time, and a fourth eligible
one), dated back from today so the page reads the same whenever the demo runs; and two joint-meeting plans that
go up to the central: last month's (the basic account) and this month's (the cooperative's account).

With a central store beside the edge (``make demo``), the central's demo (central/modules/competitive_deposit/
demo.py) puts last month's plan in a finished tender and this month's in an open one; the finished tender's
signed award comes down with the sync, and the next pass of this seed records the deposit contract signed. An
edge with no central (this part's own tests) keeps both plans waiting for a tender: nothing here stands in for
the central. A second run adds nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import edge.modules.competitive_deposit.desk as desk
import edge.modules.competitive_deposit.projection as P
from edge.kernel.accounts import host_operator
from edge.kernel.months import add_months
from edge.ledger.localtime import local_today

# account, name, bank, and its statement: (months back, days back, balance) oldest first
ACCOUNTS: tuple[tuple[str, str, str, tuple[tuple[int, int, str], ...]], ...] = (
    ("6228480012345678", "村集体经济基本户", "瑞安农商银行", ((12, 0, "2100000.00"), (8, 12, "3450000.00"), (6, 3, "3380000.00"), (2, 0, "3520000.00"))),
    ("6217001234567890", "村级留存收益专户", "中国农业银行瑞安支行", ((14, 0, "1800000.00"), (13, 5, "2999999.99"))),
    ("6230580000123456", "征地补偿款专户", "瑞安农商银行", ((10, 0, "120000.00"), (5, 20, "3500000.00"), (1, 0, "3500000.00"))),
    ("6228480055566677", "村股份经济合作社专户", "瑞安农商银行", ((11, 0, "3300000.00"), (4, 0, "3650000.00"))),
)
# The joint meetings' plans: account, amount (yuan), term (months), the meeting's days back from today. The first
# is before this month (last month's tender takes it), the second today (this month's).
PLANS = (("6228480012345678", "3000000.00", "12", 35), ("6228480055566677", "3200000.00", "6", 0))
#: Stand-ins for the scanned minutes and contract the clerk uploads (kept in the document store like real ones).
MINUTES = b"%PDF-1.4\n% demo: joint meeting minutes\n%%EOF\n"
CONTRACT = b"%PDF-1.4\n% demo: term deposit contract\n%%EOF\n"


def statement_csv(rows: tuple[tuple[int, int, str], ...], today: date) -> bytes:
    """A bank statement as the bank's web export writes it: a title line, the header, newest first."""
    days = [(add_months(today, -months) - timedelta(days=back), balance) for months, back, balance in rows]
    out = [f"{day.isoformat()},转账,{balance}" for day, balance in reversed(days)]
    return "\r\n".join(["账户交易明细", "交易日期,摘要,余额", *out]).encode("utf-8-sig")


async def seed(host: Any) -> None:
    today, by = local_today(), host_operator()
    async with host.recorder.step():
        known = {a["account"] for a in await P.accounts(host.db.conn)}
    for account, name, bank, rows in ACCOUNTS:
        if account not in known:
            await desk.add_account(host, by, account, name, bank)
            await desk.import_statement(host, by, account, statement_csv(rows, today), f"{name}-流水.csv", today)
    for account, amount, term, back in PLANS:
        async with host.recorder.step():
            planned = await P.plans(host.db.conn, account)
        if not planned:
            minutes = await asyncio.to_thread(desk._keep, host.config.data_dir, MINUTES, "联席会议纪要.pdf")
            plan = desk.check_plan(account, amount, term, (today - timedelta(days=back)).isoformat(), today)
            await desk.record_plan(host, by, plan, minutes)
    # The central's award of a demo plan arrived (a verified document): its contract signed on the notice's day.
    for account, *_ in PLANS:
        async with host.recorder.step():
            first = (await P.plans(host.db.conn, account))[:1]
        if first and first[0]["status"] == "awarded":
            contract = await asyncio.to_thread(desk._keep, host.config.data_dir, CONTRACT, "存款合同.pdf")
            signed = date.fromisoformat(first[0]["notice_date"])
            await desk.record_signed(host, by, first[0]["plan_id"], signed, signed, contract)
