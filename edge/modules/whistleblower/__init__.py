"""乡村廉情吹哨人 (integrity whistleblowers): a village's liaison station with its 1+2+N team, clues that stay
secret (sealed to the station head and the township discipline officer), a closed loop with deadlines, meetings,
and the yearly ratings. See README.md in this folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter

from edge.kernel.contract import Part
from edge.modules.whistleblower import board, cli, public, web
from edge.modules.whistleblower import kinds as K
from edge.modules.whistleblower import projection as P
from edge.modules.whistleblower.demo import seed
from edge.modules.whistleblower.desk import WhistleDesk, now_of
from edge.modules.whistleblower.settings import SECTION


def routes(shell: Any) -> APIRouter:
    api = web.router(shell)
    api.include_router(public.router(shell))
    return api


async def tick(host: Any) -> None:
    """Flags each step past its deadline (acknowledge in 7 days, feedback in 3 months) on the agent's clock."""
    await WhistleDesk(host.recorder, host.config).flag_overdue(now_of(host))


WHISTLEBLOWER = Part(
    name=K.NAME,
    title="廉情吹哨人",
    kinds=K.KINDS,
    schema=P.SCHEMA,
    schema_version=1,
    projection=P.PROJECTION,
    config=SECTION,
    cli=cli.register,
    router=routes,
    templates=Path(__file__).parent / "templates",
    nav=web.NAV,
    tick=tick,
    exports=board.EXPORTS,
    publishes=board.published,
    demo=seed,
)
