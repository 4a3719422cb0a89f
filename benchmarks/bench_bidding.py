"""Live bidding figures (issue 16): bids accepted per second with every bidder connected to live updates, and the
time from a bid to every bidder's rank update, against a plain insert of the same rows in the same run.

    .venv/bin/python benchmarks/bench_bidding.py [--bidders 50] [--bids 100] [--db sqlite|postgresql] [--json]

One open demand at the central, ``--bidders`` approved supplier accounts, each logged in through the real form
and holding the tender's live page (server-sent events) open over a real socket to ``qinglian central run`` in its
own process (the deployment shape; SQLite in a temp file, or a throw-away PostgreSQL cluster started here with
initdb/pg_ctl as the tests do). Every bid is a new lowest price, so it changes what every bidder sees.

* one bid at a time (``--bids`` bids, by the bidders in turn): the clock runs from the bid's POST to the moment
  the last bidder's stream carries the standing after it (each bidder's own arrival too, and the POST alone);
  every event is checked against the central's own rule (``bidding.standing``) for that bidder;
* all bidding at once (``--bids`` more bids, every bidder posting its share back to back): bids accepted per
  second (a refusal and a server error or dropped connection are counted apart: ``burst_refused``,
  ``burst_failed``), and the time from the first of them until every bidder shows the final standing (the live
  page folds bids that come faster than it reads into one update: only the final one is checked);
* plain insert: the same ``procurement_bids`` rows inserted again with the same engine, one transaction each
  as each bid is, without the decision log, the checks, HTTP or live pages, after the server stopped.

Prints a small table (``--json``: then one JSON line); no assertions on time: figures to compare between runs on
the same machine. A wrong update is counted and reported (``updates_wrong``); one that never comes stops the run
with an error after ``--timeout`` seconds. Each bid reads its tender's bids once (its board, which every live
page then shows, each bidder its own rank from it), so the figures depend on ``--bids`` as well as on
``--bidders``: compare runs of the same sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from central_accounts_support import PASSWORD, PNG, form_token, login
from central_support import PostgresServer, free_port
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

import central.modules.procurement.kinds as K
from central.accounts.credit import ALPHABET, normalise_credit_code
from central.accounts.store import AccountStore
from central.db import edges as edges_table
from central.decisions.delivery import EntryContext
from central.decisions.log import DecisionLog
from central.modules.procurement.bidding import Bid, standing
from central.modules.procurement.review import received, review
from central.modules.procurement.tables import bids as bids_table
from central.store import CentralStore, Principal
from edge.ledger import Entry
from edge.ledger.keys import public_key_pem

EDGE, DEMAND = "bench-cun", "XQ-BENCH"
COUNTY, TOWNSHIP, VILLAGE = "萧山区", "河上镇", "青莲村"
STEP_FEN = 100  # each bid one yuan under the one before: always a new lowest price
LIVE = f"/m/procurement/tenders/{EDGE}/{DEMAND}/live"
BID = f"/m/procurement/tenders/{EDGE}/{DEMAND}/bid"


def credit_code(n: int) -> str:
    """The n-th made-up unified social credit code whose check character holds (found by the central's own check)."""
    stem = f"91330109MA{n:07d}"
    return next(stem + c for c in ALPHABET if normalise_credit_code(stem + c))


def yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- the central: one open demand and its bidders, then the server in its own process --------------------------


async def prepare(url: str, data_dir: Path, bidders: int, ceiling_fen: int) -> list[str]:
    """An enrolled village, ``bidders`` approved suppliers of its county, its demand approved by its township (the
    window open now, three days long); the suppliers' usernames."""
    store = await CentralStore.open(url)
    decisions = await DecisionLog.open(data_dir, store.db)
    try:
        key = public_key_pem(Ed25519PrivateKey.generate().public_key()).decode()
        await store.enrol_edge(EDGE, VILLAGE, TOWNSHIP, COUNTY, key)
        accounts = AccountStore(store.db)
        names = [f"bidder{i:03d}" for i in range(bidders)]
        for i, username in enumerate(names):
            made = await accounts.apply(kind="supplier", username=username, password=PASSWORD, org_name=f"{username} 有限公司",
                                        credit_code=credit_code(i), county=COUNTY, contact_name="王经理",
                                        contact_phone="13812345678", categories=["其他"], licence=PNG)  # fmt: skip
            await accounts.decide("county", COUNTY, made.id, True, "", "xianjian")
        demand = {"id": DEMAND, "title": "基准测试桌椅", "category": "其他", "project": "", "place": "礼堂",
                  "delivery_date": "2099-01-10", "ceiling_fen": ceiling_fen, "documents": [],
                  "lines": [{"name": "会议桌", "spec": "", "unit": "张", "quantity": 1, "ceiling_unit_fen": ceiling_fen}]}  # fmt: skip
        async with store.db.writer.begin() as conn:  # as the village's verified entry hands it over
            edge = (await conn.execute(edges_table.select().where(edges_table.c.edge_id == EDGE))).first()
            entry = Entry(
                1, "2026-12-01T00:00:00Z", K.DEMAND_SUBMITTED, {"demand_id": DEMAND, "demand": demand}, b"", b""
            )
            await received(EntryContext(conn, decisions.decide), edge, entry)
            officer = Principal("township", f"{COUNTY}/{TOWNSHIP}", "镇审核员", "township_officer", "zhenshen")
            await review(conn, decisions, officer, EDGE, DEMAND, True, now=datetime.now(UTC))
        return names
    finally:
        await decisions.close()
        await store.close()


@contextlib.contextmanager
def central_process(url: str, data_dir: Path, log: Path) -> Any:
    """``qinglian central run`` with its decision log in ``data_dir``, until the block ends."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qinglian.cli", "central", "run", "--db", url, "--listen", f"127.0.0.1:{port}",
             "--data", str(data_dir), "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the central exited:\n{log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the central did not start")
            time.sleep(0.1)
        yield base
    except Exception:
        print(f"-- the central's log, its end:\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# -- the bidders: a logged-in session each, its live stream read by a task of its own --------------------------


@dataclass
class Bidder:
    username: str
    client: httpx.AsyncClient
    token: str = ""
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (arrival, standing) as streamed


class Listeners:
    """Every bidder's stream, read line by line; waits until a condition over all of them holds."""

    def __init__(self, bidders: list[Bidder], timeout: float) -> None:
        self.bidders = bidders
        self.timeout = timeout
        self._changed = asyncio.Condition()

    async def read(self, bidder: Bidder, lines: AsyncIterator[str]) -> None:
        async for line in lines:
            if line.startswith("data: "):
                bidder.events.append((time.perf_counter(), json.loads(line[6:])))
                async with self._changed:
                    self._changed.notify_all()

    async def until(self, what: str, holds: Callable[[Bidder], bool]) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: all(holds(b) for b in self.bidders)), self.timeout
                )
            except TimeoutError:
                late = [b.username for b in self.bidders if not holds(b)]
                raise RuntimeError(
                    f"{what}: {len(late)} bidders still waiting after {self.timeout} s ({late[:5]})"
                ) from None


