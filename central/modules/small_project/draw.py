"""The township's draw of two contractors for a village's project, run at the central so that anyone can re-run
it (the procedure is edge/modules/small_project/README.md's; the seed's sources are its "central half" section).

Three steps:

1. **Fixed** (``small_project.draw_fixed``, published at once and sent down to the village): the pool snapshot
   (every contractor of the township as the draw reads it, blacklisted ones marked) and its hash, the village's
   recommended contractor, the category, the village's commitment (SHA-256 of its value, recorded with its
   recommendation) and the township's: SHA-256 (hex) of a value the township officer chose and keeps to
   themselves. Fixing the entry fixes the third source: the Merkle root of the central's decision log over its
   first *i* + 1 entries (*i* the fixed decision's index), which covers both commitments, so it did not exist
   when either side chose its value. A project is fixed once.
2. **The village reveals** (``small_project.village_revealed``, an entry of its ledger, checked there against
   its commitment) once its edge has the fixing: it comes up and is kept (:func:`projects_.village_value`).
3. **Drawn** (``small_project.drawn``): the officer reveals the township's value; it must hash to the
   commitment, and the village's must be in. The seed is :func:`rules.combine_seed` of ``["village:<value>",
   "township:<value>", "checkpoint:<i+1>:<root hex>"]``, the two by :func:`rules.draw` from the fixed snapshot,
   and the whole record goes down to the village as the signed document the edge's projection re-runs with
   :func:`rules.verify_draw` (and checks it carries the village's own value) before applying it.

Why no one steers it: each value was committed before the root existed and cannot change (SHA-256); the root
cannot be aimed, since when it is made the central knows neither value (at most the township's, were it to
collude with the township: never the village's); the village's value alone, or the township's, decides
nothing without the other and the root. What a side can still do is not reveal: the draw then does not happen
(the fixed record stays public as fixed, and a project is fixed once), which stalls its own project and is on
record; it cannot pick another result.

Nothing here is random: the result follows from the published record alone (:func:`public_record`)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, String, Table, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncConnection

import central.modules.small_project.projects as projects_
import edge.modules.small_project.rules as rules  # noqa: PLR0402 (the pure rules only, as the layers allow)
from central.db import metadata
from central.modules.small_project.pool import pool_of, text, township_of
from central.store import Principal, Refusal

NAME = "small_project"
FIXED, DRAWN = f"{NAME}.draw_fixed", f"{NAME}.drawn"
_COMMITMENT = re.compile(r"[0-9a-f]{64}", re.ASCII)

draws = Table(
    "small_project_draws",
    metadata,
    Column("id", String(32), primary_key=True),  # random: the public record's address
    Column("edge_id", String(64), nullable=False),
    Column("project_id", String(32), nullable=False),
    Column("county", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("village", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("recommended", Text, nullable=False),  # the contractor's id
    Column("pool", Text, nullable=False),  # JSON: the snapshot, as POOL.json
    Column("pool_hash", String(64), nullable=False),
    Column("commitment", String(64), nullable=False),
    Column("fixed_index", BigInteger, nullable=False),  # the fixed decision's index in the central's log
    Column("checkpoint_root", String(64), nullable=False),  # the log's root over its first fixed_index + 1 entries
    Column("checkpoint", Text, nullable=True),  # JSON: the log's signed checkpoint of that tree (its to_dict)
    Column("fixed_by", Text, nullable=False),
    Column("fixed_at", Text, nullable=False),
    Column("status", String(8), nullable=False),  # fixed | drawn
    Column("record", Text, nullable=True),  # JSON: the draw's whole record, once drawn
    Column("drawn_index", BigInteger, nullable=True),
    UniqueConstraint("edge_id", "project_id"),
)


def commitment(typed: str) -> str:
    """A township's commitment as typed: SHA-256 in hex (64 characters), or a refusal."""
    promise = typed.strip().lower()
    if _COMMITMENT.fullmatch(promise) is None:
        raise Refusal(400, "bad_commitment", "承诺值应为 64 位十六进制（乡镇随机值的 SHA-256）")
    return promise


