"""`make demo` at the central: the township's side of the demo village's small projects, built from what the
village sent up (nothing typed twice): the township's pool is the contractors the village's draw record names
(twelve, registered with their categories, the one marked blacklisted blacklisted with a reason), and the
township publishes its December catalogue with the prices of the one the village holds. The village's three
projects are then on the township's page as they came up (waiting for approval, quoting, settled).

The quoting one is the township's own round, step by step over the demo's sync rounds: once the village's
recommendation is up, the officer registers the recommended contractor in the pool (the demo supplier's company,
so a newcomer logged in as it finds the invitation) and fixes the draw with the township's commitment; once the
village's value is up, the officer reveals the township's and draws, invites the three with a window and the
hotline, and the two drawn (supplier accounts approved like the demo's own) have their sealed quotes in. A
second run adds nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import edge.modules.small_project.rules as rules  # noqa: PLR0402 (the pure rules only, as the layers allow)
import central.modules.small_project.catalogue as catalogue  # noqa: PLR0402 (the submodules, not the package: no cycle)
import central.modules.small_project.draw as draw  # noqa: PLR0402
import central.modules.small_project.pool as pool  # noqa: PLR0402
import central.modules.small_project.projects as projects  # noqa: PLR0402
import central.modules.small_project.quotes as quotes  # noqa: PLR0402
from central.accounts import roles as R
from central.store import Principal, Refusal
from edge.ledger.localtime import SHANGHAI

OFFICER = "hezhen"  # the demo's township officer (central/accounts/demo.py)
VERSION = "2026-12"
BLACKLIST_REASON = "2026 年 9 月转包被查实，列入黑名单"
WINDOW_HOURS, HOTLINE = "72", "0572-2345678"  # the invitation's window and the township's supervision hotline
#: What the two drawn contractors quote, in the order drawn (the budget of the village's ditch is ¥68,100.00).
QUOTES = ("66850.00", "67420.00")


def township_value(project_id: str) -> str:
    """The officer's value for a project's draw (committed at the fixing, revealed at the draw)."""
    return f"{project_id} 乡镇掷骰 5-2-2-6-1-4"


async def _village_entries(site: Any, kind: str) -> list[dict[str, Any]]:
    every = Principal("all", "all")
    return await site.store.list_entries(every, site.edge_id, kind=kind, limit=50)


async def seed(site: Any) -> None:
    officer = await site.principal(OFFICER)
    now = datetime.now(UTC)
    drawn = await _village_entries(site, "small_project.drawn")
    if drawn:
        contractors = rules.parse_pool(drawn[0]["body"]["record"]["pool"])
        for c in contractors:
            async with site.store.db.writer.begin() as conn:
                try:
                    await pool.register(conn, site.decisions, officer, c.name, c.id, "、".join(c.categories), now)
                except Refusal:
                    continue  # registered by an earlier run
            if c.blacklisted:
                async with site.store.db.writer.begin() as conn:
                    await pool.set_blacklisted(conn, site.decisions, officer, c.id, True, BLACKLIST_REASON, now)
    held = await _village_entries(site, "small_project.catalogue")
    if held:
        items = held[-1]["body"]["items"]
        body = {"version": VERSION, "effective": now.astimezone(SHANGHAI).date().isoformat(), "items": items}
        async with site.store.db.writer.begin() as conn:
            try:
                await catalogue.publish(conn, site.decisions, officer, rules.catalogue_body(rules.parse_catalogue(body)), now)
            except Refusal:
                pass  # published by an earlier run
    for project in await _awaiting(site, officer):
        await _fix(site, officer, project, now)
    async with site.store.db.reader.connect() as conn:
        fixed = [r for r in (await draw.of_projects(conn, officer)).values() if r.edge_id == site.edge_id]
    for row in fixed:
        await _round(site, officer, row, now)


async def _awaiting(site: Any, officer: Principal) -> list[dict[str, Any]]:
    """The demo village's projects recommended and waiting for the township to fix their draw."""
    async with site.store.db.reader.connect() as conn:
        listed = await projects.listed(conn, officer)
        taken = await draw.of_projects(conn, officer)
    return [p for p in listed if p["edge_id"] == site.edge_id and projects.awaiting(p)
            and (p["edge_id"], p["project_id"]) not in taken]  # fmt: skip


async def _fix(site: Any, officer: Principal, project: dict[str, Any], now: datetime) -> None:
    """The recommended contractor into the pool when it is not there yet (the village recommends from the pool a
    real township keeps: here the demo supplier's company), then the draw fixed with the township's commitment."""
    chosen = project["recommended"]
    async with site.store.db.writer.begin() as conn:
        try:
            await pool.register(conn, site.decisions, officer, chosen["name"], chosen["id"], project["category"], now)
        except Refusal:
            pass  # in the pool already
    async with site.store.db.writer.begin() as conn:
        await draw.fix(conn, site.decisions, officer, site.edge_id, project["project_id"],
                       rules.commitment_of(township_value(project["project_id"])), now)  # fmt: skip


async def _round(site: Any, officer: Principal, row: Any, now: datetime) -> None:
    """Carry a fixed draw on as far as what came up allows: drawn once the village's value is in, the three
    invited, and the two drawn contractors' sealed quotes (the recommended one, the demo supplier, quotes itself)."""
    if row.status != "fixed":
        return  # drawn by an earlier pass: invited and quoted then too
    async with site.store.db.reader.connect() as conn:
        if await projects.village_value(conn, row.edge_id, row.project_id) is None:
            return  # the village reveals once the fixing has come down: the next round
    async with site.store.db.writer.begin() as conn:
        await draw.reveal(conn, site.decisions, officer, row.id, township_value(row.project_id))
    async with site.store.db.writer.begin() as conn:
        await quotes.invite(conn, site.decisions, officer, row.id, WINDOW_HOURS, HOTLINE, now)
    async with site.store.db.reader.connect() as conn:
        row = await draw.by_id(conn, row.id)
    record = json.loads(row.record)
    names = {c["id"]: c["name"] for c in record["pool"]}
    for code, amount in zip(record["drawn"], QUOTES, strict=True):
        username = f"cbs{code[-6:].lower()}"  # 承包商: one supplier account per drawn contractor
        await site.ensure_organisation(username, R.SUPPLIER, names[code], code, ["建材五金"])
        async with site.store.db.writer.begin() as conn:
            await quotes.submit(conn, site.decisions, await site.principal(username), row.id, amount, now)
