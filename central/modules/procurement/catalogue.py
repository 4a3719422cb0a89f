"""The suppliers' catalogue (商品目录): goods with their prices, listed by each qualified supplier for its own
registered categories, read by the officers of its county as the market's prices beside a demand's ceiling.

A listing and a withdrawal are decisions in the central's log (the supplier's, as actor) before the row
changes; a supplier lists only as itself, only while qualified and not blacklisted, and withdraws only its own
goods (another's is not found). What it types is checked here, with the reason in Chinese.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

import central.modules.procurement.kinds as K
from central.accounts.store import Application
from central.decisions.log import DecisionLog
from central.modules.procurement.creditdesk import score_of
from central.modules.procurement.review import iso
from central.modules.procurement.tables import catalogue
from central.store import Principal, Refusal

MAX_NAME, MAX_UNIT = 60, 8
MAX_PRICE_FEN = 100_000_000_00  # 100 million yuan: a catalogue price above it is a typing error


@dataclass(frozen=True)
class Item:
    category: str
    name: str
    unit: str
    price_fen: int


def _text(value: object, what: str, limit: int) -> str:
    cleaned = unicodedata.normalize("NFC", value if isinstance(value, str) else "").strip()
    if not cleaned:
        raise Refusal(400, "missing_field", f"请填写{what}")
    if len(cleaned) > limit or any(unicodedata.category(c)[0] == "C" for c in cleaned):
        raise Refusal(400, "bad_field", f"{what}最多 {limit} 个字，不能含控制字符")
    return cleaned


def item(form: Mapping[str, Any], application: Application, price_fen: int) -> Item:
    """The goods a supplier typed (the price already read as fen), checked against its registration."""
    category = form.get("category")
    if category not in application.categories:
        raise Refusal(400, "bad_category", f"只能为贵单位登记的类别报价：{'、'.join(application.categories)}")
    if not 0 < price_fen <= MAX_PRICE_FEN:
        raise Refusal(400, "bad_amount", "单价应大于 0，且不超过 1 亿元")
    return Item(str(category), _text(form.get("name"), "商品名称", MAX_NAME), _text(form.get("unit"), "单位", MAX_UNIT), price_fen)


async def _supplier(conn: AsyncConnection, who: Principal, application: Application | None) -> Application:
    if application is None or application.kind != "supplier" or application.status != "approved" \
            or application.username != who.account:  # fmt: skip
        raise Refusal(403, "forbidden", "只有县级审核通过的供应商可以发布商品报价")
    if (await score_of(conn, application.username))[1]:
        raise Refusal(409, "blacklisted", "您的单位已被列入黑名单（信用分低于 80），不能发布商品报价")
    return application


async def list_item(conn: AsyncConnection, decisions: DecisionLog, who: Principal, application: Application | None,
                    goods: Item, now: datetime) -> int:  # fmt: skip
    """List goods on the supplier's catalogue (a decision, then the row); the listing's number."""
    found = await _supplier(conn, who, application)
    body = {"supplier": found.username, "category": goods.category, "name": goods.name, "unit": goods.unit,
            "price_fen": goods.price_fen}  # fmt: skip
    entry = await decisions.decide(K.CATALOGUE_LISTED, body, None, actor=found.username, conn=conn)
    done = await conn.execute(catalogue.insert().values(
        supplier=found.username, supplier_name=found.org_name, county=found.county, category=goods.category,
        name=goods.name, unit=goods.unit, price_fen=goods.price_fen, listed_at=iso(now), decision_index=entry.index,
    ))  # fmt: skip
    key = done.inserted_primary_key
    assert key is not None  # an insert into a table with an autoincrement key
    return int(key[0])


async def withdraw(conn: AsyncConnection, decisions: DecisionLog, who: Principal, seq: int) -> None:
    """Take the supplier's own listed goods off its catalogue; another's, or goods already withdrawn, are not found."""
    row = (await conn.execute(select(catalogue).where(catalogue.c.seq == seq))).first()
    if row is None or row.supplier != who.account or row.withdrawn_index is not None:
        raise Refusal(404, "not_found", "您的目录中没有此商品")
    entry = await decisions.decide(K.CATALOGUE_WITHDRAWN, {"supplier": row.supplier, "listing": seq}, None,
                                   actor=row.supplier, conn=conn)  # fmt: skip
    await conn.execute(catalogue.update().where(catalogue.c.seq == seq).values(withdrawn_index=entry.index))


def covers_county(who: Principal, county: str) -> bool:
    """An officer reads the catalogue of its county's suppliers (a township's officer, of its county's)."""
    if who.level == "all":
        return True
    return who.name == county if who.level == "county" else who.level == "township" and who.name.startswith(f"{county}/")


async def listed(conn: AsyncConnection, who: Principal) -> list[Any]:
    """The goods listed now that ``who`` may read: a supplier its own, an officer its county's; by category, price."""
    rows = (
        await conn.execute(
            select(catalogue).where(catalogue.c.withdrawn_index.is_(None))
            .order_by(catalogue.c.category, catalogue.c.name, catalogue.c.price_fen, catalogue.c.seq)
        )
    ).all()  # fmt: skip
    if who.level == "self":
        return [r for r in rows if r.supplier == who.account]
    return [r for r in rows if covers_county(who, r.county)]
