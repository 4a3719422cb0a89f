"""`make demo` at the central: the township's side of the demo village's small projects, built from what the
village sent up (nothing typed twice): the township's pool is the contractors the village's draw record names
(twelve, registered with their categories, the one marked blacklisted blacklisted with a reason), and the
township publishes its December catalogue with the prices of the one the village holds. The village's three
projects are then on the township's page as they came up (waiting for approval, quoting, settled). A second
run adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import edge.modules.small_project.rules as rules  # noqa: PLR0402 (the pure rules only, as the layers allow)
import central.modules.small_project.catalogue as catalogue  # noqa: PLR0402 (the submodules, not the package: no cycle)
import central.modules.small_project.pool as pool  # noqa: PLR0402
from central.store import Principal, Refusal
from edge.ledger.localtime import SHANGHAI

OFFICER = "hezhen"  # the demo's township officer (central/accounts/demo.py)
VERSION = "2026-12"
BLACKLIST_REASON = "2026 年 9 月转包被查实，列入黑名单"


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