def seen(event: dict[str, Any]) -> tuple[Any, Any, Any]:
    return event["lowest_fen"], event["rank"], event["bidders"]


@dataclass
class Figures:
    sequential_s: list[float] = field(default_factory=list)  # bid -> every bidder's update
    delivery_s: list[float] = field(default_factory=list)  # bid -> one bidder's update
    accepted_s: list[float] = field(default_factory=list)  # the bid's POST alone
    burst_bids: int = 0
    burst_s: float = 0.0
    burst_refused: int = 0  # answered with a refusal (4xx)
    burst_failed: int = 0  # a server error or the connection dropped
    settled_s: float = 0.0  # from the burst's first bid until every bidder shows the final standing
    updates_expected: int = 0
    updates_received: int = 0
    updates_wrong: int = 0
    final_right: int = 0
    plain_rows: int = 0
    plain_s: float = 0.0


async def place(bidder: Bidder, fen: int) -> httpx.Response:
    return await bidder.client.post(BID, data={"amount": yuan_text(fen), "csrf": bidder.token})


async def one_at_a_time(bidders: list[Bidder], listeners: Listeners, taken: list[Bid], amounts: Any, n: int,
                        figures: Figures) -> None:  # fmt: skip
    for k in range(n):
        who = bidders[k % len(bidders)]
        fen = next(amounts)
        marks = {b.username: len(b.events) for b in bidders}
        t0 = time.perf_counter()
        answer = await place(who, fen)
        figures.accepted_s.append(time.perf_counter() - t0)
        if answer.status_code != 303:
            raise RuntimeError(f"bid {k} refused: {answer.status_code} {answer.text[:300]}")
        taken.append(Bid(len(taken) + 1, who.username, fen, datetime.now(UTC)))
        await listeners.until(f"bid {k}", lambda b, marks=marks: len(b.events) > marks[b.username])
        arrivals = []
        for b in bidders:
            at, event = b.events[marks[b.username]]
            arrivals.append(at - t0)
            figures.updates_expected += 1
            if seen(event) == standing(taken, b.username):
                figures.updates_received += 1
            else:
                figures.updates_wrong += 1
        figures.delivery_s.extend(arrivals)
        figures.sequential_s.append(max(arrivals))


