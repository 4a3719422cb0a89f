"""MicroPython's ``time.ticks_*`` family on the host.

Ticks wrap at 2**30 like on the ESP32. The simulated clock starts ten seconds
before the wrap so that every test longer than that crosses it: firmware that
subtracts ticks instead of using ``ticks_diff`` fails in CI, not in the field.
``advance`` moves the clock on at once (the control port's ``advance`` op), so a
test can end a grant's window when it chooses instead of racing a short one.
``still`` holds the clock while the board plays a contact's chatter, which
hardware delivers within a millisecond whatever else the host is doing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

TICKS_PERIOD = 1 << 30
_MASK = TICKS_PERIOD - 1
_HALF = TICKS_PERIOD // 2
_START_BEFORE_WRAP_MS = 10_000

_origin_ns = time.monotonic_ns()
_advanced_ns = 0  # how far advance() has moved the clock past real time
_still_ns: int | None = None  # the reading while still() holds the clock
_hang = threading.Event()  # set by the control port to simulate a stuck peripheral


def _elapsed_ns() -> int:
    held = _still_ns
    return held if held is not None else time.monotonic_ns() - _origin_ns + _advanced_ns


def ticks_ms() -> int:
    return (_elapsed_ns() // 1_000_000 + TICKS_PERIOD - _START_BEFORE_WRAP_MS) & _MASK


def ticks_us() -> int:
    return (_elapsed_ns() // 1_000 + (TICKS_PERIOD - _START_BEFORE_WRAP_MS) * 1000) & _MASK


def advance(ms: int) -> None:
    """Move the ticks on by ``ms`` at once (the watchdog keeps real time)."""
    global _advanced_ns
    _advanced_ns += ms * 1_000_000


@contextmanager
def still() -> Iterator[None]:
    """Hold the ticks where they are for the block, then let them catch up with real time.

    A contact's chatter is a few edges half a millisecond apart. On a loaded host
    the thread playing it can be descheduled between two edges for longer than the
    firmware's debounce, and a bounce would then read as a second press; with the
    clock held, every edge of the burst carries the same time, as on the board.
    """
    global _still_ns
    _still_ns = _elapsed_ns()
    try:
        yield
    finally:
        _still_ns = None


def ticks_add(ticks: int, delta: int) -> int:
    return (ticks + delta) & _MASK


def ticks_diff(a: int, b: int) -> int:
    return ((a - b + _HALF) & _MASK) - _HALF


def sleep_ms(ms: int) -> None:
    if _hang.is_set():
        threading.Event().wait()  # never returns: only the watchdog gets the board out
    time.sleep(ms / 1000)


def sleep_us(us: int) -> None:
    time.sleep(us / 1_000_000)


def hang() -> None:
    _hang.set()


def patch_time() -> None:
    for fn in (ticks_ms, ticks_us, ticks_add, ticks_diff, sleep_ms, sleep_us):
        setattr(time, fn.__name__, fn)
