"""The township's contractor pool (承包商库): a township officer registers each contractor (its name, its unified
social credit code, which is its id in the pool and in every draw, and the project categories it is qualified
for), blacklists one with a written reason and lifts a blacklisting. Each of the three is a decision in the
central's log (none concerns one village, so none goes down), written before the row changes.

What a draw reads is :func:`pool_of`: the township's contractors as :class:`rules.Contractor` (id, name,
categories, blacklisted), the shape of POOL.json, so a blacklisted contractor is never eligible
(:func:`rules.eligible`)."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Column, PrimaryKeyConstraint, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

import edge.modules.small_project.rules as rules  # noqa: PLR0402 (the pure rules only, as the layers allow)
from central.accounts.credit import normalise_credit_code
from central.db import metadata
from central.store import Principal, Refusal

NAME = "small_project"
REGISTERED, BLACKLISTED, CLEARED = (f"{NAME}.{k}" for k in ("contractor", "blacklisted", "unblacklisted"))
MAX_CATEGORIES = 20

contractors = Table(
    "small_project_contractors",
    metadata,
    Column("county", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("id", String(18), nullable=False),  # the unified social credit code
    Column("name", Text, nullable=False),
    Column("categories", Text, nullable=False),  # JSON list, sorted
    Column("blacklisted", Boolean, nullable=False, default=False),
    Column("reason", Text, nullable=True),  # why it is (or was last) blacklisted
    Column("decision", Text, nullable=True),  # the index of the last decision on it in the central's log
    Column("registered_by", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    PrimaryKeyConstraint("county", "township", "id"),
)


def township_of(who: Principal, what: str) -> tuple[str, str]:
    """A township officer's (county, township) (their scope is ``county/township``); anyone else is refused."""
    county, _, township = who.name.partition("/")
    if who.level != "township" or who.role != "township_officer" or not township:
        raise Refusal(403, "forbidden", f"只有本乡镇的审核人员可以{what}")
    return county, township


def _bad(message: str) -> Refusal:
    return Refusal(400, "bad_contractor", message)


def text(value: str, what: str, limit: int, minimum: int = 1) -> str:
    """Typed text as the edge's forms take it (edge.kernel.text, which the central may not import): NFC,
    trimmed, no control characters but line breaks, ``minimum`` to ``limit`` characters."""
    cleaned = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch)[0] == "C" and ch != "\n" for ch in cleaned):
        raise _bad(f"{what}含有控制字符，请重新输入")
    if not minimum <= len(cleaned) <= limit:
        raise _bad(f"{what}应为 {minimum} 到 {limit} 个字")
    return cleaned


def parse_categories(typed: str) -> list[str]:
    """Categories as typed: separated by 、 , ， or spaces; each a line of text, at least one."""
    found = sorted({c for c in re.split(r"[、,，\s]+", typed) if c})
    if not 0 < len(found) <= MAX_CATEGORIES:
        raise _bad(f"请填写 1 到 {MAX_CATEGORIES} 个工程类别，用顿号分隔，例如 道路、水利")
    return [text(c, "工程类别", 20) for c in found]


def _now(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _actor(who: Principal) -> str:
    return who.account or who.name


async def _one(conn: AsyncConnection, county: str, township: str, code: str) -> Any:
    query = select(contractors).where(
        contractors.c.county == county, contractors.c.township == township, contractors.c.id == code
    )
    return (await conn.execute(query.with_for_update())).first()


async def register(
    conn: AsyncConnection, decisions: Any, who: Principal, name: str, code: str, categories: str, moment: datetime
) -> str:
    """Register a contractor in the officer's township pool; its id (the credit code)."""
    county, township = township_of(who, "登记本乡镇的承包商")
    title = text(name.replace("\n", " "), "承包商名称", 60)
    ident = normalise_credit_code(code)
    if ident is None:
        raise _bad("统一社会信用代码应为 18 位，且校验位正确")
    qualified = parse_categories(categories)
    if await _one(conn, county, township, ident) is not None:
        raise Refusal(409, "exists", f"承包商 {ident} 已在本乡镇库中")
    entry = await decisions.decide(REGISTERED, {"county": county, "township": township, "id": ident, "name": title,
                                                "categories": qualified}, actor=_actor(who), conn=conn)  # fmt: skip
    await conn.execute(contractors.insert().values(
        county=county, township=township, id=ident, name=title, categories=json.dumps(qualified, ensure_ascii=False),
        blacklisted=False, decision=str(entry.index), registered_by=_actor(who), updated_at=_now(moment)))  # fmt: skip
    return ident


async def set_blacklisted(
    conn: AsyncConnection, decisions: Any, who: Principal, code: str, blacklisted: bool, reason: str, moment: datetime
) -> None:
    """Blacklist a contractor of the officer's township with a written reason, or lift it (a reason too)."""
    county, township = township_of(who, "管理本乡镇承包商的黑名单")
    why = text(reason.replace("\r\n", "\n"), "理由", 500, rules.REASON_MIN)
    row = await _one(conn, county, township, code.strip().upper())
    if row is None:
        raise Refusal(404, "not_found", "本乡镇库中没有这家承包商")
    if row.blacklisted == blacklisted:
        raise Refusal(409, "unchanged", "该承包商已在黑名单中" if blacklisted else "该承包商不在黑名单中")
    entry = await decisions.decide(BLACKLISTED if blacklisted else CLEARED, {
        "county": county, "township": township, "id": row.id, "name": row.name, "reason": why,
    }, actor=_actor(who), conn=conn)  # fmt: skip
    await conn.execute(contractors.update().where(
        contractors.c.county == county, contractors.c.township == township, contractors.c.id == row.id,
    ).values(blacklisted=blacklisted, reason=why, decision=str(entry.index), updated_at=_now(moment)))  # fmt: skip


async def listed(conn: AsyncConnection, who: Principal) -> list[dict[str, Any]]:
    """The contractors of the pools in ``who``'s scope, by township and id."""
    rows = (await conn.execute(select(contractors).order_by(contractors.c.township, contractors.c.id))).all()
    return [{**r._asdict(), "categories": json.loads(r.categories)} for r in rows if who.covers(r.county, r.township)]


async def pool_of(conn: AsyncConnection, county: str, township: str) -> list[rules.Contractor]:
    """The township's pool as a draw reads it (POOL.json's fields), in id order."""
    query = select(contractors).where(contractors.c.county == county, contractors.c.township == township)
    rows = (await conn.execute(query.order_by(contractors.c.id))).all()
    return [rules.Contractor(r.id, r.name, tuple(json.loads(r.categories)), bool(r.blacklisted)) for r in rows]
