"""The monthly tender at the central: a county or township officer opens it from the villages' waiting plans (the
announcement: lots, the scoring rule, the bid window); the banks of that county bid a sealed rate per lot inside
the window; the officer enters each bank's two scores from the central bank's data, with the source document,
before opening; opening scores and ranks every lot with the edge module's own rules and sends each award down.

Every step is a decision in the central's log before its rows are written, in the same transaction. A bid goes
into the log only as a commitment (SHA-256 over the bid and a random salt); the opening's result carries every
bid with its salt, so anyone holding the log checks each rate was the one sealed before the window closed, and
recomputes the ranking with ``qinglian deposit tender``. The scoring is ``edge.modules.competitive_deposit.rules``
(one function for both halves), never a copy.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

import edge.modules.competitive_deposit.rules as rules  # noqa: PLR0402 - the layering allows the rules module itself
from central.accounts import roles as R
from central.accounts.store import LICENCE_TYPES, MAX_LICENCE_BYTES
from central.accounts.tables import accounts, applications
from central.decisions.log import DecisionLog
from central.modules.competitive_deposit.reactions import NAME
from central.modules.competitive_deposit.tables import bids, lots, plans, scores, tenders
from central.store import Principal, Refusal
from edge.ledger import canonical_json
from edge.ledger.localtime import SHANGHAI

TENDER, BID, SCORES, RESULT, AWARD = (f"{NAME}.{k}" for k in ("tender", "bid", "scores", "result", "award"))
DECISIONS = {
    TENDER: "竞争性存放招标公告", BID: "银行密封报价", SCORES: "银行经营状况与支农评分",
    RESULT: "竞争性存放开标结果", AWARD: "竞争性存放中标通知（下达村）",
}  # fmt: skip
OFFICERS = (R.COUNTY_OFFICER, R.TOWNSHIP_OFFICER)
#: Anyone without a login reads every tender's public page (the announcement, and the result once opened).
PUBLIC = Principal("all", "公开", "公众", "public")
TIMER = "timer"  # the actor of what the central does by itself on a county's schedule (schedule.py)
#: Which plans a tender takes: a plan in a lot still bidding or awarded is not free; a failed lot's plan waits again.
LIVE_LOTS = ("bidding", "awarded")


def rule_text(rate_points: Decimal) -> str:
    """The scoring rule as the announcement states it (the formula recorded with the tender)."""
    return (f"利率得分 = {rate_points} × 报价利率 ÷ 最高有效报价利率；总分 = 利率得分 + 经营状况得分(0–10) + 支农支小得分(0–10)，"
            "精确计算后四舍五入保留两位小数；总分相同者利率高者优先，再相同者报价在先者优先")  # fmt: skip


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def local(text: str) -> str:
    """A stored UTC moment as the pages show it (Asia/Shanghai)."""
    return parse_iso(text).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def refuse(reason: str, status: int = 400, code: str = "refused") -> Refusal:
    return Refusal(status, code, reason)


# -- the announcement ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Announcement:
    month: str
    opens_at: datetime
    closes_at: datetime
    rate_points: Decimal
    sign_days: int


def _local_moment(text: object, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise refuse(f"{what}应为日期和时间，例如 2026-12-01T09:00") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)).astimezone(UTC)


def check_announcement(month: object, opens_at: object, closes_at: object, rate_points: object, sign_days: object,
                       now: datetime) -> Announcement:  # fmt: skip
    """The officer's form, checked at the boundary: every problem a Chinese sentence, nothing recorded."""
    text = str(month).strip()
    try:
        date.fromisoformat(f"{text}-01")
    except ValueError:
        raise refuse("招标月份应为 YYYY-MM，例如 2026-12") from None
    if len(text) != 7:
        raise refuse("招标月份应为 YYYY-MM，例如 2026-12")
    opens, closes = _local_moment(opens_at, "报价开始时间"), _local_moment(closes_at, "报价截止时间")
    if closes <= opens:
        raise refuse("报价截止时间应晚于开始时间")
    if closes <= now:
        raise refuse("报价截止时间已过，请重新确定报价时间窗口")
    return Announcement(text, opens, closes, check_rate_points(rate_points), check_sign_days(sign_days))


