"""Background tasks of the agent's event loop (the sync client's, the notifier's)."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended, so nothing of it runs after its owner has closed; its
    cancellation is the end asked for, not an error."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
