"""“121” supervision of an awarded project at the central: one hotline (its number comes down with the invitation
to quote and is on the project's notice), two random township checks (双随机), one peer observer (同行列席, named
at the opening: quotes.py).

**The two checks** are drawn the way the contractors are (draw.py), so that no one picks who inspects or when:

1. *Fixed* (``small_project.checks_fixed``): the inspectors (every township officer account of the township, in
   code-point order), the days the checks may fall on (a range the officer gives, 2 to 366 days) and the
   commitment to the officer's secret value; the decision log's root over the fixed tree is the second source.
2. *Drawn* (``small_project.checks_drawn``): the value revealed (it must hash to the commitment); the seed is
   :func:`rules.combine_seed` of ``["township:<value>", "checkpoint:<i+1>:<root>"]`` and the two checks are
   :func:`rules.draw_checks` of inspectors, days and seed. The result stays with the central until the checks
   are done: announced, a random check would be no check. ``/m/small_project/checks/<id>.json`` shows what was
   fixed at once, and the seed and result once both checks are recorded, for anyone to re-run.
3. *A check done* (``small_project.checked``, sent down): only by the drawn inspector, on or after the drawn day,
   with what was found; the village's edge puts it on the notice board.

**A hotline complaint** (``small_project.complaint``, sent down): a township officer records what was reported
about a project, anonymous or not (only that fact: the caller's name and number are not recorded here), and
the village's notice board lists it.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

import central.modules.small_project.draw as draw  # noqa: PLR0402 (the submodules, not the package: no cycle)
import central.modules.small_project.projects as projects_
import edge.modules.small_project.rules as rules  # noqa: PLR0402 (the pure rules only, as the layers allow)
from central.accounts.tables import accounts
from central.db import metadata
from central.modules.small_project.pool import text, township_of
from central.store import Principal, Refusal
from edge.ledger.localtime import SHANGHAI

NAME = "small_project"
CHECKS_FIXED, CHECKS_DRAWN, CHECKED, COMPLAINT = (
    f"{NAME}.{k}" for k in ("checks_fixed", "checks_drawn", "checked", "complaint")
)

checks = Table(
    "small_project_checks",
    metadata,
    Column("id", String(32), primary_key=True),  # random: the public record's address
    Column("edge_id", String(64), nullable=False),
    Column("project_id", String(32), nullable=False),
    Column("county", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("inspectors", Text, nullable=False),  # JSON [username], code-point order
    Column("days", Text, nullable=False),  # JSON [YYYY-MM-DD]
    Column("commitment", String(64), nullable=False),
    Column("fixed_index", BigInteger, nullable=False),
    Column("checkpoint_root", String(64), nullable=False),
    Column("status", String(8), nullable=False),  # fixed | drawn
    Column("record", Text, nullable=True),  # JSON: seed_sources, seed, checks [{inspector, day}]
    Column("done", Text, nullable=False, default="[]"),  # JSON [{no, inspector, day, findings, done_on}]
)


def _today(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


async def _project(conn: AsyncConnection, who: Principal, edge_id: str, project_id: str, what: str) -> dict[str, Any]:
    county, township = township_of(who, what)
    project = await projects_.one(conn, edge_id, project_id)
    if project is None or (project["county"], project["township"]) != (county, township):
        raise Refusal(404, "not_found", "本乡镇没有这个工程")
    return project


async def _inspectors(conn: AsyncConnection, county: str, township: str) -> list[str]:
    query = select(accounts.c.username).where(
        accounts.c.role == "township_officer", accounts.c.scope_level == "township",
        accounts.c.scope_name == f"{county}/{township}", accounts.c.disabled.is_(False),
    )  # fmt: skip
    return sorted((await conn.execute(query)).scalars().all())


def _days(first: str, last: str) -> list[str]:
    try:
        start, end = date.fromisoformat(first.strip()), date.fromisoformat(last.strip())
    except ValueError:
        raise Refusal(400, "bad_date", "检查期间的起止日期应为 年-月-日") from None
    count = (end - start).days + 1
    if not rules.CHECKS <= count <= rules.MAX_CHECK_DAYS:
        raise Refusal(400, "bad_days", f"检查期间应为 {rules.CHECKS} 到 {rules.MAX_CHECK_DAYS} 天")
    return [(start + timedelta(days=n)).isoformat() for n in range(count)]


async def fix(
    conn: AsyncConnection, decisions: Any, who: Principal, edge_id: str, project_id: str, commitment: str,
    first: str, last: str,
) -> str:  # fmt: skip
    """Fix the two checks' inputs for an awarded project: the record's id."""
    project = await _project(conn, who, edge_id, project_id, "抽取双随机检查")
    if project["status"] not in ("awarded", "completed"):
        raise Refusal(409, "not_awarded", f"工程当前为“{project['status_name']}”，定标后才能抽取随机检查")
    taken = select(checks.c.id).where(checks.c.edge_id == edge_id, checks.c.project_id == project_id)
    if (await conn.execute(taken)).first() is not None:
        raise Refusal(409, "fixed", "本工程的随机检查已经固定")
    promise = draw.commitment(commitment)
    days = _days(first, last)
    inspectors = await _inspectors(conn, project["county"], project["township"])
    body = {"edge_id": edge_id, "project_id": project_id, "inspectors": inspectors, "days": days, "commitment": promise}
    entry = await decisions.decide(CHECKS_FIXED, body, actor=who.account or who.name, conn=conn)
    root = await draw.root_after(decisions, entry.index)
    check_id = uuid.uuid4().hex
    await conn.execute(checks.insert().values(
        id=check_id, edge_id=edge_id, project_id=project_id, county=project["county"], township=project["township"],
        inspectors=json.dumps(inspectors), days=json.dumps(days), commitment=promise, fixed_index=entry.index,
        checkpoint_root=root, status="fixed", done="[]",
    ))  # fmt: skip
    return check_id


async def _row(conn: AsyncConnection, who: Principal, check_id: str, what: str) -> Any:
    county, township = township_of(who, what)
    row = (await conn.execute(select(checks).where(checks.c.id == check_id).with_for_update())).first()
    if row is None or (row.county, row.township) != (county, township):
        raise Refusal(404, "not_found", "本乡镇没有这次随机检查")
    return row


async def reveal(conn: AsyncConnection, decisions: Any, who: Principal, check_id: str, value: str) -> None:
    """Reveal the value and draw the two checks (kept at the central until they are done)."""
    row = await _row(conn, who, check_id, "抽取双随机检查")
    if row.status != "fixed":
        raise Refusal(409, "drawn", "本次随机检查已经抽取")
    secret = draw.revealed(value, row.commitment)
    sources = [f"township:{secret}", f"checkpoint:{row.fixed_index + 1}:{row.checkpoint_root}"]
    seed = rules.combine_seed(sources)
    drawn = rules.draw_checks(json.loads(row.inspectors), json.loads(row.days), seed)
    record = {"seed_sources": sources, "seed": seed,
              "checks": [{"inspector": i, "day": d} for i, d in drawn]}  # fmt: skip
    await decisions.decide(CHECKS_DRAWN, {"check_id": check_id, **record}, actor=who.account or who.name, conn=conn)
    await conn.execute(checks.update().where(checks.c.id == check_id).values(status="drawn", record=json.dumps(record)))


async def record_check(
    conn: AsyncConnection, decisions: Any, who: Principal, check_id: str, number: str, findings: str, moment: datetime
) -> None:
    """The drawn inspector records their check, on or after its day; sent down to the village."""
    row = await _row(conn, who, check_id, "记录随机检查")
    if row.status != "drawn":
        raise Refusal(409, "not_drawn", "随机检查尚未抽取")
    drawn, done = json.loads(row.record)["checks"], json.loads(row.done)
    if number not in ("1", "2"):
        raise Refusal(400, "bad_number", "检查序号应为 1 或 2")
    n = int(number)
    check = drawn[n - 1]
    if check["inspector"] != who.account:
        raise Refusal(403, "not_drawn_inspector", f"第 {n} 次检查抽到的检查人是 {check['inspector']}，不是您")
    if any(d["no"] == n for d in done):
        raise Refusal(409, "done", f"第 {n} 次检查已记录")
    if _today(moment).isoformat() < check["day"]:
        raise Refusal(409, "too_early", "未到抽取的检查日期")
    found = text(findings, "检查情况", 500, 2)
    body = {"project_id": row.project_id, "no": n, "inspector": who.account, "day": check["day"],
            "findings": found, "done_on": _today(moment).isoformat()}  # fmt: skip
    await decisions.decide(CHECKED, body, row.edge_id, actor=who.account or who.name, conn=conn)
    await conn.execute(checks.update().where(checks.c.id == check_id).values(done=json.dumps([*done, body])))


async def complaint(
    conn: AsyncConnection, decisions: Any, who: Principal, edge_id: str, project_id: str, summary: str,
    anonymous: bool, moment: datetime,
) -> None:  # fmt: skip
    """A hotline complaint about a project, recorded by a township officer and sent down for the notice board."""
    project = await _project(conn, who, edge_id, project_id, "记录热线投诉")
    what = text(summary, "投诉内容摘要", 300, 4)
    body = {"project_id": project["project_id"], "received_on": _today(moment).isoformat(), "summary": what,
            "anonymous": anonymous}  # fmt: skip
    await decisions.decide(COMPLAINT, body, edge_id, actor=who.account or who.name, conn=conn)


async def of_projects(conn: AsyncConnection, who: Principal) -> dict[tuple[str, str], dict[str, Any]]:
    """The checks in ``who``'s scope by (edge id, project id), with what ``who`` may do next."""
    out = {}
    for r in (await conn.execute(select(checks))).all():
        if not who.covers(r.county, r.township):
            continue
        record, done = json.loads(r.record) if r.record else None, json.loads(r.done)
        mine = [n for n, c in enumerate(record["checks"] if record else [], 1)
                if c["inspector"] == who.account and all(d["no"] != n for d in done)]  # fmt: skip
        out[(r.edge_id, r.project_id)] = {"id": r.id, "status": r.status, "done": done, "mine": mine,
                                          "days": json.loads(r.days), "record": record}  # fmt: skip
    return out


def public_record(row: Any) -> dict[str, Any]:
    """What anyone reads: the fixed inputs at once; the seed and the two checks once both are done."""
    head = {"project_id": row.project_id, "inspectors": json.loads(row.inspectors), "days": json.loads(row.days),
            "commitment": row.commitment, "fixed": {"decision_index": row.fixed_index, "tree_size": row.fixed_index + 1,
                                                    "root_hash": row.checkpoint_root}, "status": row.status}  # fmt: skip
    done = json.loads(row.done)
    if row.record is None or len(done) < rules.CHECKS:
        return {**head, "done": len(done)}
    return {**head, **json.loads(row.record), "done": sorted(done, key=lambda d: d["no"])}


async def by_id(conn: AsyncConnection, check_id: str) -> Any:
    return (await conn.execute(select(checks).where(checks.c.id == check_id))).first()
