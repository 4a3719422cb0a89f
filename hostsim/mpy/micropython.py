"""Host ``micropython`` module: the handful of functions the firmware uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

kbd_intr_char = -1  # the byte the board's UART turns into KeyboardInterrupt (hostsim.board); -1: none, as at reset


def const(value: T) -> T:
    return value


def kbd_intr(char: int) -> None:
    global kbd_intr_char
    kbd_intr_char = char


def schedule(func: Callable[[object], None], arg: object) -> None:
    func(arg)


def alloc_emergency_exception_buf(size: int) -> None:
    """Nothing to reserve on the host."""
