"""The command queue: handing a step to the writer of a data folder, from another process (the CLI).

Only one process may append to the ledger. A CLI step is therefore queued in
the shared database (``commands``) and run by the writer: the running agent
picks it up within ``poll_s``; if no agent runs, the CLI takes the writer lock
itself, runs what is queued and lets go. Either way the caller gets the
step's result or its error, exactly as the in-process API would give it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from edge.kernel.config import EdgeConfig
from edge.kernel.contract import Command
from edge.kernel.db import WorkingDB
from edge.kernel.errors import InputError, Unavailable, error_from_dict
from edge.kernel.writerlock import WriterLock
from edge.ledger import utc_now

DEFAULT_TIMEOUT_S = 30.0


#: Becomes the writer with the lock it is given, runs every queued command, and lets go (the agent does).
Drain = Callable[[EdgeConfig, WriterLock], Awaitable[None]]


async def submit(
    config: EdgeConfig, kind: str, args: dict[str, Any], drain: Drain, timeout: float = DEFAULT_TIMEOUT_S
) -> dict[str, Any]:
    """Queue one step, see it run, return its result; raise its error."""
    db = await WorkingDB.open(config.data_dir)
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
                await drain(config, lock)  # no agent is running: be the writer for a moment
                continue
            if loop.time() >= deadline and await db.cancel_command(command_id, utc_now()):
                raise Unavailable(
                    f"{timeout:.0f} 秒内无人处理 no writer took the step within {timeout:.0f} s; is the agent stuck?",
                    "timeout",
                )
            await asyncio.sleep(0.05)
    finally:
        await db.close()


async def execute(commands: Mapping[str, Command], host: Any, kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one queued command through the registry (every part's ``commands``). The arguments crossed a process
    boundary: a handler checks their types, and a missing or ill-typed one is the caller's error."""
    command = commands.get(kind)
    if command is None:
        raise InputError(f"未知命令 unknown command {kind!r}", "bad_command")
    try:
        return await command(host, args)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"命令参数错误 bad arguments for {kind}: {exc!r}", "bad_command") from None