def revealed(value: str, promised: str) -> str:
    """The township's value as revealed: checked, and it must hash to the commitment it made."""
    secret = text(value, "乡镇随机值", rules.VALUE_MAX, rules.VALUE_MIN)
    if rules.commitment_of(secret) != promised:
        raise Refusal(400, "not_committed", "随机值与抽取前公布的承诺值不符")
    return secret


async def root_after(decisions: Any, index: int) -> str:
    """The decision log's Merkle root (hex) over its first ``index`` + 1 entries: the source a fixing fixes."""
    return (await decisions.ledger.root_hash(index + 1)).hex()


def seed_sources(village: str, township: str, tree_size: int, root: str) -> list[str]:
    return [f"village:{village}", f"township:{township}", f"checkpoint:{tree_size}:{root}"]


async def fix(
    conn: AsyncConnection, decisions: Any, who: Principal, edge_id: str, project_id: str, typed_commitment: str,
    moment: datetime,
) -> str:  # fmt: skip
    """Fix and publish what a project's draw depends on, with the township's commitment: the draw's id."""
    county, township = township_of(who, "为本乡镇的工程抽取承包商")
    project = await projects_.one(conn, edge_id, project_id)
    if project is None or (project["county"], project["township"]) != (county, township):
        raise Refusal(404, "not_found", "本乡镇没有这个工程")
    if not projects_.awaiting(project):
        raise Refusal(409, "not_awaiting", f"工程当前为“{project['status_name']}”，须村已批准并推荐承包商后才能抽取")
    taken = await conn.execute(select(draws.c.id).where(draws.c.edge_id == edge_id, draws.c.project_id == project_id))
    if taken.first() is not None:
        raise Refusal(409, "fixed", "本工程的抽取已经固定，不能重新固定")
    promise = commitment(typed_commitment)
    pool = await pool_of(conn, county, township)
    recommended = project["recommended"]["id"]
    if any(c.id == recommended and c.blacklisted for c in pool):
        raise Refusal(409, "recommended_blacklisted", f"村推荐的承包商 {project['recommended']['name']} 已被列入黑名单，"
                                                      "请村重新推荐后再抽取")  # fmt: skip
    try:
        if len(rules.eligible(pool, recommended, project["category"])) < rules.DRAWN:
            raise rules.RuleError(
                f"本乡镇库中符合“{project['category']}”类别的承包商（不含村推荐的）不足 {rules.DRAWN} 家，无法抽取"
            )
    except rules.RuleError as exc:
        raise Refusal(400, "cannot_draw", exc.message) from None
    snapshot = [c.snapshot() for c in pool]
    fixed = {"village": project["village"], "edge_id": edge_id, "project_id": project_id,
             "category": project["category"], "recommended": recommended, "pool": snapshot,
             "pool_hash": rules.pool_hash(pool), "commitment": promise,
             "village_commitment": project["recommended"]["commitment"]}  # fmt: skip
    # Sent down: the village reveals its value only once it sees the fixing (the root then exists).
    entry = await decisions.decide(FIXED, fixed, edge_id, actor=who.account or who.name, conn=conn)
    root = await root_after(decisions, entry.index)
    # The checkpoint signed right after the decision covers exactly it (unless another decision slipped in
    # between: the root then stands alone, provable from any later checkpoint).
    signed = await decisions.ledger.latest_checkpoint()
    checkpoint = signed.to_dict() if signed is not None and signed.tree_size == entry.index + 1 else None
    draw_id = uuid.uuid4().hex
    await conn.execute(draws.insert().values(
        id=draw_id, edge_id=edge_id, project_id=project_id, county=county, township=township,
        village=project["village"], category=project["category"], recommended=recommended,
        pool=json.dumps(snapshot, ensure_ascii=False), pool_hash=fixed["pool_hash"], commitment=promise,
        fixed_index=entry.index, checkpoint_root=root,
        checkpoint=json.dumps(checkpoint) if checkpoint else None, fixed_by=who.account or who.name,
        fixed_at=moment.astimezone(UTC).isoformat(), status="fixed",
    ))  # fmt: skip
    return draw_id


