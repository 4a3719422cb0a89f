"""The split-purchase flags across villages: the purchases each village recorded come up in its verified ledger
(``procurement.purchase_recorded``, offline ones the village's approved overrides included) and the edge's own
rule (``edge.modules.procurement.rules.audit``, the one the village's console and ``qinglian procurement audit``
run) is run over each village's purchases here, so the county and the township see every group of one project,
or of one category within two months, that reaches 5,000 yuan and holds an offline purchase."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central import bodies
from central.modules.procurement.tables import purchases
from central.store import Principal
from edge.ledger import Entry
from edge.modules.procurement.rules import CHANNEL_NAMES, OFFLINE, RULE_NAMES, Group, Purchase, audit, yuan_text


async def received(ctx: Any, edge: Any, entry: Entry) -> None:
    """A purchase the village recorded, from its verified ledger (each field checked: a bad one is the ingest's
    anomaly for this entry, and nothing of it is kept)."""
    b = entry.body
    channel = bodies.text(b["channel"], 16)
    if channel not in CHANNEL_NAMES:
        raise ValueError(f"channel {channel!r:.20} is neither platform nor offline")
    override = b.get("override")
    if override is not None and not isinstance(override, dict):
        raise TypeError("override is not an object")
    await ctx.conn.execute(purchases.insert().values(
        edge_id=edge.edge_id, purchase_id=bodies.text(b["id"], 64), village=edge.village, township=edge.township,
        county=edge.county, day=bodies.day(b["day"]), category=bodies.text(b["category"], 40),
        project=b["project"] if isinstance(b["project"], str) else "", supplier=bodies.text(b["supplier"]),
        channel=channel, amount_fen=bodies.fen(b["amount_fen"]), entry_index=entry.index,
        override=f"{bodies.text(override['id'], 64)}：{bodies.text(override['reason'], 500)}" if override else None,
    ))  # fmt: skip


@dataclass(frozen=True)
class Flag:
    """One group the rule flags in one village's purchases."""

    edge_id: str
    village: str
    township: str
    county: str
    group: Group
    members: tuple[Any, ...]  # the group's purchases (their rows), by date
    offline: tuple[str, ...]  # the group's offline purchases
    overridden: dict[str, str]  # of those, the ones the village recorded by an approved override: id -> its reason

    def as_json(self) -> dict[str, Any]:
        """The audit command's flag (rule, village, ids, total_yuan), with where, when and which purchases
        were offline or overridden."""
        g = self.group
        return {"rule": g.rule, "village": self.village, "ids": list(g.ids), "total_yuan": yuan_text(g.total_fen),
                "township": self.township, "county": self.county, "edge_id": self.edge_id, "key": g.key,
                "start": g.start.isoformat(), "end": g.end.isoformat(), "offline": list(self.offline),
                "overridden": sorted(self.overridden)}  # fmt: skip

    @property
    def rule_name(self) -> str:
        return RULE_NAMES[self.group.rule]


def flags(rows: Iterable[Any]) -> list[Flag]:
    """Every village's flags, by village (pure: ``rows`` are ``procurement_purchases`` rows)."""
    by_edge: dict[str, list[Any]] = {}
    for row in rows:
        by_edge.setdefault(row.edge_id, []).append(row)
    found = []
    for edge_id, held in sorted(by_edge.items(), key=lambda kv: (kv[1][0].township, kv[1][0].village, kv[0])):
        place = held[0]
        taken = {r.purchase_id: r for r in held}
        bought = [Purchase(r.purchase_id, date.fromisoformat(r.day), r.category, r.amount_fen, r.channel, r.project)
                  for r in held]  # fmt: skip
        for group in audit(bought):
            offline = tuple(i for i in group.ids if taken[i].channel == OFFLINE)
            overridden = {i: taken[i].override for i in offline if taken[i].override}
            members = tuple(taken[i] for i in group.ids)
            found.append(Flag(edge_id, place.village, place.township, place.county, group, members, offline, overridden))
    return found


async def in_scope(conn: AsyncConnection, who: Principal) -> list[Flag]:
    """The flags of the villages ``who`` covers (a township officer: its own township's; a county: all of it)."""
    rows = (await conn.execute(select(purchases).order_by(purchases.c.edge_id, purchases.c.day))).all()
    return flags(r for r in rows if who.covers(r.county, r.township))
