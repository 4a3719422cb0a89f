"""One writer per data folder, across processes: an ``flock`` on ``data_dir/writer.lock``.

The ledger keeps its chain head in memory, so exactly one process may append
to it. Whoever holds this lock is that process: the running agent, or — when
no agent runs — a CLI command doing its step. The kernel drops the lock when
the holder dies (even by kill -9), so a crash never leaves the folder locked.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path

from edge.kernel.errors import Unavailable
from edge.ledger.private import private_dir

LOCK_FILENAME = "writer.lock"


class WriterLock:
    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def try_acquire(cls, data_dir: Path, filename: str = LOCK_FILENAME) -> WriterLock | None:
        """The lock, or None if another process (or another opener in this one) holds it. Another
        ``filename`` is another lock of the same kind (edge/sync.py takes turns on ``sync.lock``)."""
        path = private_dir(data_dir) / filename
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        # For people looking: who holds it (the lock itself is the flock, not this text).
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(fd, path)

    @classmethod
    async def acquire(cls, data_dir: Path, timeout: float = 30.0) -> WriterLock:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            lock = cls.try_acquire(data_dir)
            if lock is not None:
                return lock
            if loop.time() >= deadline:
                raise Unavailable(
                    f"数据目录正被另一进程写入 another process is writing {data_dir} (is `qinglian edge run` running?)",
                    "writer_busy",
                )
            await asyncio.sleep(0.05)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