def whole_number(text: object, low: int, high: int, message: str) -> int:
    given = str(text).strip()
    if not given.isascii() or not given.isdigit() or not low <= int(given) <= high:
        raise refuse(message)
    return int(given)


def check_rate_points(text: object) -> Decimal:
    return Decimal(whole_number(text, 1, 80, "利率分值应为 1 到 80 的整数（默认 80）"))


def check_sign_days(text: object) -> int:
    return whole_number(text, 1, 30, "签约期限应为 1 到 30 天")


def scope_of(who: Principal) -> str:
    if who.role not in OFFICERS:
        raise refuse("只有县级监管或乡镇审核人员可以发起招标", 403, "forbidden")
    return who.name


def actor_of(who: Principal) -> str:
    """Who a decision names: the officer's account, or the scope's timer (schedule.py) acting on the county's
    standing schedule, which has no account."""
    return f"{who.role}:{who.account}" if who.account else f"{TIMER}:{who.name}"


def tender_id_of(scope: str, month: str) -> str:
    return f"CDT-{scope.replace('/', '-')}-{month}"


async def waiting_plans(conn: AsyncConnection, who: Principal, month: str) -> list[Any]:
    """The plans in ``who``'s scope whose joint meeting was in ``month`` or before, in no live lot, oldest first."""
    taken = select(lots.c.edge_id, lots.c.plan_id).where(lots.c.status.in_(LIVE_LOTS))
    busy = {(r.edge_id, r.plan_id) for r in await conn.execute(taken)}
    rows = await conn.execute(
        select(plans).where(plans.c.status == "planned", plans.c.month <= month)
        .order_by(plans.c.meeting_date, plans.c.village, plans.c.plan_id)
    )  # fmt: skip
    return [r for r in rows if who.covers(r.county, r.township) and (r.edge_id, r.plan_id) not in busy]


async def open_tender(conn: AsyncConnection, decisions: DecisionLog, who: Principal, a: Announcement) -> str:
    """Gather the waiting plans in scope into the month's tender and announce it (a decision)."""
    scope = scope_of(who)
    tender_id = tender_id_of(scope, a.month)
    if (await conn.execute(select(tenders.c.tender_id).where(tenders.c.tender_id == tender_id))).first() is not None:
        raise refuse(f"{a.month} 的招标已经发起（{tender_id}），每月一次", 409, "exists")
    waiting = await waiting_plans(conn, who, a.month)
    if not waiting:
        raise refuse(f"{a.month} 及以前没有待招标的存放计划", 409, "nothing")
    counties = {p.county for p in waiting}
    if len(counties) != 1:
        raise refuse("所辖计划分属多个县，请由县级监管发起招标", 409, "counties")
    county = counties.pop()
    lot_rows = [
        {"lot": n, "edge_id": p.edge_id, "plan_id": p.plan_id, "village": p.village, "township": p.township,
         "account_name": p.account_name, "amount_fen": p.amount_fen, "term_months": p.term_months}
        for n, p in enumerate(waiting, 1)
    ]  # fmt: skip
    entry = await decisions.decide(TENDER, {
        "tender_id": tender_id, "level": who.level, "scope": scope, "county": county, "month": a.month,
        "rule": rule_text(a.rate_points), "rate_points": str(a.rate_points), "sign_days": a.sign_days,
        "bid_window": {"opens_at": iso(a.opens_at), "closes_at": iso(a.closes_at)}, "lots": lot_rows,
    }, actor=actor_of(who), conn=conn)  # fmt: skip
    await conn.execute(tenders.insert().values(
        tender_id=tender_id, level=who.level, scope_name=scope, county=county, month=a.month,
        rate_points=str(a.rate_points), sign_days=a.sign_days, opens_at=iso(a.opens_at), closes_at=iso(a.closes_at),
        status="bidding", opened_by=who.account or actor_of(who), decision_index=entry.index,
    ))  # fmt: skip
    await conn.execute(lots.insert(), [{**row, "tender_id": tender_id, "status": "bidding"} for row in lot_rows])
    return tender_id


