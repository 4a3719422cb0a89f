"""How often one client may try receipt codes or file clues on the public pages, kept in memory only.

A client is its address as the connection gives it, hashed with a key made when the process starts: the address
itself is never stored, in memory or on disk, and the hashes die with the process. Beside the per-client limit an
overall one caps what many addresses together may try (a guess spread over a botnet)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Limiter:
    per_client: int
    overall: int
    window_s: float
    clock: Callable[[], float] = time.monotonic
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _tries: dict[bytes, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)

    def _client(self, address: str) -> bytes:
        return hmac.new(self._key, address.encode(), hashlib.sha256).digest()

    def _prune(self, now: float) -> None:
        while self._all and self._all[0] <= now - self.window_s:
            self._all.popleft()
        for key in [k for k, q in self._tries.items() if not q or q[-1] <= now - self.window_s]:
            del self._tries[key]

    def take(self, address: str) -> bool:
        """Count one try by ``address``; False (and nothing counted) when it is over either limit."""
        now = self.clock()
        self._prune(now)
        mine = self._tries.setdefault(self._client(address), deque())
        while mine and mine[0] <= now - self.window_s:
            mine.popleft()
        if len(mine) >= self.per_client or len(self._all) >= self.overall:
            return False
        mine.append(now)
        self._all.append(now)
        return True
