"""Handing a step to the writer of a data folder, from another process (the CLI).

Only one process may append to the ledger. A CLI step is therefore queued in
the shared database (``commands``) and run by the writer: the running agent
picks it up within ``poll_s``; if no agent runs, the CLI takes the writer lock
itself, runs what is queued and lets go. Either way the caller gets the
step's result or its error, exactly as the in-process API would give it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from edge.db import EdgeDB
from edge.kernel.config import EdgeConfig
from edge.kernel.errors import Unavailable, error_from_dict
from edge.kernel.writerlock import WriterLock
from edge.ledger import utc_now

DEFAULT_TIMEOUT_S = 30.0


async def submit(config: EdgeConfig, kind: str, args: dict[str, Any], timeout: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Queue one step, see it run, return its result; raise its error."""
    from edge.agent import (
        EdgeAgent,  # the agent imports this module's neighbours; keep the cycle lazy
    )

    db = await EdgeDB.open(config.data_dir)
    try:
        command_id = await db.enqueue(kind, args, utc_now())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status, payload = await db.command(command_id)
            if status in ("done", "failed") and payload is not None:
                if not payload.get("ok"):
                    raise error_from_dict(payload.get("error") or {})
                result: dict[str, Any] = payload["result"]
                return result
            lock = WriterLock.try_acquire(config.data_dir)
            if lock is not None:
                # No agent is running: be the writer for a moment.
                agent = await EdgeAgent.open(config, lock=lock)
                try:
                    await agent.process_commands()
                finally:
                    await agent.close()
                continue
            if loop.time() >= deadline and await db.cancel_command(command_id, utc_now()):
                raise Unavailable(
                    f"{timeout:.0f} 秒内无人处理 no writer took the step within {timeout:.0f} s; is the agent stuck?",
                    "timeout",
                )
            await asyncio.sleep(0.05)
    finally:
        await db.close()