def record_of(row: Any, village: str, township: str) -> dict[str, Any]:
    """The draw's whole record from its fixed row and the two revealed values (:func:`rules.verify_draw`'s
    input, and the document's ``record``)."""
    sources = seed_sources(village, township, row.fixed_index + 1, row.checkpoint_root)
    seed = rules.combine_seed(sources)
    pool = json.loads(row.pool)
    result = rules.draw(rules.parse_pool(pool), row.recommended, seed, row.category)
    return {"pool": pool, "recommended": row.recommended, "category": row.category, "seed": result.seed,
            "seed_sources": sources, "pool_hash": result.pool_hash, "drawn": list(result.drawn)}  # fmt: skip


async def reveal(conn: AsyncConnection, decisions: Any, who: Principal, draw_id: str, value: str) -> list[str]:
    """Reveal the township's value and draw: the two ids, sent down to the village as ``small_project.drawn``."""
    county, township = township_of(who, "为本乡镇的工程抽取承包商")
    row = (await conn.execute(select(draws).where(draws.c.id == draw_id).with_for_update())).first()
    if row is None or (row.county, row.township) != (county, township):
        raise Refusal(404, "not_found", "本乡镇没有这次抽取")
    if row.status != "fixed":
        raise Refusal(409, "drawn", "本次抽取已经完成")
    secret = revealed(value, row.commitment)
    village = await projects_.village_value(conn, row.edge_id, row.project_id)
    if village is None:
        raise Refusal(409, "village_not_revealed", "村尚未公布其随机值，公布后才能抽取")
    record = record_of(row, village, secret)
    body = {"project_id": row.project_id, "record": record}
    entry = await decisions.decide(DRAWN, body, row.edge_id, actor=who.account or who.name, conn=conn)
    await conn.execute(draws.update().where(draws.c.id == draw_id, draws.c.status == "fixed").values(
        status="drawn", record=json.dumps(record, ensure_ascii=False), drawn_index=entry.index))  # fmt: skip
    return list(record["drawn"])


def public_record(row: Any, village_commitment: str | None = None) -> dict[str, Any]:
    """What anyone may read at ``/m/small_project/draws/<id>.json``: before the draw, what was fixed (with the
    decision log's checkpoint of the fixed tree, signed by the key of ``/api/v1/central/pubkey``); after it, also
    the record ``qinglian projects verify-draw`` re-runs (its keys at the top level)."""
    fixed = {"decision_index": row.fixed_index, "commitment": row.commitment, "village_commitment": village_commitment,
             "checkpoint": json.loads(row.checkpoint) if row.checkpoint
             else {"tree_size": row.fixed_index + 1, "root_hash": row.checkpoint_root}}  # fmt: skip
    head = {"village": row.village, "project_id": row.project_id, "status": row.status, "fixed": fixed}
    if row.record is None:
        return {**head, "pool": json.loads(row.pool), "pool_hash": row.pool_hash, "recommended": row.recommended,
                "category": row.category}  # fmt: skip
    return {**head, **json.loads(row.record), "drawn_decision_index": row.drawn_index}


async def by_id(conn: AsyncConnection, draw_id: str) -> Any:
    return (await conn.execute(select(draws).where(draws.c.id == draw_id))).first()


async def of_projects(conn: AsyncConnection, who: Principal) -> dict[tuple[str, str], Any]:
    """The draws in ``who``'s scope by (edge id, project id)."""
    rows = (await conn.execute(select(draws))).all()
    return {(r.edge_id, r.project_id): r for r in rows if who.covers(r.county, r.township)}