# -- who sees a tender -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bank:
    username: str
    name: str
    county: str


async def bank_of(conn: AsyncConnection, who: Principal) -> Bank:
    """The bank behind ``who``: an enabled bank account whose registration a county officer approved."""
    if who.role == R.APPLICANT:
        raise refuse("您的银行注册尚未获批准（或未通过），不能查看招标和报价", 403, "not_approved")
    if who.role != R.BANK or not who.account:
        raise refuse("只有已获批准的银行账号可以报价", 403, "forbidden")
    row = (await conn.execute(
        select(accounts.c.disabled, accounts.c.name, applications.c.status, applications.c.county)
        .join(applications, applications.c.account_id == accounts.c.id).where(accounts.c.username == who.account)
    )).first()  # fmt: skip
    if row is None or row.status != "approved":
        raise refuse("您的银行注册尚未获批准（或未通过），不能查看招标和报价", 403, "not_approved")
    if row.disabled:
        raise refuse("您的银行账号已停用，不能报价", 403, "disabled")
    return Bank(who.account, row.name, row.county)


async def approved_banks(conn: AsyncConnection, county: str) -> list[Bank]:
    rows = await conn.execute(
        select(accounts.c.username, accounts.c.name, applications.c.county)
        .join(applications, applications.c.account_id == accounts.c.id)
        .where(applications.c.kind == R.BANK, applications.c.status == "approved", applications.c.county == county,
               accounts.c.disabled.is_(False)).order_by(accounts.c.name)
    )  # fmt: skip
    return [Bank(r.username, r.name, r.county) for r in rows]


async def officer_sees(conn: AsyncConnection, who: Principal, tender: Any) -> bool:
    """A reader of the villages' records sees a tender of its scope, or one holding a lot of its villages (a
    township's discipline officer watches the county's tender of its own villages)."""
    if who.level == "all" or who.name in (tender.county, tender.scope_name):
        return True
    return any(who.covers(tender.county, lot.township) for lot in await lots_of(conn, tender.tender_id))


async def still_bidding(conn: AsyncConnection, tender_id: str, then: str = "bidding") -> bool:
    """Take the tender's row while it is still bidding (setting its status to ``then``): a bid, a score and the
    opening each hold it in their transaction, so on PostgreSQL none of them slips past an opening that
    committed meanwhile, and two openings never both proceed."""
    held = await conn.execute(
        update(tenders).where((tenders.c.tender_id == tender_id) & (tenders.c.status == "bidding")).values(status=then)
    )
    return bool(held.rowcount == 1)


def officer_manages(who: Principal, tender: Any) -> bool:
    """Scores and opening: an officer of the tender's own scope, or of its county."""
    return who.role in OFFICERS and who.name in (tender.county, tender.scope_name)


async def tender_row(conn: AsyncConnection, tender_id: str) -> Any:
    row = (await conn.execute(select(tenders).where(tenders.c.tender_id == tender_id))).first()
    if row is None:
        raise refuse("没有此招标", 404, "not_found")
    return row


async def tender_for_bank(conn: AsyncConnection, bank: Bank, tender_id: str) -> Any:
    """A tender open to this bank (of its county); another county's is as unknown as a missing one."""
    row = await tender_row(conn, tender_id)
    if row.county != bank.county:
        raise refuse("没有此招标", 404, "not_found")
    return row


async def tenders_for(conn: AsyncConnection, *, county: str | None = None, who: Principal | None = None) -> list[Any]:
    """The tenders open to a bank of ``county``, or those ``who`` (an officer, a supervisor) sees; newest month first."""
    rows = (await conn.execute(select(tenders).order_by(tenders.c.month.desc(), tenders.c.tender_id))).all()
    if county is not None:
        return [t for t in rows if t.county == county]
    return [t for t in rows if who is not None and await officer_sees(conn, who, t)]


async def lots_of(conn: AsyncConnection, tender_id: str) -> list[Any]:
    return list(await conn.execute(select(lots).where(lots.c.tender_id == tender_id).order_by(lots.c.lot)))


