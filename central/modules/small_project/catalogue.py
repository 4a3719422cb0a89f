"""The township's guide-price catalogue at the central: read from a CSV or XLSX the township keeps (编号,名称,单位,单价(元)),
checked by the edge's own rule (:func:`edge.modules.small_project.rules.parse_catalogue`, one reading for both
halves), kept as a version of the township, and published down to every village of the township as a signed
document of kind ``small_project.catalogue`` (one decision in the central's log per village)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

import edge.modules.small_project.rules as rules  # noqa: PLR0402 (the pure rules only, as the layers allow)
from central.db import edges, metadata
from central.modules.small_project.pool import township_of
from central.store import Principal, Refusal
from edge.kernel.fmt import AmountError, parse_yuan
from edge.kernel.tables import Limits, TableError, TooManyRows, read_table

NAME = "small_project"
CATALOGUE = f"{NAME}.catalogue"  # the edge part's document kind
HEADER = ["编号", "名称", "单位", "单价(元)"]
MAX_BYTES = 2 * 1024 * 1024
LIMITS = Limits(
    rows=2 * rules.MAX_ITEMS,  # the items, the header and blank lines between them
    columns=20,  # the four, and a township's own notes beside them (the header may carry their names)
    unpacked_bytes=20 * 1024 * 1024,  # an XLSX is a zip: one that expands past this is refused unread (a zip bomb)
)

catalogues = Table(
    "small_project_catalogues",
    metadata,
    Column("county", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("version", String(40), nullable=False),
    Column("effective", String(10), nullable=False),
    Column("items", Text, nullable=False),  # JSON, as the document carries them
    Column("published_by", Text, nullable=False),
    Column("published_at", Text, nullable=False),
    Column("villages", BigInteger, nullable=False),  # how many edges it was sent to
    PrimaryKeyConstraint("county", "township", "version"),
)


def _refuse(message: str) -> Refusal:
    return Refusal(400, "bad_catalogue", message)


def read_catalogue(filename: str, data: bytes, version: str, effective: str) -> dict[str, Any]:
    """The catalogue's document body from a CSV (UTF-8 or GBK, as Excel saves it) or an XLSX (its first sheet),
    with the header 编号,名称,单位,单价(元), read by :mod:`edge.kernel.tables`."""
    if len(data) > MAX_BYTES:
        raise _refuse(f"文件过大（最多 {MAX_BYTES // (1024 * 1024)} MB）")
    try:
        table = read_table(data, "xlsx" if filename.lower().endswith(".xlsx") else "csv", LIMITS)
        rows = [["" if v is None else str(v) for v in row] for _, row in table]
    except TooManyRows:
        raise _refuse(f"目录最多 {rules.MAX_ITEMS} 项") from None
    except TableError as exc:
        raise _refuse(exc.message) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows or [c.strip() for c in rows[0]][: len(HEADER)] != HEADER:
        raise _refuse(f"第 1 行应为表头 {','.join(HEADER)}")
    items = []
    for n, row in enumerate(rows[1:], 2):
        cells = [c.strip() for c in row]
        if len(cells) < len(HEADER) or any(cells[len(HEADER) :]):
            raise _refuse(f"第 {n} 行应有 {len(HEADER)} 列")
        try:
            price = parse_yuan(cells[3], rules.MAX_PRICE_FEN)
        except AmountError as exc:
            raise _refuse(f"第 {n} 行单价：{exc.message}") from None
        items.append({"code": cells[0], "name": cells[1], "unit": cells[2], "price_fen": price})
    body = {"version": version.strip(), "effective": effective.strip(), "items": items}
    try:
        return rules.catalogue_body(rules.parse_catalogue(body))
    except rules.RuleError as exc:
        raise _refuse(exc.message) from None


async def publish(conn: AsyncConnection, decisions: Any, who: Principal, body: dict[str, Any], moment: datetime) -> int:
    """Keep the version and send it to every village of the officer's township: how many it went to."""
    county, township = township_of(who, "发布本乡镇的指导价目录")
    found = await conn.execute(select(catalogues.c.version).where(
        catalogues.c.county == county, catalogues.c.township == township, catalogues.c.version == body["version"]))  # fmt: skip
    if found.first() is not None:
        raise Refusal(409, "version_exists", f"目录版本 {body['version']} 已发布过，请用新的版本号")
    villages = (
        (await conn.execute(select(edges.c.edge_id).where(edges.c.county == county, edges.c.township == township)))
        .scalars()
        .all()
    )
    for edge_id in sorted(villages):
        await decisions.decide(CATALOGUE, body, edge_id, actor=who.account or who.name, conn=conn)
    await conn.execute(catalogues.insert().values(
        county=county, township=township, version=body["version"], effective=body["effective"],
        items=json.dumps(body["items"], ensure_ascii=False), published_by=who.account or who.name,
        published_at=moment.astimezone(UTC).isoformat(), villages=len(villages)))  # fmt: skip
    return len(villages)


async def published(conn: AsyncConnection, who: Principal) -> list[dict[str, Any]]:
    """The versions published in ``who``'s scope, newest first, each with its number of items."""
    rows = (await conn.execute(select(catalogues).order_by(catalogues.c.published_at.desc()))).all()
    return [{**r._asdict(), "count": len(json.loads(r.items))} for r in rows if who.covers(r.county, r.township)]
