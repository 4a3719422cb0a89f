"""The central's timer: each part's periodic work (``CentralPart.tick``), a pass when the central starts and one a
minute while it serves.

The first pass at start catches up on what fell due while the central was down (a monthly tender's day, a bid
window that closed overnight); a part's tick reads what is due from the database, so a pass repeated or two
processes neither double nor skip a step. A central without a decision log takes no decisions, so it keeps no
timer. A pass that fails is logged and the next one tries again: a database hiccup must not stop the timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from central.contract import CentralPart

log = logging.getLogger("central.ticks")

PASS_SECONDS = 60


async def one_pass(shell: Any, parts: Sequence[CentralPart]) -> None:
    for part in parts:
        if part.tick is not None:
            try:
                await part.tick(shell)
            except Exception:
                log.exception("%s 的定时任务出错 the timer of %s failed; trying again in a minute", part.title, part.name)


@contextlib.asynccontextmanager
async def ticking(shell: Any, parts: Sequence[CentralPart]) -> AsyncIterator[None]:
    """While the app serves: a pass now, then one every :data:`PASS_SECONDS`."""
    if shell.state.decisions is None or not any(p.tick for p in parts):
        yield
        return
    await one_pass(shell, parts)

    async def loop() -> None:
        while True:
            await asyncio.sleep(PASS_SECONDS)
            await one_pass(shell, parts)

    task = asyncio.create_task(loop(), name="central timer")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
