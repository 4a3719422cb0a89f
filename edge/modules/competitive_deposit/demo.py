"""`make demo`: three accounts of the demo village, their balances imported from statements as a clerk would
(one eligible for competitive deposit, one just under the amount, one just under the time), dated back from
today so the page reads the same whenever the demo runs. A second run adds nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import edge.modules.competitive_deposit.desk as desk
import edge.modules.competitive_deposit.projection as P
from edge.kernel.accounts import host_operator
from edge.ledger.localtime import local_today
from edge.kernel.months import add_months

# account, name, bank, and its statement: (months back, days back, balance) oldest first
ACCOUNTS: tuple[tuple[str, str, str, tuple[tuple[int, int, str], ...]], ...] = (
    ("6228480012345678", "村集体经济基本户", "瑞安农商银行", ((12, 0, "2100000.00"), (8, 12, "3450000.00"), (6, 3, "3380000.00"), (2, 0, "3520000.00"))),
    ("6217001234567890", "村级留存收益专户", "中国农业银行瑞安支行", ((14, 0, "1800000.00"), (13, 5, "2999999.99"))),
    ("6230580000123456", "征地补偿款专户", "瑞安农商银行", ((10, 0, "120000.00"), (5, 20, "3500000.00"), (1, 0, "3500000.00"))),
)


def statement_csv(rows: tuple[tuple[int, int, str], ...], today: date) -> bytes:
    """A bank statement as the bank's web export writes it: a title line, the header, newest first."""
    days = [(add_months(today, -months) - timedelta(days=back), balance) for months, back, balance in rows]
    out = [f"{day.isoformat()},转账,{balance}" for day, balance in reversed(days)]
    return "\r\n".join(["账户交易明细", "交易日期,摘要,余额", *out]).encode("utf-8-sig")


async def seed(host: Any) -> None:
    async with host.recorder.step():
        if await P.accounts(host.db.conn):
            return
    today, by = local_today(), host_operator()
    for account, name, bank, rows in ACCOUNTS:
        await desk.add_account(host, by, account, name, bank)
        await desk.import_statement(host, by, account, statement_csv(rows, today), f"{name}-流水.csv", today)
