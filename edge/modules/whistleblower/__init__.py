"""乡村廉情吹哨人 (integrity whistleblowers): a village's liaison station with its 1+2+N team, clues that stay
secret (sealed to the station head and the township discipline officer), a closed loop with deadlines, meetings,
and the yearly ratings. See README.md in this folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter

from edge.kernel.contract import Notice, Part
from edge.ledger import Entry
from edge.ledger.localtime import MINUTES, local_time
from edge.modules.whistleblower import board, cli, public, summary, web
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


STEP_NAMES = {"acknowledge": "确认收到", "feedback": "反馈"}


async def notices(host: Any, entry: Entry) -> list[Notice]:
    """A step past its deadline is pushed to the station head at once (the clue's number and the step, nothing of
    what it says: the text is sealed, and a push passes through others' servers)."""
    if entry.kind != K.OVERDUE:
        return []
    station = await P.station(host.db.conn)
    heads = tuple(m["id"] for m in (station or {}).get("roster", []) if m["role"] == "head")  # console usernames
    b = entry.body
    step = STEP_NAMES.get(str(b["step"]), str(b["step"]))
    body = f"线索 {b['id']} 的{step}已超过期限（{local_time(str(b['due']), MINUTES)}），请尽快办理。"
    return [Notice("overdue", str(b["id"]), f"线索逾期 {b['id']}", body, f"/whistleblower/clues/{b['id']}", (), accounts=heads)]


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
    notices=notices,
    summarize=summary.summarize,
    exports=board.EXPORTS,
    publishes=board.published,
    demo=seed,
)
