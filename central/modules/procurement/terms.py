"""A county's procurement terms: the bidding window, the anti-sniping span and the credit deductions, from the
county's newest ``procurement`` configuration document (central/configdocs.py; ``qinglian central publish
--scope county:NAME --kind procurement``), the platform's defaults for what it leaves out.

The terms in force when a tender opens are recorded with it (``procurement_tender_terms``, and in the approval
that goes down to the village), so a county changing its terms later moves no open window; a deduction records
the points it took and the terms' version in its decision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db import config_docs
from central.modules.procurement.bidding import EXTEND, WINDOW
from central.modules.procurement.credit import DEDUCTIONS

KIND = "procurement"  # the configuration document's kind


@dataclass(frozen=True)
class Terms:
    window: timedelta
    extend: timedelta
    deductions: Mapping[str, int]  # tenths of a point per kind
    source: str  # "county:萧山区 v2", or "默认" for the platform's defaults

    def recorded(self) -> dict[str, Any]:
        """As the tender and its approval record them."""
        return {"window_hours": self.window // timedelta(hours=1), "extend_minutes": self.extend // timedelta(minutes=1),
                "source": self.source}  # fmt: skip


DEFAULT = Terms(WINDOW, EXTEND, DEDUCTIONS, "默认")


def from_document(county: str, version: int, content: Mapping[str, Any]) -> Terms:
    """The terms a validated document sets, the defaults for what it leaves out (pure)."""
    given = content.get("deductions", {})
    deductions = {kind: int(Decimal(str(given[kind])) * 10) if kind in given else tenths
                  for kind, tenths in DEDUCTIONS.items()}  # fmt: skip
    window = timedelta(hours=content["window_hours"]) if "window_hours" in content else WINDOW
    extend = timedelta(minutes=content["extend_minutes"]) if "extend_minutes" in content else EXTEND
    return Terms(window, extend, deductions, f"county:{county} v{version}")


async def of_county(conn: AsyncConnection, county: str) -> Terms:
    """The county's terms now: its newest document, or the defaults when it published none."""
    newest = (
        select(config_docs.c.version, config_docs.c.content)
        .where((config_docs.c.scope_level == "county") & (config_docs.c.scope_name == county) & (config_docs.c.kind == KIND))
        .order_by(config_docs.c.version.desc())
        .limit(1)
    )  # fmt: skip
    row = (await conn.execute(newest)).first()
    if row is None:
        return DEFAULT
    return from_document(county, row.version, json.loads(row.content))