async def all_at_once(bidders: list[Bidder], listeners: Listeners, taken: list[Bid], amounts: Any, n: int,
                      figures: Figures) -> None:  # fmt: skip
    shares = [n // len(bidders) + (1 if i < n % len(bidders) else 0) for i in range(len(bidders))]

    async def bid_share(bidder: Bidder, share: int) -> None:
        for _ in range(share):
            fen = next(amounts)  # taken before the await: amounts fall in the order the bids are sent
            try:
                answer = await place(bidder, fen)
            except httpx.TransportError:  # the central dropped the connection: no answer, so not taken
                figures.burst_failed += 1
                continue
            if answer.status_code == 303:
                taken.append(Bid(len(taken) + 1, bidder.username, fen, datetime.now(UTC)))
            elif answer.status_code >= 500:
                figures.burst_failed += 1
            else:
                figures.burst_refused += 1

    before = len(taken)
    t0 = time.perf_counter()
    await asyncio.gather(*(bid_share(b, s) for b, s in zip(bidders, shares, strict=True)))
    figures.burst_s = time.perf_counter() - t0
    figures.burst_bids = len(taken) - before
    # Amounts are all different, so the final standing does not depend on the order the central took them in.
    final = {b.username: standing(taken, b.username) for b in bidders}
    await listeners.until("the final standing", lambda b: bool(b.events) and seen(b.events[-1][1]) == final[b.username])
    figures.settled_s = max(next(at for at, e in b.events if seen(e) == final[b.username]) for b in bidders) - t0
    figures.final_right = sum(1 for b in bidders if seen(b.events[-1][1]) == final[b.username])


async def bidding(base: str, names: list[str], n: int, ceiling_fen: int, timeout: float, figures: Figures) -> None:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    async with contextlib.AsyncExitStack() as stack:
        bidders = []
        for username in names:  # one after another: the login form's per-address limit counts attempts at once
            client = await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits))
            if (await login(client, username)).status_code != 303:
                raise RuntimeError(f"{username} could not log in")
            bidders.append(Bidder(username, client, form_token(await client.get("/m/procurement/tenders"))))
        listeners = Listeners(bidders, timeout)
        tasks = []
        for b in bidders:
            stream = await stack.enter_async_context(b.client.stream("GET", LIVE))
            if stream.status_code != 200:
                raise RuntimeError(f"{b.username}'s live page: {stream.status_code}")
            tasks.append(asyncio.create_task(listeners.read(b, stream.aiter_lines())))
        try:
            await listeners.until("the opening standing", lambda b: bool(b.events))
            amounts = iter(range(ceiling_fen - STEP_FEN, 0, -STEP_FEN))
            taken: list[Bid] = []
            await one_at_a_time(bidders, listeners, taken, amounts, n, figures)
            await all_at_once(bidders, listeners, taken, amounts, n, figures)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def plain_inserts(url: str, figures: Figures) -> None:
    """The rows the bids left, inserted again under another demand, one transaction each."""
    store = await CentralStore.open(url)
    try:
        columns = [c for c in bids_table.c if c.name != "seq"]
        async with store.db.reader.connect() as conn:
            rows = [dict(r._mapping) for r in (await conn.execute(select(*columns).order_by(bids_table.c.seq))).all()]
        t0 = time.perf_counter()
        for row in rows:
            async with store.db.writer.begin() as conn:
                await conn.execute(bids_table.insert().values({**row, "demand_id": "XQ-PLAIN"}))
        figures.plain_s = time.perf_counter() - t0
        figures.plain_rows = len(rows)
    finally:
        await store.close()


# -- the run ---------------------------------------------------------------------------------------------------


