# A debounced switch input.
#
# The IRQ handler only stamps the time of the latest edge (an int store, no
# allocation, so it is safe as a hard interrupt); the main loop accepts a new
# level once no edge has come for DEBOUNCE_MS. Contact bounce of a few
# milliseconds on press and release therefore counts as one change each.
import time

from board import DEBOUNCE_MS
from machine import Pin


class Switch:
    def __init__(self, pin_no, active_low):
        self._pin = Pin(pin_no, Pin.IN, Pin.PULL_UP)
        self._active_level = 0 if active_low else 1
        self._edge_at = time.ticks_ms()
        self._edges = 0  # edges counted by the IRQ, wrapping before it would allocate
        self._seen = 0  # value of _edges when the level was last sampled
        self.active = self._pin.value() == self._active_level
        self._pin.irq(handler=self._on_edge, trigger=Pin.IRQ_FALLING | Pin.IRQ_RISING)

    def _on_edge(self, _pin):
        self._edge_at = time.ticks_ms()
        self._edges = (self._edges + 1) & 0xFFFF

    def poll(self, now):
        """Return 1 when the switch became active, -1 when released, else 0."""
        edges = self._edges
        if edges == self._seen or time.ticks_diff(now, self._edge_at) < DEBOUNCE_MS:
            return 0
        # An edge arriving after this line bumps _edges again, so it is not lost.
        self._seen = edges
        active = self._pin.value() == self._active_level
        if active == self.active:
            return 0  # a glitch that settled back where it was
        self.active = active
        return 1 if active else -1
