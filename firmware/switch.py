# A debounced switch input.
#
# The IRQ handler only stamps the time of the latest edge (int stores, no
# allocation, so it is safe as a hard interrupt); the main loop accepts a new
# level once no edge has come for DEBOUNCE_MS. Contact bounce of a few
# milliseconds on press and release therefore counts as one change each.
#
# The IRQ also notices a whole activation, held for DEBOUNCE_MS, that ended
# before the loop sampled it (the loop was busy: a flash erase, a burst of
# frames). The loop reports it late, as an activation and its release, rather
# than losing it: a seal press must never go uncounted.
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
        # A level already active at power-on is not an activation the IRQ saw begin.
        self._armed = False  # the IRQ saw the line go active and not yet come back
        self._active_at = self._edge_at
        self._held = 0  # activations of DEBOUNCE_MS or more that ended, counted by the IRQ
        self._counted = 0  # activations the loop has reported
        self._release_due = False
        self._pin.irq(handler=self._on_edge, trigger=Pin.IRQ_FALLING | Pin.IRQ_RISING)

    def _on_edge(self, pin):
        now = time.ticks_ms()
        if pin.value() == self._active_level:
            self._armed = True
            self._active_at = now
        elif self._armed:
            # Disarmed at once, so a bounce read twice as inactive cannot count one press twice.
            self._armed = False
            if time.ticks_diff(now, self._active_at) >= DEBOUNCE_MS:
                self._held = (self._held + 1) & 0xFFFF
        self._edge_at = now
        self._edges = (self._edges + 1) & 0xFFFF

    def poll(self, now):
        """Return 1 when the switch became active, -1 when released, else 0."""
        if self._release_due:
            self._release_due = False
            return -1
        # Activations the IRQ saw end beyond those reported (16-bit, compared like ticks).
        missed = (self._held - self._counted) & 0xFFFF
        if not self.active and 0 < missed < 0x8000:
            # A whole activation the loop never saw: report it, then its release on the next poll.
            self._counted = (self._counted + 1) & 0xFFFF
            self._release_due = True
            return 1
        edges = self._edges
        if edges == self._seen or time.ticks_diff(now, self._edge_at) < DEBOUNCE_MS:
            return 0
        # An edge arriving after this line bumps _edges again, so it is not lost.
        self._seen = edges
        active = self._pin.value() == self._active_level
        if active == self.active:
            return 0  # a glitch that settled back where it was
        self.active = active
        if active:
            self._counted = (self._counted + 1) & 0xFFFF
            return 1
        if missed >= 0x8000:
            # The IRQ missed this activation's start (a contact read mid-bounce): follow its count
            # again, or a later real press would only cancel the difference out.
            self._counted = self._held
        return -1
