"""The board's GPIO as seen from both sides: the firmware's ``machine.Pin`` and the simulated world."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

IRQ_FALLING = 1
IRQ_RISING = 2

PULL_UP = 2
PULL_DOWN = 1


class PinBus:
    """Levels of every pin, the IRQ handlers on inputs and a tally of rising edges on outputs."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._driven: dict[int, int] = {}  # levels the outside world drives onto inputs
        self._outputs: dict[int, int] = {}  # levels the firmware drives
        self._pulls: dict[int, int | None] = {}
        self._irqs: dict[int, tuple[Callable[[Any], None], int, object]] = {}
        self.rising_edges: dict[int, int] = {}

    # -- the firmware's side ----------------------------------------------

    def configure_input(self, pin: int, pull: int | None) -> None:
        with self._lock:
            self._pulls[pin] = pull
            self._outputs.pop(pin, None)

    def configure_output(self, pin: int, level: int) -> None:
        with self._lock:
            self._outputs[pin] = 0
        self.write(pin, level)

    def write(self, pin: int, level: int) -> None:
        with self._lock:
            old = self._outputs.get(pin, 0)
            self._outputs[pin] = 1 if level else 0
            if not old and level:
                self.rising_edges[pin] = self.rising_edges.get(pin, 0) + 1

    def read(self, pin: int) -> int:
        with self._lock:
            if pin in self._outputs:
                return self._outputs[pin]
            if pin in self._driven:
                return self._driven[pin]
            return 1 if self._pulls.get(pin) == PULL_UP else 0

    def set_irq(self, pin: int, handler: Callable[[Any], None] | None, trigger: int, owner: object) -> None:
        with self._lock:
            if handler is None:
                self._irqs.pop(pin, None)
            else:
                self._irqs[pin] = (handler, trigger, owner)

    # -- the world's side -------------------------------------------------

    def drive(self, pin: int, level: int) -> None:
        """Drive an input from outside; an edge runs the pin's IRQ handler, as hardware would."""
        with self._lock:
            old = self.read(pin)
            self._driven[pin] = level
            new = self.read(pin)
            irq = self._irqs.get(pin)
        if irq is None or old == new:
            return
        handler, trigger, owner = irq
        if (new and trigger & IRQ_RISING) or (not new and trigger & IRQ_FALLING):
            handler(owner)

    def output(self, pin: int) -> int:
        with self._lock:
            return self._outputs.get(pin, 0)
