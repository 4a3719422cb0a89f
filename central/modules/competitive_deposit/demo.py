"""`make demo`: the central's half of competitive deposit, through the tender's own steps (each a decision in the
central's log before its rows): two more banks of the demo county, approved as a county officer approves a
registration, beside the demo bank ``nongshang``; and the county officer's tenders over the plans the demo village
sent up (edge/modules/competitive_deposit/demo.py):

- last month's tender, finished: its window set back (it closed two weeks ago), the three banks' sealed bids in
  it, each bank's two scores entered with their source, and the opening by the central's timer (schedule.py):
  the published result with every score and ranking, and the award sent down to the village (which records its
  contract signed on the next pass);
- this month's tender, open for five more days, with two banks' bids in it, so the demo bank finds it open
  (log in as ``nongshang``).

Beside the demo's own village (青莲村, whose accounts include an eligible one), two neighbouring villages of the
township hold one account each, so the county's page (/m/competitive_deposit) reads three villages: 黄岭村's
2,999,999.99 yuan idle for 13 months (a fen under the amount) and 石门村's 3,500,000.00 idle for 5 months (short of
the time). The demo has no console for them: each keeps a real signed ledger in ``DATA/central/demo-villages/``,
enrolled with its key, holding the entries the edge module records for an account and a typed balance, pushed
through the central's verified ingest as a sync pushes a batch.

A tender whose plans have not come up yet waits for the next run; a second run adds nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from central.accounts import roles as R
from central.accounts.demo import SAMPLE_SCAN, DemoSite
from central.modules.competitive_deposit.schedule import run_due
from central.modules.competitive_deposit.tender import (
    Announcement, enter_scores, open_tender, place_bid, waiting_plans,
)  # fmt: skip
from central.store import Refusal
from edge.kernel.months import add_months
from edge.ledger import Ledger
from edge.ledger.keys import public_key_pem
from edge.ledger.localtime import SHANGHAI
from edge.ledger.wire import entry_to_wire

# username, bank, unified social credit code
BANKS = (
    ("hangyin", "杭州银行萧山支行", "91330109MA2CD7H80R"),
    ("nongyin", "中国农业银行萧山分行", "91330109MA2KX3N504"),
)
#: Each bank's two scores from the central bank's data (operating, support for agriculture and small firms).
SCORES = {"nongshang": ("8.5", "9.5"), "hangyin": ("9.0", "7.0"), "nongyin": ("9.5", "8.0")}
#: The finished tender's sealed rates (lot 1), and the open one's: (bank, rate in percent, how long after opening).
FINISHED_BIDS = (("nongshang", "1.95", timedelta(days=1)), ("hangyin", "2.05", timedelta(days=2)), ("nongyin", "1.90", timedelta(days=3)))
OPEN_BIDS = (("hangyin", "1.98", timedelta(minutes=30)), ("nongyin", "1.92", timedelta(hours=1)))
#: The neighbouring villages: edge id, village, account, its name and bank, and the balance held since (months
#: and days back from today), in yuan and in fen (as the edge module records a typed balance).
#: Who entered each neighbouring village's account and balance: its accountant's console account (a username,
#: as a real village's ledger names who acted).
NEIGHBOUR_CLERK = "kuaiji"
NEIGHBOURS = (
    ("demo-huangling", "黄岭村", "6217009876543210", "村级留存收益专户", "中国农业银行萧山分行", (13, 2), 299_999_999),
    ("demo-shimen", "石门村", "6230580000765432", "征地补偿款专户", "萧山农村商业银行河上支行", (5, 20), 350_000_000),
)


async def neighbours(site: DemoSite, today: date) -> None:
    """Each neighbouring village's account and balance, on its own signed ledger, pushed up once."""
    for edge_id, village, account, name, bank, (months, days), fen in NEIGHBOURS:
        ledger = await Ledger.open(Path(site.decisions.ledger.data_dir).parent / "demo-villages" / edge_id)
        try:
            pem = public_key_pem(ledger.public_key).decode()
            await site.store.enrol_edge(edge_id, village, site.township, site.county, pem)
            if await ledger.size() == 0:
                since = add_months(today, -months) - timedelta(days=days)
                await ledger.append_many([
                    ("competitive_deposit.account_added", {"account": account, "name": name, "bank": bank, "by": NEIGHBOUR_CLERK}),
                    ("competitive_deposit.balances", {"account": account, "days": [[since.isoformat(), fen, fen]],
                                                      "source": {"entered": True}, "by": NEIGHBOUR_CLERK}),
                ])  # fmt: skip
            held = (await site.store.sync_state(edge_id))["next_index"]
            checkpoint = await ledger.checkpoint()
            if held < checkpoint.tree_size:
                await site.store.ingest(edge_id, {
                    "from_index": held, "entries": [entry_to_wire(e) for e in await ledger.entries(held, checkpoint.tree_size)],
                    "checkpoint": checkpoint.to_dict(), "config_hash": None,
                    "consistency": {"from_size": held, "proof": [p.hex() for p in await ledger.consistency_proof(held, checkpoint.tree_size)]},
                })  # fmt: skip
        finally:
            await ledger.close()


async def seed(site: DemoSite) -> None:
    for username, name, code in BANKS:
        await site.ensure_organisation(username, R.BANK, name, code, ())
    officer = await site.principal("xianguan")
    now = datetime.now(UTC)
    await neighbours(site, now.astimezone(SHANGHAI).date())
    this_month = now.astimezone(SHANGHAI).date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).strftime("%Y-%m")
    for month, opens, closes, taken in (
        (last_month, now - timedelta(days=20), now - timedelta(days=14), FINISHED_BIDS),
        (this_month.strftime("%Y-%m"), now - timedelta(hours=2), now + timedelta(days=5), OPEN_BIDS),
    ):
        async with site.store.db.reader.connect() as conn:
            if not await waiting_plans(conn, officer, month):
                continue  # not come up yet, or already in this month's tender
        async with site.store.db.writer.begin() as conn:
            try:
                tender_id = await open_tender(conn, site.decisions, officer, Announcement(month, opens, closes, Decimal(80), 3))
            except Refusal:
                continue  # the month's tender exists (the county holds one a month)
        for bank, rate, after in taken:
            async with site.store.db.writer.begin() as conn:
                await place_bid(conn, site.decisions, await site.principal(bank), tender_id, "1", rate, opens + after)
        if closes > now:
            continue  # still bidding: the officer scores and opens it after the window
        for bank, (operating, agri) in SCORES.items():
            async with site.store.db.writer.begin() as conn:
                await enter_scores(conn, site.decisions, officer, tender_id, bank, operating, agri, "人民银行萧山支行评分数据.png", SAMPLE_SCAN)
        await run_due(site.store, site.decisions, now)  # scored and closed: the central's timer opens it