def summary(db: str, bidders: int, bids: int, f: Figures) -> dict[str, Any]:
    ms = 1000.0
    bids_per_s = f.burst_bids / f.burst_s if f.burst_s else 0.0
    plain_per_s = f.plain_rows / f.plain_s if f.plain_s else 0.0
    return {
        "db": db, "bidders": bidders, "bids": bids,
        "bids_per_s": round(bids_per_s, 1), "burst_bids": f.burst_bids, "burst_refused": f.burst_refused,
        "burst_failed": f.burst_failed,
        "burst_s": round(f.burst_s, 3), "settled_s": round(f.settled_s, 3),
        "plain_inserts_per_s": round(plain_per_s, 1), "plain_rows": f.plain_rows,
        "slowdown": round(plain_per_s / bids_per_s, 1) if bids_per_s else None,
        "update_p50_ms": round(pct(f.sequential_s, 0.5) * ms, 2), "update_p99_ms": round(pct(f.sequential_s, 0.99) * ms, 2),
        "delivery_p50_ms": round(pct(f.delivery_s, 0.5) * ms, 2), "delivery_p99_ms": round(pct(f.delivery_s, 0.99) * ms, 2),
        "accept_p50_ms": round(pct(f.accepted_s, 0.5) * ms, 2), "accept_p99_ms": round(pct(f.accepted_s, 0.99) * ms, 2),
        "updates_expected": f.updates_expected, "updates_received": f.updates_received,
        "updates_wrong": f.updates_wrong,
        "final_standing_right": f.final_right,
        "every_bidder_every_update": f.updates_received == f.updates_expected == bids * bidders and f.final_right == bidders,
    }  # fmt: skip


def table(s: dict[str, Any]) -> None:
    label = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[s["db"]]
    print(
        f"== live bidding on {label}: {s['bidders']} bidders on one demand's live page (SSE), {s['bids']} bids a phase"
    )
    print(f"  {'all bidding at once':<38} {s['bids_per_s']:>9,.1f} bids/s   ({s['burst_bids']} accepted, "
          f"{s['burst_refused']} refused, {s['burst_failed']} failed, in {s['burst_s']:.2f} s; every bidder shown the final "
          f"standing at {s['settled_s']:.2f} s)")  # fmt: skip
    print(f"  {'plain insert of the same rows':<38} {s['plain_inserts_per_s']:>9,.1f} rows/s   ({s['plain_rows']} rows, "
          f"one transaction each; {s['slowdown']}x the bids' rate)")  # fmt: skip
    print(
        f"  {'one at a time: bid -> every bidder':<38} p50 {s['update_p50_ms']:8.2f} ms   p99 {s['update_p99_ms']:8.2f} ms"
    )
    print(
        f"  {'               bid -> one bidder':<38} p50 {s['delivery_p50_ms']:8.2f} ms   p99 {s['delivery_p99_ms']:8.2f} ms"
    )
    print(
        f"  {'               bid accepted (POST)':<38} p50 {s['accept_p50_ms']:8.2f} ms   p99 {s['accept_p99_ms']:8.2f} ms"
    )
    print(f"  updates {s['updates_received']} of {s['updates_expected']} as the rule says ({s['updates_wrong']} wrong); "
          f"final standing right at {s['final_standing_right']} of {s['bidders']} bidders")  # fmt: skip


async def run(url: str, db: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    ceiling_fen = max(1_200_000, (2 * args.bids + 1) * STEP_FEN)
    data_dir = work / "central"
    names = await prepare(url, data_dir, args.bidders, ceiling_fen)
    figures = Figures()
    log = work / "central.log"
    with central_process(url, data_dir, log) as base:
        await bidding(base, names, args.bids, ceiling_fen, args.timeout, figures)
    if figures.burst_failed:
        print(f"-- {figures.burst_failed} bids failed; the central's log, its end:\n"
              f"{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)  # fmt: skip
    await plain_inserts(url, figures)
    return summary(db, args.bidders, args.bids, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bidders", type=int, default=50, help="suppliers on the live page (default 50)")
    parser.add_argument("--bids", type=int, default=100, help="bids in each phase (default 100)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds an update may take before the run stops")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    if args.bidders < 1 or args.bids < 1:
        parser.error("--bidders and --bids must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="bench-bidding-"))
    pg = None
    try:
        if args.db == "postgresql":
            pg = PostgresServer()
            pg.start()
            url = pg.create_database()
        else:
            url = f"sqlite:///{work / 'central.sqlite3'}"
        result = asyncio.run(run(url, args.db, work, args))
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    table(result)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