async def bids_of(conn: AsyncConnection, tender_id: str, bank: str | None = None) -> list[Any]:
    """The bids on a tender, earliest first; only ``bank``'s own when given (what a bank may see before opening)."""
    query = select(bids).where(bids.c.tender_id == tender_id)
    if bank is not None:
        query = query.where(bids.c.bank == bank)
    return list(await conn.execute(query.order_by(bids.c.decision_index)))


async def scores_of(conn: AsyncConnection, tender_id: str) -> list[Any]:
    columns = [c for c in scores.c if c.name != "source"]
    return list(
        await conn.execute(select(*columns).where(scores.c.tender_id == tender_id).order_by(scores.c.bank_name))
    )


# -- a bank's sealed bid -----------------------------------------------------------------------------------------


def sealed(tender_id: str, lot: int, bank: str, rate_percent: str, salt: str) -> str:
    """The commitment a bid leaves in the decision log before opening."""
    bid = {"tender_id": tender_id, "lot": lot, "bank": bank, "rate_percent": rate_percent, "salt": salt}
    return hashlib.sha256(canonical_json(bid).encode()).hexdigest()


async def place_bid(conn: AsyncConnection, decisions: DecisionLog, who: Principal, tender_id: str, lot: object,
                    rate: object, now: datetime) -> None:  # fmt: skip
    bank = await bank_of(conn, who)
    tender = await tender_for_bank(conn, bank, tender_id)
    if not await still_bidding(conn, tender_id):
        raise refuse("此招标已开标，不再接受报价", 409, "closed")
    if now < parse_iso(tender.opens_at):
        raise refuse(f"报价尚未开始（{local(tender.opens_at)} 开始）", 409, "not_yet")
    if now >= parse_iso(tender.closes_at):
        raise refuse(f"报价已于 {local(tender.closes_at)} 截止，不再接受报价", 409, "closed")
    number = str(lot).strip()
    found = [
        r for r in await lots_of(conn, tender_id) if number.isascii() and number.isdigit() and r.lot == int(number)
    ]
    if not found:
        raise refuse("没有此标段")
    try:
        rate_text = str(rules.parse_rate(rate))
    except rules.RuleError as exc:
        raise refuse(exc.message) from None
    key = (bids.c.tender_id == tender_id) & (bids.c.lot == found[0].lot) & (bids.c.bank == bank.username)
    if (await conn.execute(select(bids.c.bank).where(key))).first() is not None:
        raise refuse(f"您已对第 {found[0].lot} 标段报价，每家银行每个标段只报价一次", 409, "already")
    salt = secrets.token_hex(16)
    entry = await decisions.decide(BID, {
        "tender_id": tender_id, "lot": found[0].lot, "bank": bank.username, "at": iso(now),
        "sealed": sealed(tender_id, found[0].lot, bank.username, rate_text, salt),
    }, actor=f"bank:{bank.username}", conn=conn)  # fmt: skip
    await conn.execute(bids.insert().values(
        tender_id=tender_id, lot=found[0].lot, bank=bank.username, bank_name=bank.name, rate_percent=rate_text,
        salt=salt, at=iso(now), decision_index=entry.index,
    ))  # fmt: skip


# -- the officer's scores ------------------------------------------------------------------------------------------


def source_type(data: bytes) -> str:
    if not data:
        raise refuse("请上传评分依据（人民银行提供的数据文件扫描件）")
    if len(data) > MAX_LICENCE_BYTES:
        raise refuse(f"评分依据不能超过 {MAX_LICENCE_BYTES // (1024 * 1024)} MB")
    for magic, media in LICENCE_TYPES.items():
        if data.startswith(magic):
            return media
    raise refuse("评分依据须为 PDF、JPG 或 PNG 文件")


async def enter_scores(conn: AsyncConnection, decisions: DecisionLog, who: Principal, tender_id: str, bank: object,
                       operating: object, agri: object, source_name: str, source: bytes) -> None:  # fmt: skip
    """A bank's two scores (replacing earlier ones) with their source, by an officer of the tender, before opening."""
    tender = await tender_row(conn, tender_id)
    if not officer_manages(who, tender):
        raise refuse("只有本次招标的县级监管或乡镇审核人员可以录入评分", 403, "forbidden")
    if not await still_bidding(conn, tender_id):
        raise refuse("已开标，评分不能再录入或修改", 409, "opened")
    found = [b for b in await approved_banks(conn, tender.county) if b.username == str(bank)]
    if not found:
        raise refuse("请选择本县已获批准的银行")
    try:
        op, ag = rules.parse_score(operating), rules.parse_score(agri)
    except rules.RuleError as exc:
        raise refuse(exc.message) from None
    media = source_type(source)
    name = (source_name or "评分依据").strip()[:100]
    digest = hashlib.sha256(source).hexdigest()
    entry = await decisions.decide(SCORES, {
        "tender_id": tender_id, "bank": found[0].username, "bank_name": found[0].name, "operating_score": str(op),
        "agri_support_score": str(ag), "source": {"name": name, "sha256": digest, "size": len(source)},
    }, actor=actor_of(who), conn=conn)  # fmt: skip
    await conn.execute(delete(scores).where((scores.c.tender_id == tender_id) & (scores.c.bank == found[0].username)))
    await conn.execute(scores.insert().values(
        tender_id=tender_id, bank=found[0].username, bank_name=found[0].name, operating_score=str(op),
        agri_support_score=str(ag), source_name=name, source_type=media, source_sha256=digest, source=source,
        entered_by=who.account or "", decision_index=entry.index,
    ))  # fmt: skip


async def score_source(conn: AsyncConnection, who: Principal, tender_id: str, bank: str) -> tuple[str, str, bytes]:
    tender = await tender_row(conn, tender_id)
    if not await officer_sees(conn, who, tender):
        raise refuse("没有此招标", 404, "not_found")
    row = (await conn.execute(select(scores.c.source_name, scores.c.source_type, scores.c.source)
                              .where((scores.c.tender_id == tender_id) & (scores.c.bank == bank)))).first()  # fmt: skip
    if row is None:
        raise refuse("没有此评分依据", 404, "not_found")
    return row.source_name, row.source_type, row.source


# -- opening ---------------------------------------------------------------------------------------------------------


def rank_lot(lot_bids: list[Any], by_bank: dict[str, Any], rate_points: Decimal) -> list[rules.Scored]:
    """One lot's bids scored and ranked by the module's rule (``rules.score_bids``)."""
    return rules.score_bids([
        rules.Bid(b.bank, Decimal(b.rate_percent), Decimal(by_bank[b.bank].operating_score),
                  Decimal(by_bank[b.bank].agri_support_score), b.decision_index)
        for b in lot_bids
    ], rate_points)  # fmt: skip


async def unscored_banks(conn: AsyncConnection, tender_id: str) -> list[str]:
    """The names of the banks that bid but whose two scores are not entered yet: the tender cannot open."""
    scored = {s.bank for s in await scores_of(conn, tender_id)}
    return sorted({b.bank_name for b in await bids_of(conn, tender_id) if b.bank not in scored})


async def open_bids(
    conn: AsyncConnection, decisions: DecisionLog, who: Principal, tender_id: str, now: datetime
) -> None:
    """An officer of the tender opens it (once the window closed and every bidding bank is scored)."""
    if not officer_manages(who, await tender_row(conn, tender_id)):
        raise refuse("只有本次招标的县级监管或乡镇审核人员可以开标", 403, "forbidden")
    await opening(conn, decisions, tender_id, actor_of(who), now)


async def opening(conn: AsyncConnection, decisions: DecisionLog, tender_id: str, actor: str, now: datetime) -> None:
    """After the window: score and rank every lot, record the result with every input, send each award down.
    The officer's button and the timer (schedule.py) both come here; the first to hold the row opens it."""
    if not await still_bidding(conn, tender_id, "opened"):
        raise refuse("此招标已开标", 409, "opened")
    tender = await tender_row(conn, tender_id)
    if now < parse_iso(tender.closes_at):
        raise refuse(f"报价截止（{local(tender.closes_at)}）前不能开标", 409, "too_early")
    unscored = await unscored_banks(conn, tender_id)
    if unscored:
        raise refuse(f"以下银行尚未录入经营状况和支农评分，不能开标：{'、'.join(unscored)}", 409, "unscored")
    all_bids = await bids_of(conn, tender_id)
    by_bank = {s.bank: s for s in await scores_of(conn, tender_id)}
    points = Decimal(tender.rate_points)
    notice = now.astimezone(SHANGHAI).date().isoformat()
    names = {b.bank: b.bank_name for b in all_bids}
    results: list[dict[str, Any]] = []
    awards: list[tuple[Any, rules.Scored]] = []
    for lot in await lots_of(conn, tender_id):
        lot_bids = [b for b in all_bids if b.lot == lot.lot]
        ranking = rank_lot(lot_bids, by_bank, points)
        if ranking:
            awards.append((lot, ranking[0]))
        results.append({
            "lot": lot.lot, "edge_id": lot.edge_id, "plan_id": lot.plan_id, "village": lot.village,
            "amount_fen": lot.amount_fen, "term_months": lot.term_months,
            "bids": [{"bank": b.bank, "bank_name": b.bank_name, "rate_percent": b.rate_percent, "at": b.at,
                      "salt": b.salt, "sealed_index": b.decision_index} for b in lot_bids],
            "ranking": [{"bank": s.bank, "bank_name": names[s.bank], "rate_points": str(s.rate_points), "score": str(s.score)}
                        for s in ranking],
            "winner": names[ranking[0].bank] if ranking else None,
        })  # fmt: skip
    entry = await decisions.decide(RESULT, {
        "tender_id": tender_id, "rule": rule_text(points), "rate_points": str(points), "opened_at": iso(now),
        "notice_date": notice, "sign_days": tender.sign_days,
        "scores": [{"bank": s.bank, "bank_name": s.bank_name, "operating_score": s.operating_score,
                    "agri_support_score": s.agri_support_score, "source": {"name": s.source_name, "sha256": s.source_sha256},
                    "scores_index": s.decision_index} for s in by_bank.values()],
        "lots": results,
    }, actor=actor, conn=conn)  # fmt: skip
    for lot, best in awards:
        body = {
            "plan_id": lot.plan_id, "tender_id": tender_id, "bank": names[best.bank], "rate_percent": str(best.bid.rate_percent),
            "amount_fen": lot.amount_fen, "term_months": lot.term_months, "notice_date": notice, "sign_days": tender.sign_days,
        }  # fmt: skip
        await decisions.decide(AWARD, body, lot.edge_id, actor=actor, conn=conn)
        await conn.execute(update(lots).where((lots.c.tender_id == tender_id) & (lots.c.lot == lot.lot))
                           .values(status="awarded", bank=body["bank"], rate_percent=body["rate_percent"]))  # fmt: skip
    # A lot without a valid bid fails: its plan waits for the next tender.
    await conn.execute(update(lots).where((lots.c.tender_id == tender_id) & (lots.c.status == "bidding"))
                       .values(status="failed"))  # fmt: skip
    await conn.execute(update(tenders).where(tenders.c.tender_id == tender_id)
                       .values(result_index=entry.index, notice_date=notice))  # fmt: skip


async def ranking_of(conn: AsyncConnection, tender: Any) -> dict[int, list[tuple[str, rules.Scored]]]:
    """An opened tender's ranking per lot (bank name, scored), recomputed from the stored inputs for the pages."""
    if tender.status != "opened":
        return {}
    all_bids = await bids_of(conn, tender.tender_id)
    by_bank = {s.bank: s for s in await scores_of(conn, tender.tender_id)}
    names = {b.bank: b.bank_name for b in all_bids}
    lots_ranked: dict[int, list[tuple[str, rules.Scored]]] = {}
    for lot in await lots_of(conn, tender.tender_id):
        ranked = rank_lot([b for b in all_bids if b.lot == lot.lot], by_bank, Decimal(tender.rate_points))
        lots_ranked[lot.lot] = [(names[s.bank], s) for s in ranked]
    return lots_ranked


async def bid_counts(conn: AsyncConnection, tender_id: str) -> dict[int, int]:
    rows = await conn.execute(
        select(bids.c.lot, func.count()).where(bids.c.tender_id == tender_id).group_by(bids.c.lot)
    )
    return {r[0]: r[1] for r in rows}
